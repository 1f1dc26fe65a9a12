/**
 * Combine (合单) payments over HTTP. The prepay, query and close calls go through wechatpay-axios-plugin, an
 * independent client that signs requests and verifies every reply's signature itself; notifications are
 * verified and decrypted with node:crypto and the library's primitives. @mp-pay/shared's parser reads the
 * results too, so its shapes are checked against what the sandbox really sends.
 */
import { createVerify, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Formatter, Rsa } from 'wechatpay-axios-plugin';
import {
  combineFromNotificationV3,
  combineFullyPaid,
  createOutTradeNo,
  parseV3CombineTransaction,
  SANDBOX_DEMO_CHANNELS,
  V3KeySet,
  verifyV3Notification,
  type V3EncryptedResource,
} from '@mp-pay/shared/wechatpay';
import type { RunningSandbox } from '../src/index.ts';
import {
  libraryFailure as failure,
  libraryReadsV3Notification,
  libraryV3,
  type LibraryEndpoint,
} from './channel-helpers.ts';
import {
  DEMO,
  eventually,
  loginCode,
  postJson,
  type ReceivedNotification,
  useSandboxAndReceiver,
} from './helpers.ts';
import { callV3, decrypt, jsapiBody, queryPath, replySignatureOk, SUB1, SUB2, V3 } from './v3-helpers.ts';

const ctx = useSandboxAndReceiver();

interface CombineClient {
  combineTransactions: {
    jsapi: LibraryEndpoint;
    app: LibraryEndpoint;
    h5: LibraryEndpoint;
    native: LibraryEndpoint;
    outTradeNo: { _combine_out_trade_no_: LibraryEndpoint & { close: LibraryEndpoint } };
  };
}

/** The library's chained client, as the combine merchant (the main demo merchant) unless told otherwise. */
function library(sb: RunningSandbox, options: { privateKey?: string } = {}): CombineClient {
  return libraryV3<CombineClient>(sb, options);
}

let seq = 0;
const subNo = () => `SUB${Date.now()}${(seq++).toString().padStart(4, '0')}`;
const combineNo = () => `CMB${Date.now()}${(seq++).toString().padStart(4, '0')}`;

function combineBody(openid: string, overrides: Record<string, unknown> = {}) {
  return {
    combine_appid: DEMO.appId,
    combine_mchid: DEMO.mchId,
    combine_out_trade_no: combineNo(),
    scene_info: { device_id: 'POS1:001', payer_client_ip: '203.0.113.9' },
    sub_orders: [
      {
        mchid: DEMO.mchId,
        attach: '主店',
        amount: { total_amount: 1000, currency: 'CNY' },
        out_trade_no: subNo(),
        description: '合单商品 A',
      },
      {
        mchid: SUB1.mchId,
        attach: 'shop 1 & "quotes"',
        amount: { total_amount: 250, currency: 'CNY' },
        out_trade_no: subNo(),
        description: '合单商品 B',
      },
      {
        mchid: SUB2.mchId,
        attach: 'shop 2',
        amount: { total_amount: 1, currency: 'CNY' },
        out_trade_no: subNo(),
        description: '合单商品 C',
      },
    ],
    combine_payer_info: { openid },
    notify_url: ctx.receiver.url,
    ...overrides,
  };
}

type CombineBody = ReturnType<typeof combineBody>;

/** wx.requestPayment for a combine: RSA over the combine AppID, signed with the library's Rsa. */
function payParams(prepayId: string, privateKey: string = V3.mchPrivateKey, appId: string = DEMO.appId) {
  const timeStamp = `${Formatter.timestamp()}`;
  const nonceStr = Formatter.nonce();
  const pkg = `prepay_id=${prepayId}`;
  const paySign = Rsa.sign(
    Formatter.joinedByLineFeed(appId, timeStamp, nonceStr, pkg),
    Rsa.from(privateKey, Rsa.KEY_TYPE_PRIVATE),
  );
  return { appId, timeStamp, nonceStr, package: pkg, signType: 'RSA', paySign };
}

async function placed(overrides: Record<string, unknown> = {}) {
  const { openid } = await loginCode(ctx.sb, 'combine-buyer');
  const body = combineBody(openid, overrides);
  const v3 = library(ctx.sb);
  const reply = await v3.combineTransactions.jsapi.post(body);
  expect(reply.status).toBe(200);
  return { body, openid, prepayId: String(reply.data.prepay_id), v3 };
}

