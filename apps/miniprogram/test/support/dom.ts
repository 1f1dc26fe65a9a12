/**
 * A DOM for miniprogram-simulate inside a Node test environment. The end-to-end test runs the real server,
 * whose modules need Node semantics (vitest's jsdom environment rewrites import.meta.url and swaps globals
 * such as Uint8Array), so instead of that environment it adds jsdom's globals that Node lacks, as vitest's
 * own jsdom environment does, and replaces none that Node already has (fetch, URL, TextEncoder, ...) but one.
 */
import { JSDOM } from 'jsdom';

/**
 * Node has its own CustomEvent, which jsdom's dispatchEvent rejects; j-component builds tap events with the
 * global one, so this one global is jsdom's while the DOM is installed (and Node's again afterwards).
 */
const DOM_OWNED = ['CustomEvent'];

export function installDom(): () => void {
  const dom = new JSDOM('<!doctype html><html><head></head><body></body></html>', {
    url: 'http://localhost/',
    pretendToBeVisual: true,
  });
  const g = globalThis as Record<string, unknown>;
  const added: string[] = [];
  const replaced = new Map<string, PropertyDescriptor | undefined>();
  for (const key of DOM_OWNED) replaced.set(key, Object.getOwnPropertyDescriptor(g, key));
  for (const key of Object.getOwnPropertyNames(dom.window)) {
    if ((key in g && !DOM_OWNED.includes(key)) || key === 'undefined') continue;
    const descriptor = Object.getOwnPropertyDescriptor(dom.window, key);
    if (!descriptor) continue;
    // Accessors (document, localStorage, ...) stay accessors bound to jsdom's window.
    Object.defineProperty(g, key, { ...descriptor, configurable: true });
    if (!replaced.has(key)) added.push(key);
  }
  // Code compiled by wcc and simulate treat `window` as the global object, as in a browser.
  for (const key of ['window', 'self']) {
    Object.defineProperty(g, key, { value: globalThis, configurable: true, writable: true });
    if (!added.includes(key)) added.push(key);
  }
  return () => {
    for (const key of added) delete g[key];
    for (const [key, descriptor] of replaced) if (descriptor) Object.defineProperty(g, key, descriptor);
    dom.window.close();
  };
}
