/**
 * Resolving a request path to a file of the web checkout, safely: the decoded path must stay inside the
 * folder (resolve, then check the prefix), and anything that could smuggle a traversal past a proxy or the
 * decoder (encoded dots or slashes, backslashes, NUL, dot-files) is refused before touching the disk.
 */
import { stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';

/** Every kind of file the shop ships; anything else is not served. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
});

export interface StaticFile {
  path: string;
  contentType: string;
  size: number;
  mtime: Date;
}

/** `%2e` `%2f` `%5c` `%00`: an encoded dot, slash, backslash or NUL has no business in a file name here. */
const SMUGGLED = /%(?:2e|2f|5c|00)/i;

/**
 * The file for `rawPath` (the URL path below the mount point, still percent-encoded), or undefined.
 * An empty path or one ending in `/` means that folder's index.html.
 */
export async function findStaticFile(root: string, rawPath: string): Promise<StaticFile | undefined> {
  if (SMUGGLED.test(rawPath)) return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const segments = decoded.split('/');
  // No `..`, no `.`, no hidden files; empty segments only as the trailing `/` of a folder.
  if (segments.some((s, i) => s.startsWith('.') || (s === '' && i !== segments.length - 1))) return undefined;
  const relative = decoded === '' || decoded.endsWith('/') ? `${decoded}index.html` : decoded;

  const base = resolve(root);
  const path = resolve(base, relative);
  if (!path.startsWith(base + sep)) return undefined;
  const contentType = CONTENT_TYPES[extname(path).toLowerCase()];
  if (contentType === undefined) return undefined;
  try {
    const info = await stat(path);
    if (!info.isFile()) return undefined;
    return { path, contentType, size: info.size, mtime: info.mtime };
  } catch {
    return undefined;
  }
}
