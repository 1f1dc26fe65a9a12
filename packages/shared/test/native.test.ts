import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  buildNativeScanXml,
  buildXml,
  nativeLongLink,
  nativeScanReplyXml,
  parseNativeLongLink,
  parseNativeScanReply,
  parseXml,
  returnFailXml,
  signV2,
  verifyNativeLongLink,
  verifyNativeScan,
  WechatPayError,
  WechatPayInvalidRequestError,
  WechatPaySignatureError,
  WechatPayXmlError,
  type NativeLink,
} from '@mp-pay/shared/v2';
import * as wechatpay from '@mp-pay/shared/wechatpay';

const KEY = 'mppaySandboxDemoKey0000000000000';
const APPID = 'wx5ad0b0c0de5a4db0';
const MCHID = '1900000109';
const LINK_INPUT = {
  appId: APPID,
  mchId: MCHID,
  productId: 'ord_01HZX4',
  key: KEY,
  timeStamp: '1764547200',
  nonceStr: 'f6808210402125e30663234f94c87a8c',
};

describe('nativeLongLink (mode 1)', () => {
  it('is weixin://wxpay/bizpayurl with sign first, the v2 MD5 over the five fields, computed by hand', () => {
    const link = nativeLongLink(LINK_INPUT);
    const signed =
      `appid=${APPID}&mch_id=${MCHID}&nonce_str=${LINK_INPUT.nonceStr}&product_id=ord_01HZX4` +
      `&time_stamp=1764547200&key=${KEY}`;
    const sign = createHash('md5').update(signed, 'utf8').digest('hex').toUpperCase();
    expect(link).toBe(
      `weixin://wxpay/bizpayurl?sign=${sign}&appid=${APPID}&mch_id=${MCHID}&product_id=ord_01HZX4` +
        `&time_stamp=1764547200&nonce_str=${LINK_INPUT.nonceStr}`,
    );
  });

  it('signs raw values and URL-encodes them in the link; the reader decodes them back', () => {
    const productId = 'a&b=c+d%e|*';
    const link = nativeLongLink({ ...LINK_INPUT, productId });
    expect(link).toContain('product_id=a%26b%3Dc%2Bd%25e%7C*');
    const parsed = parseNativeLongLink(link);
    expect(parsed).toMatchObject({ mode: 1, productId });
    const raw = { ...LINK_INPUT, product_id: productId };
    expect(parsed.mode === 1 && parsed.sign).toBe(
      signV2(
        {
          appid: raw.appId,
          mch_id: raw.mchId,
          product_id: productId,
          time_stamp: raw.timeStamp,
          nonce_str: raw.nonceStr,
        },
        KEY,
      ),
    );
    expect(verifyNativeLongLink(link, KEY)).toBeUndefined();
  });

  it('refuses an HMAC-SHA256 link: it carries no sign_type, so WeChat verifies it as MD5', () => {
    const link = nativeLongLink(LINK_INPUT);
    const signed =
      `appid=${APPID}&mch_id=${MCHID}&nonce_str=${LINK_INPUT.nonceStr}&product_id=ord_01HZX4` +
      `&time_stamp=1764547200&key=${KEY}`;
    const hmac = createHmac('sha256', KEY).update(signed, 'utf8').digest('hex').toUpperCase();
    const forged = link.replace(/sign=[0-9A-F]{32}/, `sign=${hmac}`);
    expect(forged).not.toBe(link);
    expect(verifyNativeLongLink(forged, KEY)).toMatch(/sign does not match/);
  });

  it('fills time_stamp and nonce_str, and refuses bad input', () => {
    const parsed = parseNativeLongLink(
      nativeLongLink({ ...LINK_INPUT, timeStamp: undefined, nonceStr: undefined }),
    );
    expect(parsed.mode === 1 && parsed.timeStamp).toMatch(/^\d{10}$/);
    expect(parsed.mode === 1 && parsed.nonceStr).toMatch(/^[0-9A-Za-z]{32}$/);
    for (const bad of [
      { appId: '' },
      { mchId: '' },
      { productId: '' },
      { productId: 'x'.repeat(33) },
      { productId: 'has space' },
      { productId: '订单' },
      { timeStamp: String(Date.now() * 10) },
      { nonceStr: 'a-b' },
    ]) {
      expect(() => nativeLongLink({ ...LINK_INPUT, ...bad }), JSON.stringify(bad)).toThrow(TypeError);
    }
    expect(() => nativeLongLink({ ...LINK_INPUT, key: '' })).toThrow(/key is empty/);
  });
});

