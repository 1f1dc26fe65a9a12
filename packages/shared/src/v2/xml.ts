import { WechatPayXmlError } from './errors.ts';
import type { V2Params } from './sign.ts';

/**
 * Hardened XML for WeChat Pay v2 bodies, which are always `<xml>` with flat string children.
 *
 * Untrusted input (notifications, replies) goes through these checks, in this order:
 *  1. size cap before anything else, and strict UTF-8 when given bytes;
 *  2. every character must be one XML 1.0 allows (its Char production), CDATA included: no NUL or other C0
 *     control but tab, LF and CR, no U+FFFE / U+FFFF, no lone surrogate. One anchored regex over the whole
 *     text, not a per-character loop in JS: about 1 µs for the ~1 KB bench notification;
 *  3. one strict pass over the text that accepts only the v2 shape: an optional leading
 *     `<?xml version="1.x" …?>` declaration, one root `<xml>` without attributes, children that are leaves
 *     holding text and/or CDATA, whitespace between them. Everything else is refused where it is met: `<!`
 *     other than `<![CDATA[` (DOCTYPE, ENTITY, comments: the billion-laughs and XXE vectors), processing
 *     instructions, attributes, nested elements, text directly in the root, `]]>` in text outside CDATA, a
 *     repeated tag, `__proto__` / `constructor` / `prototype`, names outside `[A-Za-z_][A-Za-z0-9_.-]*`, a
 *     second root;
 *     The declaration only at the very start (after a BOM), as XML 1.0 says.
 * Values stay strings (`00123` stays `00123`); the five XML entities and numeric character references are
 * decoded outside CDATA only, and any other `&` is refused (an unescaped `&` is not well-formed).
 *
 * Well-formedness is this pass's own job: for the only shape it accepts, it checks everything XML 1.0 asks
 * (characters, names, matching tags, one root, references). fast-xml-parser's validator used to run over the
 * same text afterwards as a second opinion; it was a second full pass over every notification (about a fifth
 * of the parse in the bench profile) and refused nothing this pass lets through — its checks that go beyond
 * the shape above (an unescaped `&`, a declaration after leading whitespace) are made here now, and
 * test/xml.test.ts keeps the cases it was there for.
 *
 * Why not fast-xml-parser's own parser for step 2: its object output has to be walked again to enforce the flat
 * shape, and by default it renames `toString`-like names (silently changing a signed field). One pass that
 * knows the shape is simpler to audit and took a 25-field notification from ~90 µs to ~26 µs on the 2-core
 * bench machine (bench/RESULTS.md has the current figures).
 */
export const DEFAULT_MAX_XML_BYTES = 64 * 1024;

export interface ParseXmlOptions {
  /** Reject bodies larger than this many bytes (default 64 KiB; real notifications are under 4 KiB). */
  maxBytes?: number;
}

export type XmlMap = Record<string, string>;

const FORBIDDEN_NAMES = new Set(['__proto__', 'constructor', 'prototype']);
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
/**
 * XML 1.0's Char production, for the whole text. With the `u` flag a paired surrogate is one astral code point
 * (allowed) and a lone one matches nothing here (refused). Anchored, so a test is one linear pass.
 */
const XML_TEXT_RE = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;
/** The first character outside that production; only run to word the error. */
const NON_XML_CHAR_RE = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const NON_XML_CHARS_RE = new RegExp(NON_XML_CHAR_RE.source, 'gu');
/**
 * XML 1.0's XMLDecl: `version` is required and first, then optional `encoding` and `standalone`, in that
 * order. `<?xml?>` or `<?xml encoding="UTF-8"?>` is not a declaration but malformed input.
 */
const S = String.raw`[ \t\r\n]`;
const quoted = (value: string) => `(?:"${value}"|'${value}')`;
const XML_DECL_RE = new RegExp(
  String.raw`<\?xml${S}+version${S}*=${S}*${quoted(String.raw`1\.[0-9]+`)}` +
    `(?:${S}+encoding${S}*=${S}*${quoted('[A-Za-z][A-Za-z0-9._-]*')})?` +
    `(?:${S}+standalone${S}*=${S}*${quoted('(?:yes|no)')})?${S}*\\?>`,
  'y',
);
/** Any other character ends a tag name when it is JS whitespace (what the name reader stops at besides / and >). */
const SPACE_RE = /\s/;
const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;

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
  if (!XML_TEXT_RE.test(text)) fail(`XML body holds ${describeNonXmlChar(text)}, which XML 1.0 forbids`);

  return new FlatXmlScanner(text).scan();
}

