import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { WechatPayXmlError } from './errors.ts';
import type { V2Params } from './sign.ts';

/**
 * Hardened XML for WeChat Pay v2 bodies, which are always `<xml>` with flat string children.
 *
 * Untrusted input (notifications, replies) goes through these checks, in this order:
 *  1. size cap before any parsing, and strict UTF-8 when given bytes;
 *  2. no `<!` except `<![CDATA[` (DOCTYPE, ENTITY, comments: the billion-laughs and XXE vectors) and no
 *     processing instruction other than a leading `<?xml …?>` declaration;
 *  3. well-formedness (fast-xml-parser's validator);
 *  4. shape: one root named `xml`, no attributes, each child a leaf holding text/CDATA only, no repeated tag,
 *     no `__proto__` / `constructor` / `prototype`, names limited to `[A-Za-z_][A-Za-z0-9_.-]*`;
 *  5. values stay strings (`00123` stays `00123`); only the five XML entities and numeric character
 *     references are decoded, and only outside CDATA.
 */
export const DEFAULT_MAX_XML_BYTES = 64 * 1024;

export interface ParseXmlOptions {
  /** Reject bodies larger than this many bytes (default 64 KiB; real notifications are under 4 KiB). */
  maxBytes?: number;
}

export type XmlMap = Record<string, string>;

const FORBIDDEN_NAMES = new Set(['__proto__', 'constructor', 'prototype']);
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const TAG_NAME_RE = /<\/?\s*([^\s/>]+)/g;
const DECLARATION_RE = /^\uFEFF?\s*<\?xml\s[^?]*\?>/;

const parser = new XMLParser({
  preserveOrder: true,
  cdataPropName: '#cdata',
  ignoreAttributes: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: false,
  // The parser renames names such as `toString` to `__toString`, which would silently change a signed field.
  // Keep names as sent: the result is built as own properties and `__proto__` & co. are refused above.
  onDangerousProperty: (name: string) => name,
});

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function fail(message: string): never {
  throw new WechatPayXmlError(message);
}

export function parseXml(input: string | Uint8Array, options: ParseXmlOptions = {}): XmlMap {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_XML_BYTES;
  let text: string;
  if (typeof input === 'string') {
    if (Buffer.byteLength(input, 'utf8') > maxBytes) fail(`XML body exceeds ${maxBytes} bytes`);
    text = input;
  } else {
    if (input.byteLength > maxBytes) fail(`XML body exceeds ${maxBytes} bytes`);
    try {
      text = utf8.decode(input);
    } catch {
      fail('XML body is not valid UTF-8');
    }
  }
  if (text.trim() === '') fail('XML body is empty');

  // Step 2: refuse markup declarations outright instead of trusting a parser option to ignore them.
  const withoutCdata = text.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '');
  if (withoutCdata.includes('<!'))
    fail('XML markup declarations (DOCTYPE, ENTITY, comments) are not allowed');
  const body = text.replace(DECLARATION_RE, '');
  if (body.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '').includes('<?')) {
    fail('XML processing instructions are not allowed');
  }
  for (const match of withoutCdata.matchAll(TAG_NAME_RE)) {
    const name = match[1] ?? '';
    if (FORBIDDEN_NAMES.has(name)) fail(`XML element <${name}> is not allowed`);
  }

  const valid = XMLValidator.validate(text);
  if (valid !== true) fail(`malformed XML: ${valid.err.msg} (line ${valid.err.line})`);

  let nodes: unknown;
  try {
    nodes = parser.parse(text);
  } catch (err) {
    fail(`malformed XML: ${(err as Error).message}`);
  }
  return flatten(nodes);
}

type Node = Record<string, unknown>;

function elementName(node: Node): string {
  const names = Object.keys(node).filter((k) => k !== ':@');
  if (names.length !== 1) fail('unexpected XML node');
  return names[0] as string;
}

function flatten(nodes: unknown): XmlMap {
  if (!Array.isArray(nodes)) fail('unexpected XML structure');
  const elements = (nodes as Node[]).filter((n) => !isWhitespaceText(n));
  const root = elements[0];
  if (elements.length !== 1 || root === undefined || elementName(root) === '#text') {
    fail('XML must have exactly one root element, <xml>');
  }
  const rootName = elementName(root);
  if (rootName !== 'xml') fail(`XML root must be <xml>, got <${rootName}>`);
  if (root[':@']) fail('attributes are not allowed on <xml>');

  const out: XmlMap = {};
  const seen = new Set<string>();
  for (const child of root.xml as Node[]) {
    if (isWhitespaceText(child)) continue;
    const name = elementName(child);
    if (name === '#text' || name === '#cdata') fail('text directly inside <xml> is not allowed');
    if (!NAME_RE.test(name) || FORBIDDEN_NAMES.has(name)) fail(`XML element <${name}> is not allowed`);
    if (seen.has(name)) fail(`XML element <${name}> is repeated`);
    if (child[':@']) fail(`attributes are not allowed on <${name}>`);
    seen.add(name);
    out[name] = leafText(name, child[name] as Node[]);
  }
  return out;
}

function isWhitespaceText(node: Node): boolean {
  const text = node['#text'];
  return typeof text === 'string' && text.trim() === '' && Object.keys(node).length === 1;
}

function leafText(name: string, parts: Node[]): string {
  let value = '';
  for (const part of parts) {
    if ('#text' in part && Object.keys(part).length === 1) {
      value += decodeEntities(String(part['#text']));
    } else if ('#cdata' in part) {
      for (const inner of part['#cdata'] as Node[]) value += String(inner['#text'] ?? '');
    } else {
      fail(`XML element <${name}> must hold text only, not nested elements`);
    }
  }
  return value;
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9A-Fa-f]+|#[0-9]+|[A-Za-z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!isXmlChar(code)) fail(`invalid character reference ${whole}`);
      return String.fromCodePoint(code);
    }
    const named = NAMED_ENTITIES[ref];
    if (named === undefined) fail(`unknown XML entity ${whole}`);
    return named;
  });
}

/**
 * XML 1.0's Char production: a reference to anything else (NUL, other C0 controls, a lone surrogate, U+FFFE)
 * is not well-formed, and would reach the signed string as a character no real WeChat body holds.
 */
function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

const PLAIN_VALUE_RE = /^[A-Za-z0-9_.:+\-/=@ ]*$/;

/**
 * Serialises a flat map as WeChat does: `<xml><name>value</name>…</xml>`, plain text for simple values and
 * CDATA otherwise. A value containing `]]>` is split across two CDATA sections so it round-trips through
 * parseXml. Null and undefined values are left out.
 */
export function buildXml(params: V2Params): string {
  let xml = '<xml>';
  for (const [name, raw] of Object.entries(params)) {
    if (raw === undefined || raw === null) continue;
    if (!NAME_RE.test(name) || FORBIDDEN_NAMES.has(name)) {
      throw new WechatPayXmlError(`cannot serialise field name ${JSON.stringify(name)}`);
    }
    const value = String(raw);
    const encoded = PLAIN_VALUE_RE.test(value)
      ? value
      : `<![CDATA[${value.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
    xml += `<${name}>${encoded}</${name}>`;
  }
  return `${xml}</xml>`;
}