describe('parseNativeLongLink', () => {
  it('recognises a mode-2 code_url', () => {
    const codeUrl = 'weixin://wxpay/bizpayurl?pr=p4lpSuKzz';
    expect(parseNativeLongLink(codeUrl)).toEqual({ mode: 2, pr: 'p4lpSuKzz', codeUrl });
  });

  it('reads a mode-1 link into its fields and keeps every parameter for the signature', () => {
    const link = nativeLongLink(LINK_INPUT);
    const parsed = parseNativeLongLink(link);
    expect(parsed).toMatchObject({
      mode: 1,
      appId: APPID,
      mchId: MCHID,
      productId: 'ord_01HZX4',
      timeStamp: '1764547200',
      nonceStr: LINK_INPUT.nonceStr,
    });
    if (parsed.mode !== 1) throw new Error('mode 1 expected');
    expect(Object.keys(parsed.params).sort()).toEqual(
      ['appid', 'mch_id', 'nonce_str', 'product_id', 'sign', 'time_stamp'].sort(),
    );
    // The parameters' order does not matter to the signature.
    const reordered = 'weixin://wxpay/bizpayurl?' + link.split('?')[1]!.split('&').reverse().join('&');
    expect(verifyNativeLongLink(reordered, KEY)).toBeUndefined();
  });

  it.each([
    ['https://example.com/?pr=1', /must start with weixin/],
    ['weixin://wxpay/bizpayurl', /must start with/],
    ['weixin://wxpay/bizpayurl?', /malformed parameter/],
    ['weixin://wxpay/bizpayurl?pr=a&pr=b', /pr is repeated/],
    ['weixin://wxpay/bizpayurl?pr=', /pr is empty/],
    ['weixin://wxpay/bizpayurl?pr=a&x=1', /carries pr only/],
    ['weixin://wxpay/bizpayurl?pr=a#frag', /fragment/],
    ['weixin://wxpay/bizpayurl?pr=%E0%A4%A', /percent-encoding/],
    ['weixin://wxpay/bizpayurl?pr=a&sign=B', /both pr/],
    ['weixin://wxpay/bizpayurl?__proto__=1', /unexpected parameter name/],
    ['weixin://wxpay/bizpayurl?sign=A&appid=wx&mch_id=1&product_id=p&time_stamp=1', /nonce_str is missing/],
    ['weixin://wxpay/bizpayurl?pr=' + 'a'.repeat(3000), /longer than/],
  ])('refuses %s', (url, why) => {
    let error: unknown;
    try {
      parseNativeLongLink(url);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(WechatPayInvalidRequestError);
    expect(error).toMatchObject({ code: 'BAD_LINK' });
    expect((error as Error).message).toMatch(why);
  });
});

describe('verifyNativeLongLink', () => {
  const link = nativeLongLink(LINK_INPUT);

  it('accepts a good link, as a string or parsed', () => {
    expect(verifyNativeLongLink(link, KEY)).toBeUndefined();
    expect(verifyNativeLongLink(parseNativeLongLink(link), KEY)).toBeUndefined();
  });

  it('refuses tampering, another key, an added parameter, and says why', () => {
    expect(verifyNativeLongLink(link.replace('ord_01HZX4', 'ord_01HZX5'), KEY)).toMatch(
      /sign does not match/,
    );
    expect(verifyNativeLongLink(link, 'x'.repeat(32))).toMatch(/sign does not match/);
    expect(verifyNativeLongLink(`${link}&attach=1`, KEY)).toMatch(/sign does not match/);
    expect(verifyNativeLongLink(link.replace(/sign=[0-9A-F]+/, 'sign=XYZ'), KEY)).toMatch(
      /sign does not match/,
    );
    expect(verifyNativeLongLink(link, '')).toMatch(/sign does not match/);
  });

  it('refuses what is not a signed mode-1 link, never throwing', () => {
    expect(verifyNativeLongLink('weixin://wxpay/bizpayurl?pr=abc', KEY)).toMatch(/mode-2/);
    expect(verifyNativeLongLink('http://x', KEY)).toMatch(/not a WeChat Pay Native link/);
    const parsed = parseNativeLongLink(link) as Extract<NativeLink, { mode: 1 }>;
    const withParams = (fields: Record<string, string>) => {
      const params = { ...parsed.params, ...fields };
      return {
        ...parsed,
        params,
        timeStamp: params.time_stamp!,
        productId: params.product_id!,
        nonceStr: params.nonce_str!,
      };
    };
    expect(verifyNativeLongLink(withParams({ time_stamp: '1764547200000' }), KEY)).toMatch(/time_stamp/);
    expect(verifyNativeLongLink(withParams({ product_id: 'x'.repeat(40) }), KEY)).toMatch(/product_id/);
    expect(verifyNativeLongLink(withParams({ nonce_str: 'n-n' }), KEY)).toMatch(/nonce_str/);
    // Fields that disagree with the signed parameters (a caller trusting productId) are refused.
    expect(verifyNativeLongLink({ ...parsed, productId: 'ord_other' }, KEY)).toMatch(
      /do not match its signed/,
    );
    expect(verifyNativeLongLink({ ...parsed, appId: 'wxother' }, KEY)).toMatch(/do not match its signed/);
  });
});

const SCAN_OPTS = { key: KEY, appId: APPID, mchId: MCHID };
const SCAN = {
  appId: APPID,
  mchId: MCHID,
  key: KEY,
  openid: 'o2mFX5Yg5KwZ0CwRXzWdPZkkB7Zc',
  productId: 'ord_01HZX4',
  nonceStr: 'Gx1s0ZgjUDVh0qV6',
};

/** A scan body with chosen fields, signed (or not) like WeChat's. */
function scanXml(fields: Record<string, string | undefined>, key = KEY): string {
  const map: Record<string, string | undefined> = {
    appid: APPID,
    openid: SCAN.openid,
    mch_id: MCHID,
    is_subscribe: 'N',
    nonce_str: SCAN.nonceStr,
    product_id: SCAN.productId,
    ...fields,
  };
  map.sign = signV2(map, key);
  return buildXml(map);
}

describe('buildNativeScanXml / verifyNativeScan', () => {
  it('builds the scan WeChat posts (seven fields, signed) and verifies it from a string or a Buffer', () => {
    const xml = buildNativeScanXml({ ...SCAN, isSubscribe: true });
    const raw = parseXml(xml);
    expect(Object.keys(raw)).toEqual([
      'appid',
      'openid',
      'mch_id',
      'is_subscribe',
      'nonce_str',
      'product_id',
      'sign',
    ]);
    const hand =
      `appid=${APPID}&is_subscribe=Y&mch_id=${MCHID}&nonce_str=${SCAN.nonceStr}&openid=${SCAN.openid}` +
      `&product_id=ord_01HZX4&key=${KEY}`;
    expect(raw.sign).toBe(createHash('md5').update(hand).digest('hex').toUpperCase());
    const expected = {
      appId: APPID,
      mchId: MCHID,
      openid: SCAN.openid,
      productId: 'ord_01HZX4',
      isSubscribe: true,
      nonceStr: SCAN.nonceStr,
    };
    expect(verifyNativeScan(xml, SCAN_OPTS)).toMatchObject(expected);
    expect(verifyNativeScan(Buffer.from(xml), SCAN_OPTS)).toMatchObject(expected);
    expect(verifyNativeScan(buildNativeScanXml(SCAN), SCAN_OPTS).isSubscribe).toBe(false);
    expect(buildNativeScanXml({ ...SCAN, nonceStr: undefined })).toMatch(/<nonce_str>[0-9A-Za-z]{32}</);
  });

  it('refuses an HMAC-SHA256 scan (MD5 only) and verifies fields it does not model (over the raw map)', () => {
    const map = parseXml(buildNativeScanXml(SCAN));
    const { sign: _md5, ...fields } = map;
    const hmac = buildXml({ ...fields, sign: signV2(fields, KEY, 'HMAC-SHA256') });
    expect(() => verifyNativeScan(hmac, SCAN_OPTS)).toThrow(/signature does not match/);
    const extra = scanXml({ device_info: 'WEB' });
    expect(verifyNativeScan(extra, SCAN_OPTS).raw.device_info).toBe('WEB');
  });

  it('throws the notification error classes: signature, merchant, fields', () => {
    expect(() => verifyNativeScan(scanXml({}, 'x'.repeat(32)), SCAN_OPTS)).toThrow(WechatPaySignatureError);
    expect(() => verifyNativeScan(scanXml({}).replace('ord_01HZX4', 'ord_01HZX5'), SCAN_OPTS)).toThrow(
      WechatPaySignatureError,
    );
    const unsigned = buildXml({ ...parseXml(scanXml({})), sign: undefined });
    expect(() => verifyNativeScan(unsigned, SCAN_OPTS)).toThrow(/not signed/);
    for (const fields of [{ appid: 'wxother' }, { mch_id: '1234' }]) {
      let error: unknown;
      try {
        verifyNativeScan(scanXml(fields), SCAN_OPTS);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(WechatPayInvalidRequestError);
      expect(error).toMatchObject({ code: 'MERCHANT_MISMATCH' });
    }
    for (const fields of [
      { openid: undefined },
      { product_id: '' },
      { nonce_str: undefined },
      { is_subscribe: 'yes' },
    ]) {
      expect(() => verifyNativeScan(scanXml(fields), SCAN_OPTS), JSON.stringify(fields)).toThrow(
        expect.objectContaining({ code: 'LACK_PARAMS' }),
      );
    }
    expect(() => verifyNativeScan(parseXml(scanXml({})), SCAN_OPTS)).toThrow(/raw request body/);
  });

  it('accepts any AppID bound to the merchant (a Set or a list)', () => {
    const other = 'wx0fa0ac0c0de5a4d1';
    const xml = scanXml({ appid: other });
    expect(verifyNativeScan(xml, { ...SCAN_OPTS, appId: new Set([APPID, other]) }).appId).toBe(other);
    expect(verifyNativeScan(xml, { ...SCAN_OPTS, appId: [APPID, other] }).appId).toBe(other);
    expect(() => verifyNativeScan(xml, { ...SCAN_OPTS, appId: new Set([APPID]) })).toThrow(/another appid/);
  });

  it('refuses hostile XML before looking at it: size cap, DOCTYPE, entities, nesting', () => {
    const big = scanXml({ attach: 'a'.repeat(2000) });
    expect(() => verifyNativeScan(big, { ...SCAN_OPTS, maxBytes: 1024 })).toThrow(WechatPayXmlError);
    expect(() => verifyNativeScan('x'.repeat(65 * 1024), SCAN_OPTS)).toThrow(WechatPayXmlError);
    const bomb =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>' +
      '<xml><openid>&lol2;</openid></xml>';
    expect(() => verifyNativeScan(bomb, SCAN_OPTS)).toThrow(WechatPayXmlError);
    const xxe = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><openid>&e;</openid></xml>';
    expect(() => verifyNativeScan(xxe, SCAN_OPTS)).toThrow(WechatPayXmlError);
    expect(() => verifyNativeScan('<xml><openid><a>1</a></openid></xml>', SCAN_OPTS)).toThrow(
      WechatPayXmlError,
    );
    expect(() => verifyNativeScan(Buffer.from([0x3c, 0xff, 0xfe]), SCAN_OPTS)).toThrow(WechatPayXmlError);
  });
});

describe('nativeScanReplyXml / parseNativeScanReply', () => {
  const merchant = { appId: APPID, mchId: MCHID, key: KEY };

  it('SUCCESS with the prepay_id, signed over every field, read back as WeChat does', () => {
    const xml = nativeScanReplyXml({
      ...merchant,
      prepayId: 'wx201410272009395522657a690389285100',
      nonceStr: 'abc',
    });
    const raw = parseXml(xml);
    expect(raw).toMatchObject({
      return_code: 'SUCCESS',
      appid: APPID,
      mch_id: MCHID,
      nonce_str: 'abc',
      prepay_id: 'wx201410272009395522657a690389285100',
      result_code: 'SUCCESS',
    });
    expect(raw.err_code_des).toBeUndefined();
    const hand =
      `appid=${APPID}&mch_id=${MCHID}&nonce_str=abc&prepay_id=wx201410272009395522657a690389285100` +
      `&result_code=SUCCESS&return_code=SUCCESS&key=${KEY}`;
    expect(raw.sign).toBe(createHash('md5').update(hand).digest('hex').toUpperCase());
    expect(parseNativeScanReply(xml, KEY, { appId: APPID, mchId: MCHID })).toMatchObject({
      resultCode: 'SUCCESS',
      prepayId: 'wx201410272009395522657a690389285100',
    });
  });

  it('FAIL with err_code_des (XML-safe, at most 128 characters), signed MD5', () => {
    const xml = nativeScanReplyXml({ ...merchant, errCodeDes: '订单已支付' });
    expect(parseXml(xml).sign).toHaveLength(32);
    expect(parseXml(xml)).toMatchObject({
      return_code: 'SUCCESS',
      result_code: 'FAIL',
      err_code_des: '订单已支付',
    });
    expect(parseXml(xml).prepay_id).toBeUndefined();
    expect(parseNativeScanReply(xml, KEY)).toMatchObject({ resultCode: 'FAIL', errCodeDes: '订单已支付' });
    const long = parseNativeScanReply(nativeScanReplyXml({ ...merchant, errCodeDes: '长'.repeat(300) }), KEY);
    expect(long.resultCode === 'FAIL' && [...long.errCodeDes]).toHaveLength(128);
    const odd = parseNativeScanReply(nativeScanReplyXml({ ...merchant, errCodeDes: 'bad \u0000 byte' }), KEY);
    expect(odd.resultCode === 'FAIL' && odd.errCodeDes).toBe('bad \uFFFD byte');
    expect(() => nativeScanReplyXml({ ...merchant, prepayId: '' })).toThrow(TypeError);
    expect(() => nativeScanReplyXml({ ...merchant, appId: '', prepayId: 'wx1' })).toThrow(TypeError);
  });

  it('refuses a tampered, unsigned, foreign, FAIL or incomplete reply', () => {
    const good = nativeScanReplyXml({ ...merchant, prepayId: 'wx1' });
    expect(() => parseNativeScanReply(good.replace('wx1', 'wx2'), KEY)).toThrow(WechatPaySignatureError);
    expect(() => parseNativeScanReply(good, 'x'.repeat(32))).toThrow(WechatPaySignatureError);
    expect(() => parseNativeScanReply(buildXml({ ...parseXml(good), sign: undefined }), KEY)).toThrow(
      /not signed/,
    );
    expect(() => parseNativeScanReply(good, KEY, { appId: 'wxother' })).toThrow(
      expect.objectContaining({ code: 'MERCHANT_MISMATCH' }),
    );
    expect(() => parseNativeScanReply(good, KEY, { mchId: '1' })).toThrow(/another appid or mch_id/);
    expect(() => parseNativeScanReply(returnFailXml('system busy'), KEY)).toThrow(
      expect.objectContaining({ code: 'FAIL', message: expect.stringMatching(/system busy/) }),
    );
    const signed = (fields: Record<string, string>) => {
      const map: Record<string, string> = { return_code: 'SUCCESS', appid: APPID, mch_id: MCHID, ...fields };
      return buildXml({ ...map, sign: signV2(map, KEY) });
    };
    expect(() => parseNativeScanReply(signed({ result_code: 'SUCCESS' }), KEY)).toThrow(
      expect.objectContaining({ code: 'BAD_REPLY' }),
    );
    expect(() => parseNativeScanReply(signed({ result_code: 'MAYBE' }), KEY)).toThrow(WechatPayError);
    expect(() => parseNativeScanReply('<!DOCTYPE x><xml/>', KEY)).toThrow(WechatPayXmlError);
  });
});

describe('exports', () => {
  it('the wechatpay barrel carries the Native helpers', () => {
    for (const name of [
      'nativeLongLink',
      'parseNativeLongLink',
      'verifyNativeLongLink',
      'verifyNativeScan',
      'buildNativeScanXml',
      'nativeScanReplyXml',
      'parseNativeScanReply',
      'h5SceneInfo',
    ]) {
      expect(wechatpay, name).toHaveProperty(name);
    }
  });
});
