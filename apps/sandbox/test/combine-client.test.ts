/**
 * Combine payments driven by @mp-pay/shared's own WechatPayV3Client (combinePrepay, queryCombine, closeCombine)
 * against the sandbox, and the v3 bills of the sub-order merchants: a paid sub-order is a trade of its own
 * merchant's day. Its own sandbox, because the bill step moves the sandbox clock forward.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  combineFullyPaid,
  createOutTradeNo,
  SANDBOX_DEMO_V3,
  V3KeySet,
  WechatPayV3Client,
  WechatPayV3OrderPaidError,
  type CombinePrepayRequest,
} from '@mp-pay/shared/wechatpay';
import { beijingDay, billReadyAt } from '../src/bills/calendar.ts';
import type { RunningSandbox } from '../src/index.ts';
import { DEMO, loginCode, postJson, sandbox } from './helpers.ts';
import { rsaPayParams, SUB1, SUB2 } from './v3-helpers.ts';

const V3 = SANDBOX_DEMO_V3;

let sb: RunningSandbox;
beforeAll(async () => {
  sb = await sandbox();
});
afterAll(() => sb.close());

function client(merchant: { mchId: string; mchCertSerial: string; mchPrivateKey: string }) {
  return new WechatPayV3Client({
    mchId: merchant.mchId,
    serialNo: merchant.mchCertSerial,
    privateKey: merchant.mchPrivateKey,
    keys: new V3KeySet().addPublicKey(V3.platformPublicKeyId, V3.platformPublicKey),
    baseUrl: sb.url,
  });
}
const main = () =>
  client({ mchId: DEMO.mchId, mchCertSerial: V3.mchCertSerial, mchPrivateKey: V3.mchPrivateKey });

async function request(): Promise<CombinePrepayRequest> {
  const { openid } = await loginCode(sb, 'combine-client');
  return {
    combineAppid: DEMO.appId,
    combineOutTradeNo: createOutTradeNo(),
    notifyUrl: 'http://127.0.0.1:9/unused',
    payerOpenid: openid,
    subOrders: [
      {
        mchid: DEMO.mchId,
        outTradeNo: createOutTradeNo(),
        description: '主店商品',
        amountFen: 700,
        attach: 'main',
      },
      {
        mchid: SUB1.mchId,
        outTradeNo: createOutTradeNo(),
        description: '分店一',
        amountFen: 300,
        attach: 'sub1',
      },
      {
        mchid: SUB2.mchId,
        outTradeNo: createOutTradeNo(),
        description: '分店二',
        amountFen: 5,
        attach: 'sub2',
      },
    ],
  };
}

describe('WechatPayV3Client combine calls against the sandbox', () => {
  let paid: CombinePrepayRequest;

  it('combinePrepay → pay → queryCombine reads every sub-order SUCCESS; closeCombine is then ORDER_PAID', async () => {
    paid = await request();
    const { prepayId } = await main().combinePrepay('jsapi', paid);
    expect((await postJson(`${sb.url}/sandbox/pay`, rsaPayParams(prepayId))).json.errMsg).toBe(
      'requestPayment:ok',
    );
    const combine = await main().queryCombine(paid.combineOutTradeNo);
    expect(combineFullyPaid(combine)).toBe(true);
    expect(combine.subOrders.map((s) => [s.mchid, s.amount.totalAmount, s.attach])).toEqual([
      [DEMO.mchId, 700, 'main'],
      [SUB1.mchId, 300, 'sub1'],
      [SUB2.mchId, 5, 'sub2'],
    ]);
    // The sub-order, queried by its merchant with the same client class.
    const single = await client(SUB1).queryByOutTradeNo(paid.subOrders[1]?.outTradeNo ?? '');
    expect(single).toMatchObject({ mchid: SUB1.mchId, tradeState: 'SUCCESS', amount: { total: 300 } });
    expect(single.transactionId).toBe(combine.subOrders[1]?.transactionId);
    await expect(
      main().closeCombine(
        paid.combineOutTradeNo,
        DEMO.appId,
        paid.subOrders.map((s) => ({ mchid: s.mchid, outTradeNo: s.outTradeNo })),
      ),
    ).rejects.toBeInstanceOf(WechatPayV3OrderPaidError);
  });

  it('h5 and native through the client; an unpaid combine closes with 204', async () => {
    const { payerOpenid: _openid, ...base } = await request();
    const h5 = await main().combinePrepay('h5', {
      ...base,
      payerClientIp: '203.0.113.9',
      h5Info: { type: 'Wap' },
    });
    expect(h5.h5Url).toContain('/cgi-bin/mmpayweb-bin/checkmweb?');
    const next = await request();
    const { payerOpenid: _o, ...nativeReq } = next;
    const native = await main().combinePrepay('native', { ...nativeReq, payerClientIp: '203.0.113.9' });
    expect(native.codeUrl).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=/);
    await main().closeCombine(
      next.combineOutTradeNo,
      DEMO.appId,
      next.subOrders.map((s) => ({ mchid: s.mchid, outTradeNo: s.outTradeNo })),
    );
    const closed = await main().queryCombine(next.combineOutTradeNo);
    expect(closed.subOrders.map((s) => s.tradeState)).toEqual(['CLOSED', 'CLOSED', 'CLOSED']);
  });

  it("v3 bills list each paid sub-order in its own merchant's bill only", async () => {
    const clockRes = await fetch(`${sb.url}/sandbox/clock`);
    const now = Date.parse(((await clockRes.json()) as { now: string }).now);
    const day = beijingDay(now);
    await postJson(`${sb.url}/sandbox/clock`, { advance_ms: billReadyAt(day) + 1000 - now });
    const billDate = `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6)}`;
    const bill = async (c: WechatPayV3Client) => {
      const meta = await c.tradeBill({ billDate, billType: 'ALL' });
      return (await c.downloadBillFile(meta.downloadUrl, meta.hashValue)).toString('utf8');
    };
    const [mainBill, sub1Bill, sub2Bill] = [
      await bill(main()),
      await bill(client(SUB1)),
      await bill(client(SUB2)),
    ];
    const [mine, first, second] = paid.subOrders.map((s) => s.outTradeNo) as [string, string, string];
    expect(mainBill).toContain(mine);
    expect(mainBill).not.toContain(first);
    expect(sub1Bill).toContain(first);
    expect(sub1Bill).toContain(SUB1.mchId);
    expect(sub1Bill).not.toContain(mine);
    expect(sub2Bill).toContain(second);
    expect(sub2Bill).toContain('0.05');
  });
});
