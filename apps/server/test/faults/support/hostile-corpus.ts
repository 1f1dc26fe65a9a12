/**
 * The hostile-input corpus: requests a hostile or broken client could send to /wechatpay/notify and /api/*.
 * Every entry must be refused with a clear error and change nothing. Entries that WOULD be legitimate (a
 * correctly signed notification for the right amount, a valid order) are deliberately absent: the corpus is
 * about input that must lose nothing and gain nothing.
 */
import { gzipSync } from 'node:zlib';
import type { ErrorId } from '@mp-pay/shared/api';
import { buildXml, signV2, type SignType } from '@mp-pay/shared/wechatpay';
import type { RawRequest } from './http-raw.ts';

export type Expectation =
  /** FAIL XML (return_code FAIL, a return_msg) with this HTTP status. */
  | { kind: 'notify-fail'; status: number }
  /** The JSON error shape {error, message, requestId} with this status and id. */
  | { kind: 'api-error'; status: number; error: ErrorId }
  /** Refused by Node's HTTP parser before the application sees it: only a 4xx status line. */
  | { kind: 'transport'; status: number };

export interface CorpusCase {
  category: string;
  name: string;
  request: RawRequest | { raw: Buffer };
  expect: Expectation;
}

export interface CorpusContext {
  appId: string;
  mchId: string;
  key: string;
  /** A PENDING order of buyer A, its exact total, and a token of A and of another buyer B. */
  order: { id: string; outTradeNo: string; totalFen: number };
  tokenA: string;
  tokenB: string;
  /** A login code that has already been exchanged once. */
  usedCode: string;
}

const NOTIFY = '/wechatpay/notify';
const XML = { 'content-type': 'text/xml; charset=utf-8' };
const JSON_TYPE = { 'content-type': 'application/json' };

const notify = (body: string | Buffer, headers: Record<string, string> = XML): RawRequest => ({
  path: NOTIFY,
  headers,
  body,
});

