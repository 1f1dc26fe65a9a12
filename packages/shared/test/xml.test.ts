import { describe, expect, it } from 'vitest';
import { buildXml, DEFAULT_MAX_XML_BYTES, parseXml, WechatPayXmlError } from '../src/wechatpay/index.ts';

describe('parseXml: what WeChat sends', () => {
  it('reads a CDATA-wrapped notification into a flat string map', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<xml>
  <appid><![CDATA[wx2421b1c4370ec43b]]></appid>
  <attach><![CDATA[支付测试]]></attach>
  <total_fee>1</total_fee>
  <out_trade_no>00123</out_trade_no>
  <empty></empty>
  <selfclosed/>
</xml>`;
    expect(parseXml(xml)).toEqual({
      appid: 'wx2421b1c4370ec43b',
      attach: '支付测试',
      total_fee: '1',
      out_trade_no: '00123',
      empty: '',
      selfclosed: '',
    });
  });

  it('keeps numeric-looking strings as strings', () => {
    const map = parseXml(
      '<xml><a>00123</a><b>1e3</b><c>9007199254740993</c><d>-0</d><e>0x1F</e><f>true</f></xml>',
    );
    expect(map).toEqual({ a: '00123', b: '1e3', c: '9007199254740993', d: '-0', e: '0x1F', f: 'true' });
    for (const value of Object.values(map)) expect(typeof value).toBe('string');
  });

  it('decodes the XML entities and character references outside CDATA only', () => {
    expect(
      parseXml('<xml><a>&lt;b&gt; &amp; &quot;&apos; &#x4e2d;&#25991;</a><b><![CDATA[&amp;]]></b></xml>'),
    ).toEqual({
      a: `<b> & "' 中文`,
      b: '&amp;',
    });
  });

  it('accepts bytes and rejects invalid UTF-8', () => {
    expect(parseXml(Buffer.from('<xml><a>中</a></xml>'))).toEqual({ a: '中' });
    expect(() =>
      parseXml(Buffer.from([0x3c, 0x78, 0x6d, 0x6c, 0x3e, 0xff, 0x3c, 0x2f, 0x78, 0x6d, 0x6c, 0x3e])),
    ).toThrow(/UTF-8/);
  });

  it('accepts the shapes well-formed XML allows: <xml/>, self-closed leaves, spaces inside tags, a BOM', () => {
    expect(parseXml('<xml/>')).toEqual({});
    expect(parseXml('\uFEFF<?xml version="1.0"?>\n<xml ><a >1</a ><b/><c /></xml >\n')).toEqual({
      a: '1',
      b: '',
      c: '',
    });
  });

  it('keeps markup-looking text inside CDATA as data', () => {
    expect(parseXml('<xml><a><![CDATA[<!DOCTYPE x><?php ?><b>]]></a><b>x<![CDATA[y]]>z</b></xml>')).toEqual({
      a: '<!DOCTYPE x><?php ?><b>',
      b: 'xyz',
    });
  });

  it('returns an object whose prototype cannot be polluted', () => {
    const map = parseXml('<xml><toString>x</toString></xml>');
    expect(map.toString).toBe('x');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('parseXml: hostile input', () => {
  const billionLaughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<xml><a>&lol3;</a></xml>`;
  const externalEntity = `<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><a>&xxe;</a></xml>`;

  it.each<[string, string | Buffer, RegExp]>([
    ['billion laughs', billionLaughs, /markup declarations/],
    ['external entity', externalEntity, /markup declarations/],
    ['a comment', '<xml><!-- hi --><a>1</a></xml>', /markup declarations/],
    ['an undeclared entity', '<xml><a>&xxe;</a></xml>', /entity/],
    ['a NUL character reference', '<xml><a>x&#0;</a></xml>', /invalid character reference/],
    ['a control character reference', '<xml><a>&#x1B;</a></xml>', /invalid character reference/],
    ['a lone surrogate reference', '<xml><a>&#xD800;</a></xml>', /invalid character reference/],
    ['an out-of-range reference', '<xml><a>&#x110000;</a></xml>', /invalid character reference/],
    ['__proto__', '<xml><__proto__><polluted>1</polluted></__proto__></xml>', /not allowed/],
    ['constructor', '<xml><constructor>1</constructor></xml>', /not allowed/],
    ['prototype', '<xml><prototype>1</prototype></xml>', /not allowed/],
    ['a repeated tag', '<xml><a>1</a><a>2</a></xml>', /repeated/],
    ['a nested element', '<xml><a><b>1</b></a></xml>', /text only/],
    ['mixed text', '<xml><a>x<b/>y</a></xml>', /text only/],
    ['text directly in the root', '<xml>junk<a>1</a></xml>', /text directly/],
    ['an attribute', '<xml><a id="1">1</a></xml>', /attributes/],
    ['an attribute on the root', '<xml id="1"><a>1</a></xml>', /attributes/],
    ['an oversized body', `<xml><a>${'x'.repeat(DEFAULT_MAX_XML_BYTES)}</a></xml>`, /exceeds/],
    ['an oversized buffer', Buffer.alloc(DEFAULT_MAX_XML_BYTES + 1, 0x20), /exceeds/],
    ['malformed XML', '<xml><a>1</b></xml>', /malformed/],
    ['an unclosed root', '<xml><a>1</a>', /malformed/],
    ['an empty body', '', /empty/],
    ['a non-xml root', '<root><a>1</a></root>', /root must be <xml>/],
    ['two roots', '<xml><a>1</a></xml><xml><b>2</b></xml>', /malformed|exactly one root/],
    ['a processing instruction', '<xml><?php echo 1; ?><a>1</a></xml>', /processing instructions/],
    ['JSON', '{"return_code":"SUCCESS"}', /malformed|root/],
    ['a comment inside a value', '<xml><a>1<!-- x --></a></xml>', /markup declarations/],
    ['a DOCTYPE after the root', '<xml><a>1</a></xml><!DOCTYPE x>', /markup declarations|exactly one root/],
    [
      'a declaration that is not first',
      '<xml><a>1</a></xml><?xml version="1.0"?>',
      /processing instructions|exactly one root/,
    ],
    ['CDATA directly in the root', '<xml><![CDATA[x]]></xml>', /text directly/],
    ['an unterminated CDATA section', '<xml><a><![CDATA[x</a></xml>', /CDATA/],
    ['a mismatched closing tag', '<xml><a>1</a></b></xml>', /malformed/],
    ['an element without a name', '<xml>< a>1</a></xml>', /malformed/],
    ['an unescaped ampersand', '<xml><a>fish & chips</a></xml>', /malformed/],
    ['deep nesting', `<xml>${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}</xml>`, /text only/],
  ])('rejects %s with WechatPayXmlError', (_label, input, message) => {
    let error: unknown;
    try {
      parseXml(input);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(WechatPayXmlError);
    expect((error as Error).message).toMatch(message);
  });

  it('honours a custom size cap', () => {
    expect(() => parseXml('<xml><a>12345</a></xml>', { maxBytes: 10 })).toThrow(/exceeds 10 bytes/);
  });
});

describe('parseXml / buildXml: characters XML 1.0 forbids (defect 3b)', () => {
  it.each<[string, string]>([
    ['a literal NUL', '<xml><a>x\u0000y</a></xml>'],
    ['a literal C0 control', '<xml><a>\u001b[31m</a></xml>'],
    ['a C0 control inside CDATA', '<xml><a><![CDATA[x\u0001]]></a></xml>'],
    ['a NUL inside CDATA', '<xml><a><![CDATA[\u0000]]></a></xml>'],
    ['U+FFFE', '<xml><a>\uFFFE</a></xml>'],
    ['U+FFFF inside CDATA', '<xml><a><![CDATA[\uFFFF]]></a></xml>'],
    ['a lone high surrogate', '<xml><a>x\uD800</a></xml>'],
    ['a lone low surrogate inside CDATA', '<xml><a><![CDATA[\uDC00x]]></a></xml>'],
    ['a control between elements', '<xml>\u0000<a>1</a></xml>'],
  ])('parseXml refuses %s', (_label, input) => {
    expect(() => parseXml(input)).toThrow(WechatPayXmlError);
    expect(() => parseXml(input)).toThrow(/character/);
  });

  it('parseXml refuses ]]> in character data outside CDATA', () => {
    expect(() => parseXml('<xml><a>x]]>y</a></xml>')).toThrow(WechatPayXmlError);
    expect(() => parseXml('<xml><a><![CDATA[x]]>]]></a></xml>')).toThrow(WechatPayXmlError);
  });

  it.each([
    '<?xml?><xml><a>1</a></xml>',
    '<?xml ?><xml><a>1</a></xml>',
    '<?xml encoding="UTF-8"?><xml><a>1</a></xml>',
    '<?xml version="1.0" junk?><xml><a>1</a></xml>',
  ])('parseXml refuses the declaration without a proper version: %s', (input) => {
    expect(() => parseXml(input)).toThrow(WechatPayXmlError);
  });

  it('parseXml keeps accepting tab, LF, CR, astral characters and full declarations', () => {
    expect(parseXml('<xml><a>\t1\r\n2</a><b><![CDATA[🙂]]></b></xml>')).toEqual({ a: '\t1\r\n2', b: '🙂' });
    expect(parseXml("<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><xml/>")).toEqual({});
  });

  it.each<[string, string]>([
    ['NUL', 'a\u0000b'],
    ['ESC', '\u001b[0m'],
    ['U+FFFF', '\uFFFF'],
    ['a lone surrogate', '\uD83D'],
  ])('buildXml refuses a value holding %s', (_label, value) => {
    expect(() => buildXml({ a: value })).toThrow(WechatPayXmlError);
  });
});

describe('buildXml', () => {
  it('emits plain text for simple values and CDATA otherwise', () => {
    expect(buildXml({ total_fee: 1, a: 'abc', b: '支付', c: 'x<y', skip: undefined, nil: null })).toBe(
      '<xml><total_fee>1</total_fee><a>abc</a><b><![CDATA[支付]]></b><c><![CDATA[x<y]]></c></xml>',
    );
  });

  it('round-trips values containing ]]>, markup, quotes, whitespace and leading zeros', () => {
    const map = {
      cdata: 'a]]>b]]>',
      markup: '<xml><a>1</a></xml>',
      amp: 'a & b &amp;',
      quotes: `"'`,
      spaces: '  padded  ',
      zeros: '00123',
      empty: '',
      unicode: '中文 🙂',
    };
    expect(parseXml(buildXml(map))).toEqual(map);
  });

  it('refuses field names that cannot be elements', () => {
    expect(() => buildXml({ 'a b': '1' })).toThrow(WechatPayXmlError);
    expect(() => buildXml(JSON.parse('{"__proto__":"1"}'))).toThrow(WechatPayXmlError);
  });
});
