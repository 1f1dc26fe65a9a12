/**
 * Rendering pages with miniprogram-simulate: load the compiled page (templates through WeChat's wcc), attach
 * it, and run onLoad with the page query the way the framework does for a page built with Component().
 */
import simulate from 'miniprogram-simulate';
import { join } from 'node:path';
import type { BuiltMiniprogram } from './built.ts';

/** The subset of a rendered j-component tree the tests use. */
export interface Rendered {
  dom: HTMLElement;
  data: Record<string, unknown>;
  instance: Record<string, (...args: never[]) => unknown>;
  querySelector(selector: string): Rendered | undefined;
  querySelectorAll(selector: string): Rendered[];
  dispatchEvent(event: string, detail?: object): void;
  triggerPageLifeTime?(name: string): void;
  detach(): void;
}

export function renderPage(
  built: BuiltMiniprogram,
  page: string,
  query: Record<string, string> = {},
): Rendered {
  const id = simulate.load(join(built.root, page), { rootPath: built.root, compiler: 'official' });
  const comp = simulate.render(id) as unknown as Rendered & { attach(parent: Element): void };
  comp.attach(document.createElement('parent-wrapper'));
  const instance = comp.instance as { onLoad?: (q: Record<string, string>) => void };
  instance.onLoad?.(query);
  return comp;
}

/** Visible text of the first match, whitespace collapsed; throws when nothing matches. */
export function text(comp: Rendered, selector: string): string {
  const el = comp.querySelector(selector);
  if (!el) throw new Error(`nothing matches ${selector}; page shows: ${pageText(comp)}`);
  return collapse(el.dom.textContent ?? '');
}

export function pageText(comp: Rendered): string {
  return collapse(comp.dom.textContent ?? '');
}

export function exists(comp: Rendered, selector: string): boolean {
  return comp.querySelector(selector) != null;
}

/** Taps the first match. Handlers run asynchronously (as in WeChat), so this waits one macrotask. */
export async function tap(comp: Rendered, selector: string): Promise<void> {
  const el = comp.querySelector(selector);
  if (!el) throw new Error(`nothing to tap at ${selector}; page shows: ${pageText(comp)}`);
  await tapElement(el);
}

export async function tapElement(el: Rendered): Promise<void> {
  el.dispatchEvent('tap');
  await new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Text inside one element of a list (querySelectorAll result). Nested lookups go through the DOM, where
 * the page's classes carry simulate's "main--" prefix.
 */
export function textIn(el: Rendered, selector: string): string {
  const found = el.dom.querySelector(selector.replace(/\.([\w-]+)/g, '.main--$1'));
  if (!found) throw new Error(`nothing matches ${selector} in: ${collapse(el.dom.textContent ?? '')}`);
  return collapse(found.textContent ?? '');
}

export function existsIn(el: Rendered, selector: string): boolean {
  return el.dom.querySelector(selector.replace(/\.([\w-]+)/g, '.main--$1')) !== null;
}

function collapse(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/**
 * The page's shared status block (components/status): loading / empty / error with retry. Its inside is the
 * component's own tree, which the page's selectors do not reach; `text(statusOf(page), '.error-text')` does.
 */
export function statusOf(comp: Rendered): Rendered {
  const el = comp.querySelector('.page-status');
  if (!el) throw new Error(`no status block on the page; page shows: ${pageText(comp)}`);
  return el;
}