export function buildCorpus(c: CorpusContext): CorpusCase[] {
  const cases: CorpusCase[] = [];
  const add = (category: string, name: string, request: CorpusCase['request'], expect: Expectation) =>
    cases.push({ category, name, request, expect });
  const fail = (status = 400): Expectation => ({ kind: 'notify-fail', status });
  const api = (status: number, error: ErrorId): Expectation => ({ kind: 'api-error', status, error });

  /** A notification as WeChat would send it for order A, then altered; signed with `key` over the final map. */
  const signed = (
    change: (map: Record<string, string>) => void = () => {},
    options: { key?: string; signType?: SignType; sign?: (map: Record<string, string>) => string } = {},
  ) => {
    const map: Record<string, string> = {
      appid: c.appId,
      mch_id: c.mchId,
      nonce_str: 'hostile0corpus0nonce0000000000',
      result_code: 'SUCCESS',
      return_code: 'SUCCESS',
      openid: 'oHostileCorpus0000000000000',
      is_subscribe: 'N',
      trade_type: 'JSAPI',
      bank_type: 'CMB_CREDIT',
      total_fee: String(c.order.totalFen),
      cash_fee: String(c.order.totalFen),
      fee_type: 'CNY',
      transaction_id: '4200009999202611250000000001',
      out_trade_no: c.order.outTradeNo,
      time_end: '20261125120000',
    };
    change(map);
    map.sign = options.sign
      ? options.sign(map)
      : signV2(map, options.key ?? c.key, options.signType ?? 'MD5');
    return buildXml(map);
  };

  // ---- hostile and malformed XML --------------------------------------------------------------------------
  const laughs =
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">' +
    Array.from(
      { length: 9 },
      (_, i) => `<!ENTITY ${String.fromCharCode(98 + i)} "${`&${String.fromCharCode(97 + i)};`.repeat(10)}">`,
    ).join('') +
    ']><xml><return_code>&j;</return_code></xml>';
  add('xml', 'billion laughs', notify(laughs), fail());
  add(
    'xml',
    'XXE external entity',
    notify('<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><attach>&x;</attach></xml>'),
    fail(),
  );
  add(
    'xml',
    'external DTD',
    notify('<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/evil.dtd"><xml><a>1</a></xml>'),
    fail(),
  );
  add(
    'xml',
    'XXE inside a validly signed notification',
    notify(signed().replace('<xml>', '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/hostname">]><xml>')),
    fail(),
  );
  add('xml', 'processing instruction', notify(`<?xml-stylesheet href="x"?>${signed()}`), fail());
  add('xml', 'comment between fields', notify(signed().replace('</appid>', '</appid><!-- hi -->')), fail());
  add('xml', 'not XML at all', notify('return_code=SUCCESS&out_trade_no=1'), fail());
  add('xml', 'JSON body', notify('{"return_code":"SUCCESS"}', JSON_TYPE), fail());
  add('xml', 'empty body', notify(''), fail());
  add('xml', 'whitespace only', notify(' \n\t '), fail());
  add('xml', 'unclosed element', notify('<xml><return_code>SUCCESS</xml>'), fail());
  add('xml', 'truncated signed notification', notify(signed().slice(0, -20)), fail());
  add('xml', 'two root elements', notify(`${signed()}<xml></xml>`), fail());
  add(
    'xml',
    'wrong root element',
    notify(
      signed()
        .replace(/^<xml>/, '<root>')
        .replace(/<\/xml>$/, '</root>'),
    ),
    fail(),
  );
  add(
    'xml',
    'nested elements',
    notify(signed().replace('</xml>', '<detail><a>1</a></detail></xml>')),
    fail(),
  );
  add(
    'xml',
    'attribute on a field',
    notify(signed().replace('<total_fee>', '<total_fee currency="USD">')),
    fail(),
  );
  add(
    'xml',
    'deep nesting (8,000 levels)',
    notify(`<xml>${'<a>'.repeat(8000)}${'</a>'.repeat(8000)}</xml>`),
    fail(),
  );
  add(
    'xml',
    '__proto__ element',
    notify('<xml><__proto__><return_code>SUCCESS</return_code></__proto__></xml>'),
    fail(),
  );
  add(
    'xml',
    'constructor element',
    notify(signed().replace('</xml>', '<constructor>x</constructor></xml>')),
    fail(),
  );
  add('xml', 'unknown entity', notify(signed().replace('<fee_type>CNY', '<fee_type>&cny;')), fail());
  add('xml', 'character reference beyond Unicode', notify('<xml><attach>&#x110000;</attach></xml>'), fail());
  add('xml', 'text directly in <xml>', notify(signed().replace('<xml>', '<xml>SUCCESS')), fail());
  add(
    'xml',
    'CDATA split to smuggle SUCCESS',
    notify('<xml><return_code><![CDATA[SUCC]]>ESS</return_code></xml>'),
    fail(),
  );

  // ---- unicode, control characters and encodings ----------------------------------------------------------
  add(
    'encoding',
    'invalid UTF-8 bytes in a value',
    notify(
      Buffer.concat([
        Buffer.from(signed().replace('</xml>', '<attach>')),
        Buffer.from([0xff, 0xfe, 0xc0, 0xaf]),
        Buffer.from('</attach></xml>'),
      ]),
    ),
    fail(),
  );
  add(
    'encoding',
    'UTF-16 body with BOM',
    notify(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(signed(), 'utf16le')])),
    fail(),
  );
  add(
    'encoding',
    'NUL byte in a value',
    notify(signed().replace('<fee_type>CNY', '<fee_type>CN\u0000Y')),
    fail(),
  );
  add(
    'encoding',
    'control character in an element name',
    notify('<xml><return\u0001code>SUCCESS</return\u0001code></xml>'),
    fail(),
  );
  add(
    'encoding',
    'unicode out_trade_no, validly signed',
    notify(signed((m) => (m.out_trade_no = '订单２０２６１１２５'))),
    fail(404),
  );
  add(
    'encoding',
    'RTL override in out_trade_no, validly signed',
    notify(signed((m) => (m.out_trade_no = `${c.order.outTradeNo}\u202e`))),
    fail(404),
  );
  add(
    'encoding',
    'out_trade_no with a newline, validly signed',
    notify(signed((m) => (m.out_trade_no = `${c.order.outTradeNo}\n`))),
    fail(404),
  );

  // ---- numeric edges in total_fee (each validly signed for order A: only the amount check stands) ----------
  for (const [label, value] of [
    ['0', '0'],
    ['negative', '-1'],
    ['exponent 1e3', '1e3'],
    ['leading zeros 00123', '00123'],
    ['2^53', '9007199254740992'],
    ['the right amount with a leading zero', `0${c.order.totalFen}`],
    ['the right amount with a plus sign', `+${c.order.totalFen}`],
    ['the right amount with a space', ` ${c.order.totalFen}`],
    ['the right amount as a decimal', `${c.order.totalFen}.00`],
    [
      'the right amount in full-width digits',
      String(c.order.totalFen).replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d))),
    ],
    ['the right amount in hex', `0x${c.order.totalFen.toString(16)}`],
  ] as const) {
    add('numbers', `total_fee ${label}`, notify(signed((m) => (m.total_fee = value))), fail());
  }

  // ---- missing and repeated fields -------------------------------------------------------------------------
  for (const field of [
    'out_trade_no',
    'transaction_id',
    'total_fee',
    'time_end',
    'appid',
    'mch_id',
    'return_code',
  ]) {
    add('fields', `missing ${field}, validly signed`, notify(signed((m) => delete m[field])), fail());
  }
  add(
    'fields',
    'repeated total_fee',
    notify(signed().replace('</xml>', '<total_fee>1</total_fee></xml>')),
    fail(),
  );
  add(
    'fields',
    'repeated out_trade_no',
    notify(signed().replace('</xml>', `<out_trade_no>${c.order.outTradeNo}</out_trade_no></xml>`)),
    fail(),
  );
  add('fields', 'return_code FAIL', notify(signed((m) => (m.return_code = 'FAIL'))), fail());

  // ---- forged signatures and other merchants ----------------------------------------------------------------
  add(
    'signature',
    'signed with the wrong key',
    notify(signed(undefined, { key: 'Hostile0Wrong0Key000000000000000' })),
    fail(),
  );
  add('signature', 'unsigned', notify(signed(undefined, { sign: () => '' })), fail());
  add(
    'signature',
    'signature of another amount',
    notify(signed(undefined, { sign: (m) => signV2({ ...m, total_fee: '1' }, c.key) })),
    fail(),
  );
  add(
    'signature',
    'field added after signing',
    notify(signed().replace('</xml>', '<coupon_fee>100</coupon_fee></xml>')),
    fail(),
  );
  add(
    'signature',
    'HMAC signature declared as MD5',
    notify(signed((m) => (m.sign_type = 'MD5'), { sign: (m) => signV2(m, c.key, 'HMAC-SHA256') })),
    fail(),
  );
  add('signature', 'unsupported sign_type', notify(signed((m) => (m.sign_type = 'SHA1'))), fail());
  add(
    'signature',
    'signature of 31 hex characters',
    notify(signed(undefined, { sign: (m) => signV2(m, c.key).slice(1) })),
    fail(),
  );
  add(
    'signature',
    "another merchant's appid, validly signed",
    notify(signed((m) => (m.appid = 'wx0000000000000000'))),
    fail(),
  );
  add(
    'signature',
    "another merchant's mch_id, validly signed",
    notify(signed((m) => (m.mch_id = '1900000000'))),
    fail(),
  );
  add(
    'signature',
    'unknown order, validly signed',
    notify(signed((m) => (m.out_trade_no = 'NoSuchOrder0000000000000000000'))),
    fail(404),
  );

  // ---- sizes and compression on the notify route ----------------------------------------------------------
  add(
    'size',
    'oversized notification (2 MiB)',
    notify(`<xml><attach>${'A'.repeat(2 * 1024 * 1024)}</attach></xml>`),
    fail(413),
  );
  add(
    'size',
    'oversized, chunked without Content-Length',
    notify(Buffer.alloc(200 * 1024, 0x41), { ...XML, 'transfer-encoding': 'chunked' }),
    fail(413),
  );
  add(
    'size',
    'gzip bomb (20 MiB inflated)',
    notify(gzipSync(Buffer.alloc(20 * 1024 * 1024, 0x20)), { ...XML, 'content-encoding': 'gzip' }),
    fail(),
  );
  add(
    'size',
    'gzip-wrapped valid notification (never inflated)',
    notify(gzipSync(signed()), { ...XML, 'content-encoding': 'gzip' }),
    fail(),
  );
  add(
    'content-type',
    'form-encoded notification with a forged signature',
    notify(signed(undefined, { key: 'Hostile0Wrong0Key000000000000000' }), {
      'content-type': 'application/x-www-form-urlencoded',
    }),
    fail(),
  );

  // ---- /api/session: login codes ---------------------------------------------------------------------------
  const session = (body: string | Buffer, headers: Record<string, string> = JSON_TYPE): RawRequest => ({
    path: '/api/session',
    headers,
    body,
  });
  add(
    'login',
    'replayed login code',
    session(JSON.stringify({ code: c.usedCode })),
    api(401, 'login_code_used'),
  );
  add(
    'login',
    'invented login code',
    session(JSON.stringify({ code: 'not-a-code-from-wechat' })),
    api(401, 'login_code_invalid'),
  );
  add(
    'login',
    'code of 10,000 characters',
    session(JSON.stringify({ code: 'x'.repeat(10_000) })),
    api(400, 'invalid_request'),
  );
  add('login', 'numeric code', session(JSON.stringify({ code: 123 })), api(400, 'invalid_request'));
  add('login', 'null code', session(JSON.stringify({ code: null })), api(400, 'invalid_request'));
  add('login', 'missing code', session('{}'), api(400, 'invalid_request'));
  add(
    'login',
    'code with control and RTL characters',
    session(JSON.stringify({ code: '\u0000\u202e\u0007code' })),
    api(401, 'login_code_invalid'),
  );
  add('login', 'array body', session('[]'), api(400, 'invalid_request'));
  add('login', 'truncated JSON', session('{"code":'), api(400, 'invalid_request'));
  add('login', '__proto__ smuggling', session('{"__proto__":{"code":"x"}}'), api(400, 'invalid_request'));
  add(
    'login',
    'deeply nested JSON',
    session(`${'['.repeat(5000)}${']'.repeat(5000)}`),
    api(400, 'invalid_request'),
  );
  add(
    'content-type',
    'JSON sent as text/plain',
    session(JSON.stringify({ code: 'abc' }), { 'content-type': 'text/plain' }),
    api(415, 'unsupported_media_type'),
  );
  add(
    'content-type',
    'form-encoded body',
    session('code=abc', { 'content-type': 'application/x-www-form-urlencoded' }),
    api(415, 'unsupported_media_type'),
  );
  add(
    'content-type',
    'multipart body',
    session('--b\r\nContent-Disposition: form-data; name="code"\r\n\r\nabc\r\n--b--\r\n', {
      'content-type': 'multipart/form-data; boundary=b',
    }),
    api(415, 'unsupported_media_type'),
  );
  add(
    'content-type',
    'body without a content type',
    session(JSON.stringify({ code: 'abc' }), {}),
    api(415, 'unsupported_media_type'),
  );
  add(
    'content-type',
    'XML sent as JSON',
    session('<xml><code>abc</code></xml>'),
    api(400, 'invalid_request'),
  );
  add(
    'size',
    'oversized JSON (100 KiB)',
    session(JSON.stringify({ code: 'a', pad: 'x'.repeat(100 * 1024) })),
    api(413, 'payload_too_large'),
  );
  add(
    'size',
    'JSON gzip bomb (20 MiB inflated)',
    session(gzipSync(Buffer.from(`{"code":"${' '.repeat(20 * 1024 * 1024)}"}`)), {
      ...JSON_TYPE,
      'content-encoding': 'gzip',
    }),
    api(413, 'payload_too_large'),
  );
  add(
    'size',
    'unknown content encoding',
    session(Buffer.from('{"code":"abc"}'), { ...JSON_TYPE, 'content-encoding': 'compress' }),
    api(415, 'unsupported_media_type'),
  );

  // ---- /api/orders: tokens, items, numbers ----------------------------------------------------------------
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  const order = (body: unknown, headers: Record<string, string> = auth(c.tokenA)): RawRequest => ({
    path: '/api/orders',
    headers: { ...JSON_TYPE, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const item = (quantity: unknown, productId: unknown = 'green-tea') => ({
    items: [{ productId, quantity }],
  });
  add('auth', 'no Authorization header', order(item(1), {}), api(401, 'unauthorized'));
  add(
    'auth',
    'Basic credentials',
    order(item(1), { authorization: 'Basic dXNlcjpwYXNz' }),
    api(401, 'unauthorized'),
  );
  add('auth', 'garbage bearer token', order(item(1), auth('not a token')), api(401, 'unauthorized'));
  add(
    'auth',
    'well-formed but unknown token',
    order(item(1), auth('A'.repeat(43))),
    api(401, 'session_expired'),
  );
  const tampered = `${c.tokenA.slice(0, 42)}${c.tokenA.endsWith('A') ? 'B' : 'A'}`;
  add(
    'auth',
    "buyer A's token with its last character changed",
    order(item(1), auth(tampered)),
    api(401, 'session_expired'),
  );
  for (const [label, quantity] of [
    ['0', 0],
    ['negative', -1],
    ['1e3', 1e3],
    ['"00123" (string)', '00123'],
    ['2^53', 2 ** 53],
    ['1.5', 1.5],
    ['"1" (string)', '1'],
    ['null', null],
  ] as const) {
    add('numbers', `quantity ${label}`, order(item(quantity)), api(400, 'invalid_request'));
  }
  add(
    'numbers',
    'quantity 1e400 (Infinity)',
    order('{"items":[{"productId":"green-tea","quantity":1e400}]}'),
    api(400, 'invalid_request'),
  );
  add('fields', 'unknown product', order(item(1, 'no-such-product')), api(400, 'product_not_found'));
  add(
    'fields',
    'product id with unicode and control characters',
    order(item(1, 'green-tea\u0000\u202e')),
    api(400, 'product_not_found'),
  );
  add('fields', 'numeric product id', order(item(1, 42)), api(400, 'invalid_request'));
  add('fields', 'no items', order({ items: [] }), api(400, 'invalid_request'));
  add('fields', 'missing items', order({}), api(400, 'invalid_request'));
  add(
    'fields',
    'the same product twice',
    order({
      items: [
        { productId: 'green-tea', quantity: 1 },
        { productId: 'green-tea', quantity: 1 },
      ],
    }),
    api(400, 'invalid_request'),
  );
  add(
    'fields',
    '21 items',
    order({ items: Array.from({ length: 21 }, (_, i) => ({ productId: `p${i}`, quantity: 1 })) }),
    api(400, 'invalid_request'),
  );
  add(
    'fields',
    'Idempotency-Key with spaces and 200 characters',
    order(item(1), { ...auth(c.tokenA), 'idempotency-key': `k ${'x'.repeat(200)}` }),
    api(400, 'invalid_request'),
  );
  add(
    'content-type',
    'order as text/plain',
    order(item(1), { ...auth(c.tokenA), 'content-type': 'text/plain' }),
    api(415, 'unsupported_media_type'),
  );

  // ---- other users' orders and hostile ids ----------------------------------------------------------------
  const get = (path: string, token = c.tokenB): RawRequest => ({ method: 'GET', path, headers: auth(token) });
  const post = (path: string, token = c.tokenB): RawRequest => ({ path, headers: auth(token) });
  add('ownership', "another buyer's order", get(`/api/orders/${c.order.id}`), api(404, 'order_not_found'));
  add(
    'ownership',
    "payment params for another buyer's order",
    post(`/api/orders/${c.order.id}/payment`),
    api(404, 'order_not_found'),
  );
  add(
    'ownership',
    "closing another buyer's order",
    post(`/api/orders/${c.order.id}/close`),
    api(404, 'order_not_found'),
  );
  add(
    'ids',
    'path traversal in the order id',
    get('/api/orders/..%2F..%2Fetc%2Fpasswd'),
    api(400, 'invalid_request'),
  );
  add('ids', 'NUL in the order id', get('/api/orders/abc%00def'), api(400, 'invalid_request'));
  add('ids', 'order id of 33 characters', get(`/api/orders/${'a'.repeat(33)}`), api(400, 'invalid_request'));
  add('ids', 'Redis glob in the order id', get('/api/orders/*'), api(400, 'invalid_request'));
  for (const limit of ['0', '-1', '1e3', '00123', '9007199254740992', 'abc']) {
    add(
      'numbers',
      `list limit=${limit}`,
      get(`/api/orders?limit=${limit}`, c.tokenA),
      api(400, 'invalid_request'),
    );
  }
  add(
    'ids',
    'forged list cursor',
    get('/api/orders?cursor=eyJjcmVhdGVkQXQiOjB9', c.tokenA),
    api(400, 'invalid_request'),
  );
  add('ids', 'unknown API route', get('/api/admin'), api(404, 'not_found'));

  // ---- below the application: Node's HTTP parser -----------------------------------------------------------
  add(
    'transport',
    'header block of 64 KiB',
    { raw: Buffer.from(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`) },
    { kind: 'transport', status: 431 },
  );
  add(
    'transport',
    'control character in a header value',
    {
      raw: Buffer.from(
        'POST /wechatpay/notify HTTP/1.1\r\nHost: x\r\nX-Evil: a\u0001b\r\nContent-Length: 0\r\n\r\n',
      ),
    },
    { kind: 'transport', status: 400 },
  );
  add(
    'transport',
    'Content-Length and Transfer-Encoding together (smuggling)',
    {
      raw: Buffer.from(
        'POST /wechatpay/notify HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      ),
    },
    { kind: 'transport', status: 400 },
  );
  return cases;
}