/** The next notification for `combine_out_trade_no`, decrypted with node:crypto and the merchant's APIv3 key. */
function notificationsFor(
  no: string,
): Array<{ received: ReceivedNotification; resource: Record<string, unknown>; id: string }> {
  return ctx.receiver.received.flatMap((received) => {
    const envelope = JSON.parse(received.body) as { id: string; resource: V3EncryptedResource };
    const resource = JSON.parse(decrypt(envelope.resource)) as Record<string, unknown>;
    return resource.combine_out_trade_no === no ? [{ received, resource, id: envelope.id }] : [];
  });
}

function notificationSignatureOk(received: ReceivedNotification): boolean {
  const h = (name: string) => String(received.headers[name]);
  return createVerify('sha256')
    .update(`${h('wechatpay-timestamp')}\n${h('wechatpay-nonce')}\n${received.body}\n`)
    .verify(V3.platformPublicKey, h('wechatpay-signature'), 'base64');
}

async function v3Error(res: Promise<{ status: number; json: Record<string, unknown> }>) {
  const r = await res;
  return {
    status: r.status,
    code: r.json.code,
    field: (r.json.detail as { field?: string } | undefined)?.field,
  };
}

const post = (body: unknown, kind = 'jsapi', options = {}) =>
  callV3(ctx.sb, 'POST', `/v3/combine-transactions/${kind}`, body, options);

