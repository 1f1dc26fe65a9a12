import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildXml, createNonce, signV2, verifyV2 } from '@mp-pay/shared/wechatpay';
import type { RunningSandbox } from '../src/index.ts';
import { callV2, DEMO, loginCode, orderFields, postXml, sandbox } from './helpers.ts';

/** A second app/merchant pair the sandbox knows, to tell "unknown" from "not bound together". */
const OTHER = {
  appId: 'wx0000000000000002',
  secret: 'otherAppSecret000000000000000002',
  mchId: '1900000202',
  key: 'otherMerchantKey0000000000000002',
};

let sb: RunningSandbox;
let openid: string;
beforeAll(async () => {
  sb = await sandbox({ extraAccounts: [OTHER] });
  openid = (await loginCode(sb)).openid;
});
afterAll(() => sb.close());

const query = { out_trade_no: 'T1' };

describe('transport-level failures: return_code=FAIL, unsigned', () => {
  it('refuses GET', async () => {
    const res = await fetch(`${sb.url}/pay/orderquery`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(buildXml({ return_code: 'FAIL', return_msg: '请使用post方法' }));
  });

  it.each([
    ['an empty body', '', 'post数据为空'],
    ['whitespace', '  \n ', 'post数据为空'],
    ['malformed XML', '<xml><appid>1</xml>', 'XML格式错误'],
    [
      'a DOCTYPE (XXE attempt)',
      '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><a>&e;</a></xml>',
      'XML格式错误',
    ],
    ['JSON', '{"appid":"wx"}', 'XML格式错误'],
    ['another root element', '<root><appid>x</appid></root>', 'XML格式错误'],
  ])('answers %s', async (_name, body, msg) => {
    expect(await postXml(sb, '/pay/unifiedorder', body)).toEqual({ return_code: 'FAIL', return_msg: msg });
  });

  it('refuses a body that is not UTF-8', async () => {
    const gbk = Buffer.concat([
      Buffer.from('<xml><body>'),
      Buffer.from([0xc9, 0xcc, 0xc6, 0xb7]),
      Buffer.from('</body></xml>'),
    ]);
    expect(await postXml(sb, '/pay/unifiedorder', gbk)).toEqual({
      return_code: 'FAIL',
      return_msg: '编码格式错误，请使用UTF-8编码',
    });
  });

  it('refuses an oversized body', async () => {
    const reply = await postXml(sb, '/pay/orderquery', `<xml><a>${'x'.repeat(40_000)}</a></xml>`);
    expect(reply).toEqual({ return_code: 'FAIL', return_msg: 'post数据过大' });
  });

  it.each(['appid', 'mch_id', 'nonce_str'])('names a missing %s', async (field) => {
    const params: Record<string, string> = {
      appid: DEMO.appId,
      mch_id: DEMO.mchId,
      nonce_str: createNonce(),
      ...query,
    };
    delete params[field];
    params.sign = signV2(params, DEMO.key);
    expect(await postXml(sb, '/pay/orderquery', buildXml(params))).toEqual({
      return_code: 'FAIL',
      return_msg: `缺少参数${field}`,
    });
  });

  it('names a missing sign', async () => {
    expect(await callV2(sb, '/pay/orderquery', query, { sign: false })).toEqual({
      return_code: 'FAIL',
      return_msg: '缺少参数sign',
    });
  });

  it.each(['body', 'out_trade_no', 'total_fee', 'spbill_create_ip', 'notify_url', 'trade_type'])(
    'names a missing unifiedorder field: %s',
    async (field) => {
      const fields: Record<string, string | number> = orderFields(openid, 'https://merchant.example/notify');
      delete fields[field];
      expect(await callV2(sb, '/pay/unifiedorder', fields)).toEqual({
        return_code: 'FAIL',
        return_msg: `缺少参数${field}`,
      });
    },
  );

  it('names a missing out_trade_no on closeorder, and a missing reference on orderquery', async () => {
    expect((await callV2(sb, '/pay/closeorder', {})).return_msg).toBe('缺少参数out_trade_no');
    expect((await callV2(sb, '/pay/orderquery', {})).return_msg).toBe('缺少参数out_trade_no或transaction_id');
  });

  describe('signatures', () => {
    it('answers 签名错误 for a wrong key, both sign types', async () => {
      for (const signType of ['MD5', 'HMAC-SHA256'] as const) {
        const reply = await callV2(sb, '/pay/orderquery', query, { signType, key: 'x'.repeat(32) });
        expect(reply).toEqual({ return_code: 'FAIL', return_msg: '签名错误' });
      }
    });

    it('answers 签名错误 for a tampered field', async () => {
      const params = { appid: DEMO.appId, mch_id: DEMO.mchId, nonce_str: createNonce(), out_trade_no: 'A1' };
      const sign = signV2(params, DEMO.key);
      const reply = await postXml(sb, '/pay/orderquery', buildXml({ ...params, out_trade_no: 'A2', sign }));
      expect(reply.return_msg).toBe('签名错误');
    });

    it('checks the declared sign type, not the signature length: HMAC without sign_type is 签名错误', async () => {
      const params = { appid: DEMO.appId, mch_id: DEMO.mchId, nonce_str: createNonce(), ...query };
      const sign = signV2(params, DEMO.key, 'HMAC-SHA256');
      expect((await postXml(sb, '/pay/orderquery', buildXml({ ...params, sign }))).return_msg).toBe(
        '签名错误',
      );
    });

    it('does not accept a lower-case signature', async () => {
      const params = { appid: DEMO.appId, mch_id: DEMO.mchId, nonce_str: createNonce(), ...query };
      const sign = signV2(params, DEMO.key).toLowerCase();
      expect((await postXml(sb, '/pay/orderquery', buildXml({ ...params, sign }))).return_msg).toBe(
        '签名错误',
      );
    });

    it('refuses an unknown sign_type', async () => {
      const params = {
        appid: DEMO.appId,
        mch_id: DEMO.mchId,
        nonce_str: createNonce(),
        sign_type: 'SHA1',
        ...query,
      };
      const reply = await postXml(
        sb,
        '/pay/orderquery',
        buildXml({ ...params, sign: signV2(params, DEMO.key) }),
      );
      expect(reply).toEqual({ return_code: 'FAIL', return_msg: 'sign_type参数错误' });
    });

    it('refuses a nonce_str over 32 characters', async () => {
      const reply = await callV2(sb, '/pay/orderquery', { ...query, nonce_str: 'n'.repeat(33) });
      expect(reply).toEqual({ return_code: 'FAIL', return_msg: 'nonce_str参数长度有误' });
    });

    it('signs replies with the sign type of the request', async () => {
      for (const signType of ['MD5', 'HMAC-SHA256'] as const) {
        const reply = await callV2(sb, '/pay/orderquery', query, { signType });
        expect(reply).toMatchObject({
          return_code: 'SUCCESS',
          result_code: 'FAIL',
          err_code: 'ORDERNOTEXIST',
        });
        expect(reply.sign).toHaveLength(signType === 'MD5' ? 32 : 64);
        expect(reply.sign_type).toBeUndefined();
        expect(verifyV2(reply, DEMO.key)).toBe(true);
      }
    });
  });

  describe('merchant and app', () => {
    it('refuses an unknown mch_id before looking at the signature', async () => {
      const reply = await callV2(sb, '/pay/orderquery', { ...query, mch_id: '1999999999' });
      expect(reply).toEqual({ return_code: 'FAIL', return_msg: '商户号mch_id或sub_mch_id不存在' });
    });

    it('answers APPID_NOT_EXIST for an unknown appid, signed', async () => {
      const reply = await callV2(sb, '/pay/orderquery', { ...query, appid: 'wx9999999999999999' });
      expect(reply).toMatchObject({
        result_code: 'FAIL',
        err_code: 'APPID_NOT_EXIST',
        appid: 'wx9999999999999999',
      });
      expect(verifyV2(reply, DEMO.key)).toBe(true);
    });

    it('answers APPID_MCHID_NOT_MATCH for an app bound to another merchant', async () => {
      const reply = await callV2(sb, '/pay/orderquery', { ...query, appid: OTHER.appId });
      expect(reply).toMatchObject({
        result_code: 'FAIL',
        err_code: 'APPID_MCHID_NOT_MATCH',
        err_code_des: 'appid和mch_id不匹配',
      });
      expect(verifyV2(reply, DEMO.key)).toBe(true);
    });

    it('serves the second merchant with its own key', async () => {
      const reply = await callV2(
        sb,
        '/pay/orderquery',
        { ...query, appid: OTHER.appId, mch_id: OTHER.mchId },
        { key: OTHER.key },
      );
      expect(reply).toMatchObject({ err_code: 'ORDERNOTEXIST', mch_id: OTHER.mchId });
      expect(verifyV2(reply, OTHER.key)).toBe(true);
      expect(verifyV2(reply, DEMO.key)).toBe(false);
    });
  });
});

describe('the sandbox’s own endpoints', () => {
  it('answers unknown paths with a JSON 404', async () => {
    const res = await fetch(`${sb.url}/pay/refund`, { method: 'POST' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'NOT_FOUND' });
  });

  it('reports health without secrets', async () => {
    const text = await (await fetch(`${sb.url}/sandbox/health`)).text();
    expect(JSON.parse(text)).toEqual({ ok: true, appid: DEMO.appId, mch_id: DEMO.mchId });
    expect(text).not.toContain(DEMO.key);
  });
});
