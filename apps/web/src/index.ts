import { fileURLToPath } from 'node:url';

/** The static pages of the web checkout; the server serves this folder under /shop/ (docs/channels.md). */
export const WEB_PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));