describe('combine: pay, notify, query, close (wechatpay-axios-plugin)', () => {
  it('pays every sub-order with one payment; one notification; query agrees; sub-orders are trades of their merchants', async () => {
    ctx.receiver.reply = () => ({ status: 204, body: '' });
    const { body, openid, prepayId, v3 } = await placed();
    expect(prepayId).toMatch(/^wx\d{14}[0-9a-f]{22}$/);

    const paid = await postJson(`${ctx.sb.url}/sandbox/pay`, payParams(prepayId));
    expect(paid).toEqual({ status: 200, json: { errMsg: 'requestPayment:ok' } });

    const [first] = await eventually(() => {
      const found = notificationsFor(body.combine_out_trade_no);
      return found.length > 0 ? found : undefined;
    });
    if (!first) throw new Error('no notification');
    // Verified two independent ways: node:crypto here, the library's Rsa and AesGcm below.
    expect(notificationSignatureOk(first.received)).toBe(true);
    const library_ = libraryReadsV3Notification(first.received);
    expect(library_.verified).toBe(true);
    expect(library_.envelope.event_type).toBe('TRANSACTION.SUCCESS');
    expect(library_.tx).toEqual(first.resource);
    const resource = first.resource;
    expect(resource).toMatchObject({
      combine_appid: DEMO.appId,
      combine_mchid: DEMO.mchId,
      combine_out_trade_no: body.combine_out_trade_no,
      scene_info: { device_id: 'POS1:001' },
      combine_payer_info: { openid },
    });
    const subs = resource.sub_orders as Array<Record<string, unknown>>;
    expect(subs).toHaveLength(3);
    for (const [i, sub] of subs.entries()) {
      const sent = body.sub_orders[i] as CombineBody['sub_orders'][number];
      expect(sub).toEqual({
        mchid: sent.mchid,
        trade_type: 'JSAPI',
        trade_state: 'SUCCESS',
        bank_type: 'OTHERS',
        attach: sent.attach,
        success_time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/) as unknown,
        transaction_id: expect.stringMatching(/^4200\d{24}$/) as unknown,
        out_trade_no: sent.out_trade_no,
        amount: {
          total_amount: sent.amount.total_amount,
          payer_amount: sent.amount.total_amount,
          currency: 'CNY',
          payer_currency: 'CNY',
        },
      });
    }
    expect(new Set(subs.map((s) => s.transaction_id)).size).toBe(3);
    const parsed = parseV3CombineTransaction(resource);
    expect(combineFullyPaid(parsed)).toBe(true);

    // One notification per combine: none for the sub-orders on their own.
    await new Promise((r) => setTimeout(r, 100));
    expect(notificationsFor(body.combine_out_trade_no)).toHaveLength(1);
    for (const sub of body.sub_orders) {
      const own = (await (
        await fetch(`${ctx.sb.url}/sandbox/orders/${sub.out_trade_no}?mch_id=${sub.mchid}`)
      ).json()) as { state: string; notifications: unknown[] };
      expect(own).toMatchObject({ state: 'SUCCESS', notifications: [] });
    }

    // The combine query, read and verified by the library, says what the notification said.
    const queried = await v3.combineTransactions.outTradeNo._combine_out_trade_no_.get({
      combine_out_trade_no: body.combine_out_trade_no,
    });
    expect(queried.status).toBe(200);
    expect(queried.data).toEqual(resource);

    // Each sub-order is a trade of its own merchant: the single-order query, signed by that merchant.
    const sub1 = body.sub_orders[1] as CombineBody['sub_orders'][number];
    const single = await callV3(ctx.sb, 'GET', queryPath(sub1.out_trade_no, SUB1.mchId), undefined, {
      mchId: SUB1.mchId,
      serial: SUB1.mchCertSerial,
      privateKey: SUB1.mchPrivateKey,
    });
    expect(single.status).toBe(200);
    expect(replySignatureOk(single)).toBe(true);
    expect(single.json).toMatchObject({
      appid: DEMO.appId,
      mchid: SUB1.mchId,
      out_trade_no: sub1.out_trade_no,
      trade_state: 'SUCCESS',
      transaction_id: subs[1]?.transaction_id,
      amount: { total: 250 },
      payer: { openid },
    });
    // The main merchant does not see another merchant's sub-order as its own.
    expect((await callV3(ctx.sb, 'GET', queryPath(sub1.out_trade_no))).status).toBe(404);

    // Inspection: the combine with its sub-orders, and the sub-order pointing back at it.
    const inspected = (await (
      await fetch(`${ctx.sb.url}/sandbox/combines/${body.combine_out_trade_no}`)
    ).json()) as Record<string, unknown>;
    expect(inspected).toMatchObject({
      combine_out_trade_no: body.combine_out_trade_no,
      combine_mchid: DEMO.mchId,
      kind: 'jsapi',
      acknowledged: true,
      payments: [{ outcome: 'success' }],
      notifications: [{ attempt: 1, kind: 'genuine', outcome: 'acknowledged', httpStatus: 204 }],
    });
    expect((inspected.sub_orders as Array<{ state: string }>).map((s) => s.state)).toEqual([
      'SUCCESS',
      'SUCCESS',
      'SUCCESS',
    ]);
    const order = (await (
      await fetch(`${ctx.sb.url}/sandbox/orders/${sub1.out_trade_no}?mch_id=${SUB1.mchId}`)
    ).json()) as Record<string, unknown>;
    expect(order).toMatchObject({
      combine_out_trade_no: body.combine_out_trade_no,
      combine_mch_id: DEMO.mchId,
    });
    const list = (await (await fetch(`${ctx.sb.url}/sandbox/combines`)).json()) as {
      combines: Array<{ combine_out_trade_no: string }>;
    };
    expect(list.combines[0]?.combine_out_trade_no).toBe(body.combine_out_trade_no);

    // Paid: paying again is refused, and so is closing (the library reads the signed 403).
    expect(await postJson(`${ctx.sb.url}/sandbox/pay`, payParams(prepayId))).toMatchObject({
      status: 409,
      json: { errMsg: 'requestPayment:fail 该订单已支付' },
    });
    const closed = await failure(
      v3.combineTransactions.outTradeNo._combine_out_trade_no_.close.post(
        {
          combine_appid: DEMO.appId,
          sub_orders: body.sub_orders.map((s) => ({ mchid: s.mchid, out_trade_no: s.out_trade_no })),
        },
        { combine_out_trade_no: body.combine_out_trade_no },
      ),
    );
    expect(closed.response).toMatchObject({ status: 403, data: { code: 'ORDER_PAID' } });
    // Placing the same combine again: paid.
    const again = await failure(v3.combineTransactions.jsapi.post(body));
    expect(again.response).toMatchObject({ status: 403, data: { code: 'ORDER_PAID' } });
  });

  it('refunds a sub-order through the ordinary v3 refund, by its own merchant; the combine query then reads REFUND', async () => {
    ctx.receiver.reply = () => ({ status: 204, body: '' });
    const { body, prepayId, v3 } = await placed();
    expect((await postJson(`${ctx.sb.url}/sandbox/pay`, payParams(prepayId))).status).toBe(200);
    const sub1 = body.sub_orders[1] as CombineBody['sub_orders'][number];
    const asSub1 = { mchId: SUB1.mchId, serial: SUB1.mchCertSerial, privateKey: SUB1.mchPrivateKey };
    const outRefundNo = `RF${subNo()}`;
    const refund = await callV3(
      ctx.sb,
      'POST',
      '/v3/refund/domestic/refunds',
      {
        out_trade_no: sub1.out_trade_no,
        out_refund_no: outRefundNo,
        amount: { refund: 100, total: 250, currency: 'CNY' },
      },
      asSub1,
    );
    expect(refund.status).toBe(200);
    expect(refund.json).toMatchObject({ out_trade_no: sub1.out_trade_no, status: 'PROCESSING' });
    await eventually(async () => {
      const r = await callV3(ctx.sb, 'GET', `/v3/refund/domestic/refunds/${outRefundNo}`, undefined, asSub1);
      return r.json.status === 'SUCCESS' ? r : undefined;
    });
    const queried = await v3.combineTransactions.outTradeNo._combine_out_trade_no_.get({
      combine_out_trade_no: body.combine_out_trade_no,
    });
    expect((queried.data.sub_orders as Array<{ trade_state: string }>).map((s) => s.trade_state)).toEqual([
      'SUCCESS',
      'REFUND',
      'SUCCESS',
    ]);
  });

  it('partial failure: fail_sub_order leaves that sub-order PAYERROR, the rest paid, one notification listing both', async () => {
    ctx.receiver.reply = () => ({ status: 204, body: '' });
    const { body, prepayId, v3 } = await placed();
    const failing = body.sub_orders[2] as CombineBody['sub_orders'][number];
    const refused = await postJson(`${ctx.sb.url}/sandbox/pay`, {
      ...payParams(prepayId),
      fail_sub_order: 'NOT_A_SUB_ORDER',
    });
    expect(refused.status).toBe(400);
    const paid = await postJson(`${ctx.sb.url}/sandbox/pay`, {
      ...payParams(prepayId),
      fail_sub_order: failing.out_trade_no,
    });
    expect(paid.status).toBe(200);
    expect(paid.json.errMsg).toBe('requestPayment:ok');
    expect(String(paid.json.hint)).toContain('partially paid');

    const [notice] = await eventually(() => {
      const found = notificationsFor(body.combine_out_trade_no);
      return found.length > 0 ? found : undefined;
    });
    if (!notice) throw new Error('no notification');
    expect(notificationSignatureOk(notice.received)).toBe(true);
    const subs = notice.resource.sub_orders as Array<Record<string, unknown>>;
    expect(subs.map((s) => s.trade_state)).toEqual(['SUCCESS', 'SUCCESS', 'PAYERROR']);
    expect(subs[2]).toEqual({
      mchid: SUB2.mchId,
      trade_type: 'JSAPI',
      trade_state: 'PAYERROR',
      attach: 'shop 2',
      out_trade_no: failing.out_trade_no,
      amount: { total_amount: 1, currency: 'CNY' },
    });
    const parsed = parseV3CombineTransaction(notice.resource);
    expect(combineFullyPaid(parsed)).toBe(false);
    // The shared verifier and typed view accept the real notification (a partly paid combine is still news).
    const verified = verifyV3Notification(notice.received.body, notice.received.headers, {
      apiV3Key: V3.apiV3Key,
      keys: new V3KeySet().addPublicKey(V3.platformPublicKeyId, V3.platformPublicKey),
    });
    expect(combineFromNotificationV3(verified)).toMatchObject({
      combineOutTradeNo: body.combine_out_trade_no,
      subOrders: [{ tradeState: 'SUCCESS' }, { tradeState: 'SUCCESS' }, { tradeState: 'PAYERROR' }],
    });
    expect(parsed.subOrders[2]).toMatchObject({ tradeState: 'PAYERROR', transactionId: '' });

    const queried = await v3.combineTransactions.outTradeNo._combine_out_trade_no_.get({
      combine_out_trade_no: body.combine_out_trade_no,
    });
    expect(queried.data).toEqual(notice.resource);
    const single = await callV3(ctx.sb, 'GET', queryPath(failing.out_trade_no, SUB2.mchId), undefined, {
      mchId: SUB2.mchId,
      serial: SUB2.mchCertSerial,
      privateKey: SUB2.mchPrivateKey,
    });
    expect(single.json).toMatchObject({ trade_state: 'PAYERROR' });
  });

  it('closes an unpaid combine: every sub-order listed → 204, all CLOSED, no longer payable', async () => {
    const { body, prepayId, v3 } = await placed();
    const subs = body.sub_orders.map((s) => ({ mchid: s.mchid, out_trade_no: s.out_trade_no }));
    const path = { combine_out_trade_no: body.combine_out_trade_no };
    const close = v3.combineTransactions.outTradeNo._combine_out_trade_no_.close;

    const partial = await failure(close.post({ combine_appid: DEMO.appId, sub_orders: subs.slice(1) }, path));
    expect(partial.response).toMatchObject({ status: 400, data: { code: 'PARAM_ERROR' } });
    const noAppid = await failure(close.post({ sub_orders: subs }, path));
    expect(noAppid.response).toMatchObject({ status: 400, data: { code: 'PARAM_ERROR' } });
    const unknown = await failure(
      close.post({ combine_appid: DEMO.appId, sub_orders: subs }, { combine_out_trade_no: 'NOSUCHCOMBINE' }),
    );
    expect(unknown.response).toMatchObject({ status: 404, data: { code: 'ORDER_NOT_EXIST' } });

    const closed = await close.post({ combine_appid: DEMO.appId, sub_orders: subs }, path);
    expect(closed.status).toBe(204);
    expect((await close.post({ combine_appid: DEMO.appId, sub_orders: subs }, path)).status).toBe(204);
    const queried = await v3.combineTransactions.outTradeNo._combine_out_trade_no_.get(path);
    expect((queried.data.sub_orders as Array<{ trade_state: string }>).map((s) => s.trade_state)).toEqual([
      'CLOSED',
      'CLOSED',
      'CLOSED',
    ]);
    expect(await postJson(`${ctx.sb.url}/sandbox/pay`, payParams(prepayId))).toMatchObject({
      status: 409,
      json: { errMsg: 'requestPayment:fail 订单已关闭' },
    });
    const reopened = await failure(v3.combineTransactions.jsapi.post(body));
    expect(reopened.response).toMatchObject({ status: 400, data: { code: 'ORDER_CLOSED' } });
  });

  it('cancel leaves every sub-order NOTPAY and payable; a paySign over another key is refused', async () => {
    const { body, prepayId } = await placed();
    expect(
      (await postJson(`${ctx.sb.url}/sandbox/pay`, { ...payParams(prepayId), outcome: 'cancel' })).json,
    ).toEqual({
      errMsg: 'requestPayment:fail cancel',
    });
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string;
    const forged = await postJson(`${ctx.sb.url}/sandbox/pay`, payParams(prepayId, stranger));
    expect(forged).toMatchObject({ status: 400, json: { errMsg: 'requestPayment:fail 支付验证签名失败' } });
    // Signed by a sub-merchant's key: the combine is paid under the combine merchant's certificate only.
    const bySub = await postJson(`${ctx.sb.url}/sandbox/pay`, payParams(prepayId, SUB1.mchPrivateKey));
    expect(bySub.status).toBe(400);
    const other = await postJson(
      `${ctx.sb.url}/sandbox/pay`,
      payParams(prepayId, V3.mchPrivateKey, SANDBOX_DEMO_CHANNELS.officialAccount.appId),
    );
    expect(other).toMatchObject({
      status: 400,
      json: { errMsg: 'requestPayment:fail 调用支付的appid与下单appid不一致' },
    });
    const queried = await callV3(
      ctx.sb,
      'GET',
      `/v3/combine-transactions/out-trade-no/${body.combine_out_trade_no}`,
    );
    expect((queried.json.sub_orders as Array<{ trade_state: string }>).map((s) => s.trade_state)).toEqual([
      'NOTPAY',
      'NOTPAY',
      'NOTPAY',
    ]);
  });

  it('app, h5 and native combines answer prepay_id, h5_url and code_url; query works for each', async () => {
    const v3 = library(ctx.sb);
    const { openid } = await loginCode(ctx.sb, 'combine-buyer');
    const { combine_payer_info: _payer, ...base } = combineBody(openid);
    const app = await v3.combineTransactions.app.post({
      ...combineBody(openid, { combine_appid: SANDBOX_DEMO_CHANNELS.app.appId }),
      combine_payer_info: undefined,
    });
    expect(app.data.prepay_id).toMatch(/^wx/);
    const h5 = await v3.combineTransactions.h5.post({
      ...base,
      scene_info: { payer_client_ip: '203.0.113.9', h5_info: { type: 'Wap' } },
    });
    expect(String(h5.data.h5_url)).toContain('/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=');
    const native = await v3.combineTransactions.native.post({
      ...combineBody(openid),
      combine_payer_info: undefined,
    });
    expect(String(native.data.code_url)).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=/);
    const queried = await v3.combineTransactions.outTradeNo._combine_out_trade_no_.get({
      combine_out_trade_no: base.combine_out_trade_no,
    });
    expect(queried.data).toMatchObject({ combine_out_trade_no: base.combine_out_trade_no });
    expect((queried.data.sub_orders as Array<{ trade_type: string }>)[0]?.trade_type).toBe('MWEB');
    expect(queried.data).not.toHaveProperty('combine_payer_info');
  });
});