/** Step 2 of parseXml: a single left-to-right pass that only knows the flat `<xml>` shape. */
class FlatXmlScanner {
  private pos = 0;
  constructor(private readonly text: string) {}

  scan(): XmlMap {
    const { text } = this;
    if (text.charCodeAt(0) === 0xfeff) this.pos = 1;
    this.skipWhitespace();
    // The declaration may only open the document: after leading whitespace `<?xml` is a refused PI.
    if (this.pos <= 1 && text.startsWith('<?xml', this.pos) && /[\s?]/.test(text[this.pos + 5] ?? '')) {
      XML_DECL_RE.lastIndex = this.pos;
      if (!XML_DECL_RE.test(text)) fail('malformed XML declaration: it must be <?xml version="1.0" …?>');
      this.pos = XML_DECL_RE.lastIndex;
      this.skipWhitespace();
    }
    this.refuseMarkup();
    if (text[this.pos] !== '<') fail('XML root must be <xml>: the body does not start with an element');
    const rootName = this.readName(this.pos + 1);
    if (rootName !== 'xml') fail(`XML root must be <xml>, got <${rootName}>`);
    const out: XmlMap = {};
    if (!this.endOfStartTag('xml')) {
      // <xml/>: an empty map.
      this.expectEnd();
      return out;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.pos >= text.length) fail('malformed XML: <xml> is not closed');
      if (text.charCodeAt(this.pos) !== LT) fail('text directly inside <xml> is not allowed');
      this.refuseMarkup();
      if (text.startsWith('<![CDATA[', this.pos)) fail('text directly inside <xml> is not allowed');
      if (text.charCodeAt(this.pos + 1) === SLASH) {
        this.closeTag('xml');
        this.expectEnd();
        return out;
      }
      const name = this.readName(this.pos + 1);
      if (!NAME_RE.test(name) || FORBIDDEN_NAMES.has(name)) fail(`XML element <${name}> is not allowed`);
      if (Object.hasOwn(out, name)) fail(`XML element <${name}> is repeated`);
      out[name] = this.endOfStartTag(name) ? this.leafValue(name) : '';
    }
  }

  /** `<!` other than CDATA and `<?` at the current `<` are refused outright, never interpreted. */
  private refuseMarkup(): void {
    const next = this.text.charCodeAt(this.pos + 1);
    if (next === 0x21 /* ! */ && !this.text.startsWith('<![CDATA[', this.pos)) {
      fail('XML markup declarations (DOCTYPE, ENTITY, comments) are not allowed');
    }
    if (next === 0x3f /* ? */) fail('XML processing instructions are not allowed');
  }

  /**
   * Reads the name after `<` (at `from`) and leaves pos after it: everything up to whitespace, `/` or `>`
   * (a character loop rather than a sticky regex: this runs twice per field of every notification).
   */
  private readName(from: number): string {
    const { text } = this;
    let end = from;
    while (end < text.length && !this.endsName(end)) end++;
    const name = text.slice(from, end);
    if (name === '') fail('malformed XML: an element has no name');
    if (FORBIDDEN_NAMES.has(name)) fail(`XML element <${name}> is not allowed`);
    this.pos = from + name.length;
    return name;
  }

  /** After a start tag's name: true for `>` (content follows), false for `/>`; anything else is an attribute. */
  private endOfStartTag(name: string): boolean {
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === GT) {
      this.pos += 1;
      return true;
    }
    if (this.text.startsWith('/>', this.pos)) {
      this.pos += 2;
      return false;
    }
    if (this.pos >= this.text.length) fail(`malformed XML: <${name}> is not closed`);
    fail(`attributes are not allowed on <${name}>`);
  }

  /** Text and CDATA up to `</name>`; any other markup inside a leaf is refused. */
  private leafValue(name: string): string {
    const { text } = this;
    let value = '';
    for (;;) {
      const lt = text.indexOf('<', this.pos);
      if (lt === -1) fail(`malformed XML: <${name}> is not closed`);
      if (lt > this.pos) value += textValue(text.slice(this.pos, lt));
      this.pos = lt;
      if (text.startsWith('<![CDATA[', lt)) {
        const end = text.indexOf(']]>', lt + 9);
        if (end === -1) fail('malformed XML: unterminated CDATA section');
        value += text.slice(lt + 9, end);
        this.pos = end + 3;
        continue;
      }
      if (text.charCodeAt(lt + 1) === SLASH) {
        this.closeTag(name);
        return value;
      }
      this.refuseMarkup();
      fail(`XML element <${name}> must hold text only, not nested elements`);
    }
  }

  /** At `</`: the closing tag must name the open element. */
  private closeTag(name: string): void {
    const from = this.pos + 2;
    if (this.text.startsWith(name, from) && this.endsName(from + name.length)) {
      // The usual case, without cutting the name out of the text again.
      this.pos = from + name.length;
    } else {
      const closing = this.readName(from);
      if (closing !== name) fail(`malformed XML: </${closing}> closes <${name}>`);
    }
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) !== GT) fail(`malformed XML: </${name}> is not closed`);
    this.pos += 1;
  }

  /** Whether the character at `at` ends a name as readName sees it (or the text ends there). */
  private endsName(at: number): boolean {
    if (at >= this.text.length) return true;
    const c = this.text.charCodeAt(at);
    if (c === SLASH || c === GT || c === 0x20 || (c >= 0x09 && c <= 0x0d)) return true;
    return c > 0x7f && SPACE_RE.test(this.text[at] ?? '');
  }

  /** Only whitespace may follow the root. */
  private expectEnd(): void {
    this.skipWhitespace();
    if (this.pos < this.text.length) fail('XML must have exactly one root element, <xml>');
  }

  /** XML's S: space, tab, CR, LF. */
  private skipWhitespace(): void {
    const { text } = this;
    let pos = this.pos;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x09 && c !== 0x0d) break;
      pos++;
    }
    this.pos = pos;
  }
}

