import { describe, expect, it } from 'vitest';
import { APIV2_KEY_RULE, APP_SECRET_RULE, APPID_RULE, MCH_ID_RULE } from '@mp-pay/shared/core';
import { SANDBOX_DEMO } from '@mp-pay/shared/wechatpay';
import { loadSandboxConfig, SandboxConfigError, startSandbox } from '../src/index.ts';
import { Faults } from '../src/faults.ts';
import { MAX_PREPAY_IDS_PER_ORDER } from '../src/pay/orders.ts';
import { BoundedMap } from '../src/state.ts';
import { callV2, inspect, loginCode, orderFields, pay, postJson } from './helpers.ts';

describe('loadSandboxConfig', () => {
  it('falls back to the demo credentials, port 4010 and real time', () => {
    const config = loadSandboxConfig({});
    expect(config).toMatchObject({
      ...SANDBOX_DEMO,
      port: 4010,
      timeScale: 1,
      closeMinAgeMs: 300_000,
      unionId: false,
    });
  });

  it('reads the variables shared with the server', () => {
    const config = loadSandboxConfig({
      WECHAT_APPID: 'wxd930ea5d5a258f4f',
      WECHAT_SECRET: 'a'.repeat(32),
      WECHATPAY_MCHID: '10000100',
      WECHATPAY_KEY: '192006250b4c09247ec02edce69f6a2d',
      SANDBOX_PORT: '5001',
      SANDBOX_TIME_SCALE: '60',
      SANDBOX_CLOSE_MIN_AGE_MS: '0',
      SANDBOX_UNIONID: 'true',
      UNRELATED: 'x',
    });
    expect(config).toMatchObject({
      appId: 'wxd930ea5d5a258f4f',
      mchId: '10000100',
      key: '192006250b4c09247ec02edce69f6a2d',
      port: 5001,
      timeScale: 60,
      closeMinAgeMs: 0,
      unionId: true,
    });
  });

  it('treats empty variables as unset', () => {
    expect(loadSandboxConfig({ WECHATPAY_KEY: '  ', SANDBOX_PORT: '' })).toMatchObject({
      key: SANDBOX_DEMO.key,
      port: 4010,
    });
  });

  it('lists every problem with the variable to fix', () => {
    let error: unknown;
    try {
      loadSandboxConfig({
        WECHATPAY_KEY: 'short',
        WECHAT_APPID: 'not-an-appid',
        SANDBOX_TIME_SCALE: '0.5',
        SANDBOX_PORT: '70000',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SandboxConfigError);
    const message = (error as Error).message;
    for (const name of ['WECHATPAY_KEY', 'WECHAT_APPID', 'SANDBOX_TIME_SCALE', 'SANDBOX_PORT'])
      expect(message).toContain(name);
    expect(message).toContain('.env.example');
    expect(message).not.toContain('short'); // values, which may be secrets, are not echoed
  });

  it("words credential problems with the rules shared with the server's config", () => {
    const env = { WECHAT_APPID: 'wx123', WECHAT_SECRET: 's', WECHATPAY_MCHID: '123', WECHATPAY_KEY: 'k' };
    const message = (() => {
      try {
        loadSandboxConfig(env);
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    })();
    for (const rule of [APPID_RULE, APP_SECRET_RULE, MCH_ID_RULE, APIV2_KEY_RULE])
      expect(message).toContain(rule.message);
  });

  it.each([
    [{ SANDBOX_PORT: 'abc' }, 'SANDBOX_PORT'],
    [{ SANDBOX_UNIONID: 'maybe' }, 'SANDBOX_UNIONID'],
  ])('refuses unparseable values %j', (env, name) => {
    expect(() => loadSandboxConfig(env)).toThrow(new RegExp(name));
  });
});

describe('startSandbox', () => {
  it('listens on a free port with port 0 and closes idempotently', async () => {
    const sb = await startSandbox({ port: 0 });
    expect(sb.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sb.config.port).toBe(Number(new URL(sb.url).port));
    expect((await fetch(`${sb.url}/sandbox/health`)).status).toBe(200);
    await Promise.all([sb.close(), sb.close()]);
    await expect(fetch(`${sb.url}/sandbox/health`)).rejects.toThrow();
  });

  it('validates programmatic options too', async () => {
    await expect(startSandbox({ port: 0, key: 'short' })).rejects.toBeInstanceOf(SandboxConfigError);
  });
});

describe('bounded state', () => {
  it('evicts the oldest entries first', () => {
    const evicted: string[] = [];
    const map = new BoundedMap<string, number>(2, (k) => evicted.push(k));
    map.set('a', 1).set('b', 2).set('a', 3).set('c', 4);
    expect([...map.keys()]).toEqual(['b', 'c']);
    expect(evicted).toEqual(['a']);
  });

  it('forgets the oldest orders and codes beyond the caps', async () => {
    const sb = await startSandbox({ port: 0, maxOrders: 2, maxCodes: 2 });
    try {
      const { openid } = await loginCode(sb);
      const nos: string[] = [];
      for (let i = 0; i < 3; i++) {
        const fields = orderFields(openid, 'https://merchant.example/n');
        expect((await callV2(sb, '/pay/unifiedorder', fields)).result_code).toBe('SUCCESS');
        nos.push(String(fields.out_trade_no));
      }
      const states = await Promise.all(
        nos.map(
          async (no) => (await callV2(sb, '/pay/orderquery', { out_trade_no: no })).err_code ?? 'FOUND',
        ),
      );
      expect(states).toEqual(['ORDERNOTEXIST', 'FOUND', 'FOUND']);

      const codes = [await loginCode(sb, 'u1'), await loginCode(sb, 'u2'), await loginCode(sb, 'u3')];
      const url = (code: string) =>
        `${sb.url}/sns/jscode2session?appid=${SANDBOX_DEMO.appId}&secret=${SANDBOX_DEMO.secret}&js_code=${code}&grant_type=authorization_code`;
      const first = (await (await fetch(url(codes[0]?.code ?? ''))).json()) as { errcode?: number };
      const last = (await (await fetch(url(codes[2]?.code ?? ''))).json()) as { openid?: string };
      expect(first.errcode).toBe(40029);
      expect(last.openid).toBe(codes[2]?.openid);
    } finally {
      await sb.close();
    }
  });
});

describe('bounded state under a client that loops', () => {
  it(`keeps the newest ${MAX_PREPAY_IDS_PER_ORDER} prepay_ids of an order re-submitted again and again`, async () => {
    const sb = await startSandbox({ port: 0 });
    try {
      const { openid } = await loginCode(sb);
      const fields = orderFields(openid, 'https://merchant.example/n');
      const prepayIds: string[] = [];
      for (let i = 0; i < MAX_PREPAY_IDS_PER_ORDER + 2; i++) {
        prepayIds.push(String((await callV2(sb, '/pay/unifiedorder', fields)).prepay_id));
      }
      const kept = (await inspect(sb, String(fields.out_trade_no))).prepay_ids as Array<{
        prepay_id: string;
      }>;
      expect(kept.map((p) => p.prepay_id)).toEqual(prepayIds.slice(2));
      expect((await pay(sb, { prepayId: prepayIds[0] ?? '', signType: 'MD5' })).json.errMsg).toBe(
        'requestPayment:fail prepay_id不存在',
      );
      expect((await pay(sb, { prepayId: prepayIds[2] ?? '', signType: 'MD5' })).json.errMsg).toBe(
        'requestPayment:ok',
      );
    } finally {
      await sb.close();
    }
  });

  it('caps the fault settings of merchants and apps, keys HTTP callers choose', () => {
    const faults = new Faults();
    for (let i = 0; i <= 1_000; i++) {
      faults.set({ mch_id: `m${i}` }, { slowReplyMs: 1 });
      faults.setLogin(`a${i}`, { slowReplyMs: 1 });
    }
    const listed = faults.list();
    expect(Object.keys(listed.merchants)).toHaveLength(1_000);
    expect(Object.keys(listed.apps)).toHaveLength(1_000);
    expect(faults.for('m0', undefined)).toEqual({});
    expect(faults.for('m1000', undefined)).toEqual({ slowReplyMs: 1 });
  });
});

describe('/sandbox/clock', () => {
  it('moves forward only, with a validated body', async () => {
    const sb = await startSandbox({ port: 0 });
    try {
      const before = (await (await fetch(`${sb.url}/sandbox/clock`)).json()) as { offset_ms: number };
      expect(before.offset_ms).toBe(0);
      const moved = await postJson(`${sb.url}/sandbox/clock`, { advance_ms: 90_000 });
      expect(moved).toMatchObject({ status: 200, json: { offset_ms: 90_000 } });
      expect((await postJson(`${sb.url}/sandbox/clock`, { advance_ms: -1 })).status).toBe(400);
      expect((await postJson(`${sb.url}/sandbox/clock`, { advance: 1 })).status).toBe(400);
    } finally {
      await sb.close();
    }
  });
});