describe('combine rules: each refusal with its v3 code', () => {
  async function body(overrides: Record<string, unknown> = {}) {
    const { openid } = await loginCode(ctx.sb, 'combine-rules');
    return combineBody(openid, overrides);
  }
  const withSub = (b: CombineBody, i: number, patch: Record<string, unknown>) => ({
    ...b,
    sub_orders: b.sub_orders.map((s, j) => (j === i ? { ...s, ...patch } : s)),
  });

  it.each<[string, (b: CombineBody) => unknown, number, string, string | undefined]>([
    [
      'one sub-order',
      (b) => ({ ...b, sub_orders: b.sub_orders.slice(0, 1) }),
      400,
      'PARAM_ERROR',
      'sub_orders',
    ],
    [
      'eleven sub-orders',
      (b) => ({
        ...b,
        sub_orders: Array.from({ length: 11 }, () => ({ ...b.sub_orders[0], out_trade_no: subNo() })),
      }),
      400,
      'PARAM_ERROR',
      'sub_orders',
    ],
    ['no sub_orders', (b) => ({ ...b, sub_orders: undefined }), 400, 'PARAM_ERROR', 'sub_orders'],
    [
      'amount.total (the single-order name)',
      (b) => withSub(b, 1, { amount: { total: 250, currency: 'CNY' } }),
      400,
      'PARAM_ERROR',
      'sub_orders[1].amount.total',
    ],
    [
      'amount.total beside total_amount',
      (b) => withSub(b, 1, { amount: { total_amount: 250, total: 250 } }),
      400,
      'PARAM_ERROR',
      'sub_orders[1].amount.total',
    ],
    [
      'a zero total_amount',
      (b) => withSub(b, 0, { amount: { total_amount: 0, currency: 'CNY' } }),
      400,
      'PARAM_ERROR',
      'sub_orders[0].amount.total_amount',
    ],
    [
      'total_amount as text',
      (b) => withSub(b, 0, { amount: { total_amount: '10', currency: 'CNY' } }),
      400,
      'PARAM_ERROR',
      'sub_orders[0].amount.total_amount',
    ],
    [
      'a USD sub-order',
      (b) => withSub(b, 0, { amount: { total_amount: 10, currency: 'USD' } }),
      400,
      'PARAM_ERROR',
      'sub_orders[0].amount.currency',
    ],
    [
      'a 128-byte description',
      (b) => withSub(b, 2, { description: '商'.repeat(42) + 'xx' }),
      400,
      'PARAM_ERROR',
      'sub_orders[2].description',
    ],
    [
      'a 129-byte attach',
      (b) => withSub(b, 2, { attach: 'a'.repeat(129) }),
      400,
      'PARAM_ERROR',
      'sub_orders[2].attach',
    ],
    ['no attach', (b) => withSub(b, 2, { attach: undefined }), 400, 'PARAM_ERROR', 'sub_orders[2].attach'],
    [
      'a short out_trade_no',
      (b) => withSub(b, 2, { out_trade_no: 'X1' }),
      400,
      'PARAM_ERROR',
      'sub_orders[2].out_trade_no',
    ],
    [
      'time_expire not RFC 3339',
      (b) => ({ ...b, time_expire: '2030-01-01 10:00:00' }),
      400,
      'PARAM_ERROR',
      'time_expire',
    ],
    [
      'time_start not RFC 3339',
      (b) => ({ ...b, time_start: '20300101100000' }),
      400,
      'PARAM_ERROR',
      'time_start',
    ],
    [
      'a malformed combine_out_trade_no',
      (b) => ({ ...b, combine_out_trade_no: 'has space' }),
      400,
      'PARAM_ERROR',
      'combine_out_trade_no',
    ],
    [
      'no payer (jsapi)',
      (b) => ({ ...b, combine_payer_info: undefined }),
      400,
      'PARAM_ERROR',
      'combine_payer_info',
    ],
    [
      'an openid of another app',
      (b) => ({ ...b, combine_payer_info: { openid: 'oInventedOpenid000000000000' } }),
      400,
      'PARAM_ERROR',
      'combine_payer_info.openid',
    ],
    [
      'combine_mchid not the signer',
      (b) => ({ ...b, combine_mchid: SUB1.mchId }),
      400,
      'PARAM_ERROR',
      'combine_mchid',
    ],
    [
      'a combine_appid not bound to the merchant',
      (b) => ({ ...b, combine_appid: 'wx00000000000000ff' }),
      400,
      'APPID_MCHID_NOT_MATCH',
      'combine_appid',
    ],
    [
      'an unknown sub-order merchant',
      (b) => withSub(b, 1, { mchid: '1999999999' }),
      400,
      'MCH_NOT_EXISTS',
      'sub_orders[1].mchid',
    ],
    [
      'the same out_trade_no twice',
      (b) => withSub(b, 2, { out_trade_no: b.sub_orders[0]?.out_trade_no }),
      403,
      'OUT_TRADE_NO_USED',
      'sub_orders[2].out_trade_no',
    ],
  ])('%s', async (_what, mutate, status, code, field) => {
    const res = await post(mutate(await body()));
    expect(replySignatureOk(res)).toBe(true);
    expect({ status: res.status, code: res.json.code }).toEqual({ status, code });
    if (field) expect((res.json.detail as { field?: string }).field).toBe(field);
  });

  it('h5 and native need the buyer IP; app needs a mobile-app AppID', async () => {
    const { combine_payer_info: _p, scene_info: _s, ...b } = await body();
    expect(await v3Error(post(b, 'native'))).toMatchObject({
      status: 400,
      code: 'PARAM_ERROR',
      field: 'scene_info',
    });
    expect(await v3Error(post({ ...b, scene_info: { payer_client_ip: '203.0.113.9' } }, 'h5'))).toMatchObject(
      { status: 400, code: 'PARAM_ERROR', field: 'scene_info.h5_info' },
    );
    expect(await v3Error(post(b, 'app'))).toMatchObject({
      status: 400,
      code: 'PARAM_ERROR',
      field: 'combine_appid',
    });
    expect(await v3Error(post({ ...b, combine_payer_info: { openid: 'o1' } }, 'app'))).toMatchObject({
      status: 400,
      code: 'PARAM_ERROR',
      field: 'combine_payer_info',
    });
  });

  it('a sub-order merchant must be linked to the combine merchant (403 NO_AUTH)', async () => {
    // SUB1 placing a combine with the main merchant as a sub-order: the link is one-way (main → SUB1).
    const b = await body({ combine_mchid: SUB1.mchId });
    const res = await post(b, 'jsapi', {
      mchId: SUB1.mchId,
      serial: SUB1.mchCertSerial,
      privateKey: SUB1.mchPrivateKey,
    });
    expect({ status: res.status, code: res.json.code }).toEqual({ status: 403, code: 'NO_AUTH' });
    expect((res.json.detail as { field: string }).field).toBe('sub_orders[0].mchid');
  });

  it('out_trade_no reuse: a single order’s number, another combine’s sub-order, and the reverse', async () => {
    const { openid } = await loginCode(ctx.sb, 'combine-rules');
    const single = jsapiBody(openid, ctx.receiver.url);
    expect((await callV3(ctx.sb, 'POST', '/v3/pay/transactions/jsapi', single)).status).toBe(200);
    const b = await body();
    expect(await v3Error(post(withSub(b, 0, { out_trade_no: single.out_trade_no })))).toEqual({
      status: 403,
      code: 'OUT_TRADE_NO_USED',
      field: 'sub_orders[0].out_trade_no',
    });
    // The same number at another merchant is a different trade: fine.
    expect((await post(withSub(b, 1, { out_trade_no: single.out_trade_no }))).status).toBe(200);

    const first = await body();
    expect((await post(first)).status).toBe(200);
    const second = withSub(await body(), 2, { out_trade_no: first.sub_orders[2]?.out_trade_no });
    expect(await v3Error(post(second))).toMatchObject({ status: 403, code: 'OUT_TRADE_NO_USED' });
    const sub0 = first.sub_orders[0] as CombineBody['sub_orders'][number];
    const asSingle = { ...jsapiBody(openid, ctx.receiver.url), out_trade_no: sub0.out_trade_no };
    expect(await v3Error(callV3(ctx.sb, 'POST', '/v3/pay/transactions/jsapi', asSingle))).toMatchObject({
      status: 403,
      code: 'OUT_TRADE_NO_USED',
    });
  });

  it('combine_out_trade_no reuse: unchanged → a fresh prepay_id, changed → 403 OUT_TRADE_NO_USED', async () => {
    const b = await body();
    const first = await post(b);
    const again = await post(b);
    expect(again.status).toBe(200);
    expect(again.json.prepay_id).not.toBe(first.json.prepay_id);
    const changed = withSub(b, 0, { amount: { total_amount: 999, currency: 'CNY' } });
    expect(await v3Error(post(changed))).toEqual({
      status: 403,
      code: 'OUT_TRADE_NO_USED',
      field: 'combine_out_trade_no',
    });
    // Both prepay_ids pay the one combine.
    expect(
      (await postJson(`${ctx.sb.url}/sandbox/pay`, payParams(String(first.json.prepay_id)))).status,
    ).toBe(200);
  });

  it('a bad request signature is 401 SIGN_ERROR, read by the library', async () => {
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string;
    const v3 = library(ctx.sb, { privateKey: stranger });
    const signed = await failure(v3.combineTransactions.jsapi.post(await body()));
    expect(signed.response).toMatchObject({ status: 401, data: { code: 'SIGN_ERROR' } });
    const query = await failure(
      v3.combineTransactions.outTradeNo._combine_out_trade_no_.get({ combine_out_trade_no: 'ANY1' }),
    );
    expect(query.response).toMatchObject({ status: 401, data: { code: 'SIGN_ERROR' } });
  });

  it('another merchant cannot query a combine (404 ORDER_NOT_EXIST)', async () => {
    const b = await body();
    expect((await post(b)).status).toBe(200);
    const res = await callV3(
      ctx.sb,
      'GET',
      `/v3/combine-transactions/out-trade-no/${b.combine_out_trade_no}`,
      undefined,
      {
        mchId: SUB1.mchId,
        serial: SUB1.mchCertSerial,
        privateKey: SUB1.mchPrivateKey,
      },
    );
    expect({ status: res.status, code: res.json.code }).toEqual({ status: 404, code: 'ORDER_NOT_EXIST' });
  });
});