/** Character data outside CDATA: `]]>` may only end a CDATA section, then entities are decoded. */
function textValue(chunk: string): string {
  if (chunk.includes(']]>')) fail('malformed XML: ]]> outside a CDATA section');
  return decodeEntities(chunk);
}

/**
 * `text` with every character XML forbids replaced by U+FFFD: for messages built from arbitrary input (an
 * error text, say) that must go out in a reply, where refusing to build the reply would help nobody.
 */
export function xmlSafeText(text: string): string {
  return XML_TEXT_RE.test(text) ? text : text.replace(NON_XML_CHARS_RE, '\uFFFD');
}

/** `U+0000 at offset 12`, for the error message (never the character itself: it may be unprintable). */
function describeNonXmlChar(text: string): string {
  const match = NON_XML_CHAR_RE.exec(text);
  const code = match?.[0].codePointAt(0) ?? 0;
  return `the character U+${code.toString(16).toUpperCase().padStart(4, '0')} at offset ${match?.index ?? 0}`;
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

const REFERENCE_RE = /&(#x[0-9A-Fa-f]+|#[0-9]+|[A-Za-z]+);/y;

/** Decodes the references in character data; an `&` that does not start one is not well-formed XML. */
function decodeEntities(text: string): string {
  let amp = text.indexOf('&');
  if (amp === -1) return text;
  let out = '';
  let from = 0;
  while (amp !== -1) {
    REFERENCE_RE.lastIndex = amp;
    const match = REFERENCE_RE.exec(text);
    if (match === null) fail("malformed XML: '&' is not the start of a character or entity reference");
    out += text.slice(from, amp) + resolveReference(match[0], match[1] ?? '');
    from = REFERENCE_RE.lastIndex;
    amp = text.indexOf('&', from);
  }
  return out + text.slice(from);
}

function resolveReference(whole: string, ref: string): string {
  if (ref.startsWith('#')) {
    const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    if (!isXmlChar(code)) fail(`invalid character reference ${whole}`);
    return String.fromCodePoint(code);
  }
  const named = NAMED_ENTITIES[ref];
  if (named === undefined) fail(`unknown XML entity ${whole}`);
  return named;
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
 * parseXml. Null and undefined values are left out; a value holding a character XML forbids is refused.
 */
export function buildXml(params: V2Params): string {
  let xml = '<xml>';
  for (const [name, raw] of Object.entries(params)) {
    if (raw === undefined || raw === null) continue;
    if (!NAME_RE.test(name) || FORBIDDEN_NAMES.has(name)) {
      throw new WechatPayXmlError(`cannot serialise field name ${JSON.stringify(name)}`);
    }
    const value = String(raw);
    let encoded = value;
    if (!PLAIN_VALUE_RE.test(value)) {
      // CDATA carries markup but not these: a control character in it is still not XML, and WeChat (like
      // parseXml) would refuse the whole body.
      if (!XML_TEXT_RE.test(value)) {
        throw new WechatPayXmlError(
          `cannot serialise <${name}>: its value holds ${describeNonXmlChar(value)}`,
        );
      }
      encoded = `<![CDATA[${value.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
    }
    xml += `<${name}>${encoded}</${name}>`;
  }
  return `${xml}</xml>`;
}
