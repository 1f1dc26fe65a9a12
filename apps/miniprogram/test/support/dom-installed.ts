/** Import first: installs the DOM before miniprogram-simulate (imported by pages.ts) is loaded. */
import { installDom } from './dom.ts';

export const uninstallDom = installDom();