describe('combine notification faults (POST /sandbox/faults with the combine_out_trade_no)', () => {
  async function paidWith(faults: Record<string, unknown>) {
    const { openid } = await loginCode(ctx.sb, 'combine-faults');
    const b = combineBody(openid);
    expect(
      (await postJson(`${ctx.sb.url}/sandbox/faults`, { out_trade_no: b.combine_out_trade_no, faults }))
        .status,
    ).toBeLessThan(300);
    expect((await post(b)).status).toBe(200);
    const prepayId = String((await post(b)).json.prepay_id);
    const paidAt = Date.now();
    expect((await postJson(`${ctx.sb.url}/sandbox/pay`, payParams(prepayId))).status).toBe(200);
    return { b, paidAt };
  }

  it('duplicates: the acknowledged notification comes again with the same id', async () => {
    ctx.receiver.reply = () => ({ status: 204, body: '' });
    const { b } = await paidWith({ duplicateNotifications: 2 });
    const all = await eventually(() => {
      const found = notificationsFor(b.combine_out_trade_no);
      return found.length >= 3 ? found : undefined;
    });
    expect(new Set(all.map((n) => n.id)).size).toBe(1);
    for (const n of all) expect(notificationSignatureOk(n.received)).toBe(true);
    const inspected = (await (
      await fetch(`${ctx.sb.url}/sandbox/combines/${b.combine_out_trade_no}`)
    ).json()) as {
      notifications: Array<{ kind: string; outcome: string }>;
    };
    expect(inspected.notifications.map((n) => n.kind)).toEqual(['genuine', 'duplicate', 'duplicate']);
  });

  it('delay: the first notification waits notifyDelayMs', async () => {
    ctx.receiver.reply = () => ({ status: 204, body: '' });
    const { b, paidAt } = await paidWith({ notifyDelayMs: 400 });
    const [first] = await eventually(() => {
      const found = notificationsFor(b.combine_out_trade_no);
      return found.length > 0 ? found : undefined;
    });
    expect((first?.received.at ?? 0) - paidAt).toBeGreaterThanOrEqual(350);
  });

  it('refusals are retried on the schedule (attempt 2 after a 500), and a dropped attempt too', async () => {
    let calls = 0;
    ctx.receiver.reply = () =>
      ++calls === 1 ? { status: 500, body: '{"code":"FAIL","message":"busy"}' } : { status: 204, body: '' };
    const { b } = await paidWith({ dropNotifications: 1 });
    const inspected = await eventually(async () => {
      const r = (await (await fetch(`${ctx.sb.url}/sandbox/combines/${b.combine_out_trade_no}`)).json()) as {
        acknowledged: boolean;
        notifications: Array<{ attempt: number; outcome: string }>;
      };
      return r.acknowledged ? r : undefined;
    });
    expect(inspected.notifications.map((n) => [n.attempt, n.outcome])).toEqual([
      [1, 'dropped'],
      [2, 'rejected'],
      [3, 'acknowledged'],
    ]);
  });

  it('a wrong-amount forgery precedes the genuine one, validly signed, with one sub-order’s amount changed', async () => {
    ctx.receiver.reply = () => ({ status: 204, body: '' });
    const { b } = await paidWith({ forgeNotification: 'wrong-amount' });
    const [forged, genuine] = await eventually(() => {
      const found = notificationsFor(b.combine_out_trade_no);
      return found.length >= 2 ? found : undefined;
    });
    expect(notificationSignatureOk(forged?.received as ReceivedNotification)).toBe(true);
    const amounts = (n: typeof forged) =>
      ((n?.resource.sub_orders ?? []) as Array<{ amount: { total_amount: number } }>).map(
        (s) => s.amount.total_amount,
      );
    expect(amounts(genuine)).toEqual([1000, 250, 1]);
    expect(amounts(forged)).not.toEqual(amounts(genuine));
    expect(forged?.id).not.toBe(genuine?.id);
  });
});

// The out_trade_no helper of the shared package is what merchants use: combine numbers from it are accepted.
it('accepts createOutTradeNo numbers for the combine and its sub-orders', async () => {
  const { openid } = await loginCode(ctx.sb, 'combine-ids');
  const b = combineBody(openid, { combine_out_trade_no: createOutTradeNo() });
  const res = await post({
    ...b,
    sub_orders: b.sub_orders.map((s) => ({ ...s, out_trade_no: createOutTradeNo() })),
  });
  expect(res.status).toBe(200);
});
