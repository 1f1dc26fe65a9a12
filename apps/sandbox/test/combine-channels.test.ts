/**
 * Combine (合单) payments through every channel stand-in, over HTTP: app, h5 and native combines paid by the APP
 * payer (POST /sandbox/app/pay), the H5 cashier (the h5_url) and the scanner (the code_url), and a jsapi combine
 * of the official account through the path the WeixinJSBridge stand-in takes (GET /sandbox/prepays/:id for the
 * pay sheet's amount, then POST /sandbox/pay). Combines are placed with wechatpay-axios-plugin, which signs each
 * request and verifies each reply itself; the APP pay sign is made with the library's Rsa; notifications are
 * read with the library's own primitives (libraryReadsV3Notification), nothing of @mp-pay/shared.
 */
import { describe, expect, it } from 'vitest';
import { Formatter, Rsa, Wechatpay } from 'wechatpay-axios-plugin';
import type { RunningSandbox } from '../src/index.ts';
import {
  APP,
  libraryReadsV3Notification,
  OA,
  openCashier,
  payCashier,
  scanCode,
  scanPage,
  submitCashier,
  cashierLink,
} from './channel-helpers.ts';
import { DEMO, eventually, postJson, useSandboxAndReceiver, type ReceivedNotification } from './helpers.ts';
import { SUB1, SUB2, V3 } from './v3-helpers.ts';

const ctx = useSandboxAndReceiver();

type Kind = 'jsapi' | 'app' | 'h5' | 'native';
interface Endpoint {
  post(data?: unknown): Promise<{ status: number; data: Record<string, unknown> }>;
}

/** The library's chained client, as the combine merchant (the main demo merchant). */
function library(sb: RunningSandbox): { combineTransactions: Record<Kind, Endpoint> } {
  const wxpay = new Wechatpay({
    mchid: DEMO.mchId,
    serial: V3.mchCertSerial,
    privateKey: V3.mchPrivateKey,
    certs: { [V3.platformPublicKeyId]: V3.platformPublicKey },
    baseURL: `${sb.url}/`,
  } as ConstructorParameters<typeof Wechatpay>[0]) as unknown as {
    v3: { combineTransactions: Record<Kind, Endpoint> };
  };
  return wxpay.v3;
}

let seq = 0;
const unique = (prefix: string) => `${prefix}${Date.now()}${(seq++).toString().padStart(4, '0')}`;
/** 10.00 + 2.50 + 0.01: the buyer pays ¥12.51 once. */
const TOTAL = 1251;

function combineBody(kind: Kind, extra: Record<string, unknown> = {}) {
  return {
    combine_appid: kind === 'app' ? APP.appId : kind === 'jsapi' ? OA.appId : DEMO.appId,
    combine_mchid: DEMO.mchId,
    combine_out_trade_no: unique('CMBCH'),
    ...(kind === 'h5'
      ? { scene_info: { payer_client_ip: '127.0.0.1', h5_info: { type: 'Wap' } } }
      : kind === 'native'
        ? { scene_info: { payer_client_ip: '127.0.0.1' } }
        : {}),
    sub_orders: [
      {
        mchid: DEMO.mchId,
        attach: 'main',
        amount: { total_amount: 1000, currency: 'CNY' },
        out_trade_no: unique('SUBA'),
        description: '合单商品 A',
      },
      {
        mchid: SUB1.mchId,
        attach: 'shop 1',
        amount: { total_amount: 250, currency: 'CNY' },
        out_trade_no: unique('SUBB'),
        description: '合单商品 B',
      },
      {
        mchid: SUB2.mchId,
        attach: 'shop 2',
        amount: { total_amount: 1, currency: 'CNY' },
        out_trade_no: unique('SUBC'),
        description: '合单商品 C',
      },
    ],
    notify_url: ctx.receiver.url,
    ...extra,
  };
}

type Body = ReturnType<typeof combineBody>;

/** Places a combine of `kind` (signed and verified by the library); returns its body and WeChat's answer. */
async function place(kind: Kind, extra: Record<string, unknown> = {}) {
  ctx.receiver.reply = () => ({ status: 204, body: '' });
  const body = combineBody(kind, extra);
  const reply = await library(ctx.sb).combineTransactions[kind].post(body);
  expect(reply.status).toBe(200);
  return { body, data: reply.data };
}

/** The seven PayReq fields of an APP combine, signed as the merchant server does with the library's Rsa. */
function appPayReq(prepayId: string, privateKey: string = V3.mchPrivateKey) {
  const timestamp = `${Formatter.timestamp()}`;
  const noncestr = Formatter.nonce();
  const sign = Rsa.sign(
    Formatter.joinedByLineFeed(APP.appId, timestamp, noncestr, prepayId),
    Rsa.from(privateKey, Rsa.KEY_TYPE_PRIVATE),
  );
  return {
    appid: APP.appId,
    partnerid: DEMO.mchId,
    prepayid: prepayId,
    package: 'Sign=WXPay',
    noncestr,
    timestamp,
    sign,
  };
}

/** What getBrandWCPayRequest / wx.requestPayment is handed for a jsapi combine (RSA over the combine AppID). */
function jsapiPayParams(prepayId: string, appId: string) {
  const timeStamp = `${Formatter.timestamp()}`;
  const nonceStr = Formatter.nonce();
  const pkg = `prepay_id=${prepayId}`;
  const paySign = Rsa.sign(
    Formatter.joinedByLineFeed(appId, timeStamp, nonceStr, pkg),
    Rsa.from(V3.mchPrivateKey, Rsa.KEY_TYPE_PRIVATE),
  );
  return { appId, timeStamp, nonceStr, package: pkg, signType: 'RSA', paySign };
}

interface Notice {
  received: ReceivedNotification;
  verified: boolean;
  eventType: string;
  resource: Record<string, unknown>;
}

/** Every v3 notification received for `combineNo`, read with the library alone. */
function notificationsFor(combineNo: string): Notice[] {
  return ctx.receiver.received.flatMap((received) => {
    if (!received.body.startsWith('{')) return [];
    const read = libraryReadsV3Notification(received);
    return read.tx.combine_out_trade_no === combineNo
      ? [{ received, verified: read.verified, eventType: read.envelope.event_type, resource: read.tx }]
      : [];
  });
}

/**
 * Waits for the combine's notification, then a little longer to be sure it stays the only one (the receiver
 * acknowledges with 204: no retry is due, and a notification per sub-order would be a bug).
 */
async function theNotification(combineNo: string): Promise<Notice> {
  await eventually(() => (notificationsFor(combineNo).length > 0 ? true : undefined));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const all = notificationsFor(combineNo);
  expect(all).toHaveLength(1);
  const notice = all[0] as Notice;
  expect(notice.verified).toBe(true);
  expect(notice.eventType).toBe('TRANSACTION.SUCCESS');
  return notice;
}

interface Inspected {
  kind: string;
  sub_orders: Array<{ out_trade_no: string; state: string; transaction_id?: string; trade_type: string }>;
  notifications: Array<{ outcome: string }>;
  payments: Array<{ outcome: string }>;
  openid?: string;
}

async function inspectCombine(combineNo: string): Promise<Inspected> {
  const res = await fetch(`${ctx.sb.url}/sandbox/combines/${combineNo}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Inspected;
}

/** One payment: every sub-order SUCCESS in the inspection and in the one notification, under `tradeType`. */
async function expectWhollyPaid(body: Body, tradeType: string): Promise<Notice> {
  const notice = await theNotification(body.combine_out_trade_no);
  const subs = notice.resource.sub_orders as Array<Record<string, unknown>>;
  expect(subs.map((s) => [s.out_trade_no, s.trade_state, s.trade_type])).toEqual(
    body.sub_orders.map((s) => [s.out_trade_no, 'SUCCESS', tradeType]),
  );
  expect(subs.map((s) => (s.amount as { payer_amount: number }).payer_amount)).toEqual([1000, 250, 1]);
  for (const sub of subs) expect(String(sub.transaction_id)).toMatch(/^\d{28}$/);
  const inspected = await inspectCombine(body.combine_out_trade_no);
  expect(inspected.sub_orders.map((s) => [s.out_trade_no, s.state, s.trade_type])).toEqual(
    body.sub_orders.map((s) => [s.out_trade_no, 'SUCCESS', tradeType]),
  );
  expect(inspected.sub_orders.map((s) => s.transaction_id)).toEqual(subs.map((s) => s.transaction_id));
  expect(inspected.notifications).toEqual([expect.objectContaining({ outcome: 'acknowledged' })]);
  return notice;
}

/** A partial payment: the named sub-order PAYERROR, the others SUCCESS, one notification listing all three. */
async function expectPartlyPaid(body: Body, failed: string): Promise<void> {
  const notice = await theNotification(body.combine_out_trade_no);
  const expected = body.sub_orders.map((s) => [
    s.out_trade_no,
    s.out_trade_no === failed ? 'PAYERROR' : 'SUCCESS',
  ]);
  const subs = notice.resource.sub_orders as Array<Record<string, unknown>>;
  expect(subs.map((s) => [s.out_trade_no, s.trade_state])).toEqual(expected);
  const inspected = await inspectCombine(body.combine_out_trade_no);
  expect(inspected.sub_orders.map((s) => [s.out_trade_no, s.state])).toEqual(expected);
}

const payApp = (body: Record<string, unknown>) => postJson(`${ctx.sb.url}/sandbox/app/pay`, body);

describe('APP combines: POST /sandbox/app/pay', () => {
  it('pays every sub-order with one PayReq; one notification; the buyer is known; a second pay is refused', async () => {
    const { body, data } = await place('app');
    const prepayId = String(data.prepay_id);
    expect(await payApp({ ...appPayReq(prepayId), outcome: 'cancel' })).toEqual({
      status: 200,
      json: { errCode: -2, errStr: '用户取消' },
    });
    expect((await inspectCombine(body.combine_out_trade_no)).sub_orders.map((s) => s.state)).toEqual([
      'NOTPAY',
      'NOTPAY',
      'NOTPAY',
    ]);
    expect(await payApp(appPayReq(prepayId))).toEqual({ status: 200, json: { errCode: 0, errStr: '' } });
    const notice = await expectWhollyPaid(body, 'APP');
    expect(notice.resource.combine_appid).toBe(APP.appId);
    // An app combine names no payer when placed; WeChat reports the one who paid.
    expect((notice.resource.combine_payer_info as { openid: string }).openid).toMatch(/^o/);
    expect(await payApp(appPayReq(prepayId))).toEqual({
      status: 409,
      json: { errCode: -1, errStr: '该订单已支付' },
    });
    expect(notificationsFor(body.combine_out_trade_no)).toHaveLength(1);
  });

  it('checks the sign with the combine merchant certificate, and partnerid is the combine_mchid', async () => {
    const { body, data } = await place('app');
    const prepayId = String(data.prepay_id);
    const bySub = await payApp(appPayReq(prepayId, SUB1.mchPrivateKey));
    expect(bySub.status).toBe(400);
    expect(String(bySub.json.errStr)).toContain('支付验证签名失败');
    const subPartner = await payApp({ ...appPayReq(prepayId), partnerid: SUB1.mchId });
    expect(subPartner.status).toBe(400);
    expect(
      (await inspectCombine(body.combine_out_trade_no)).sub_orders.every((s) => s.state === 'NOTPAY'),
    ).toBe(true);
  });

  it('fail_sub_order fails that sub-order alone: errCode 0 with a hint, one notification listing it PAYERROR', async () => {
    const { body, data } = await place('app');
    const prepayId = String(data.prepay_id);
    const failed = body.sub_orders[1]?.out_trade_no as string;
    const wrong = await payApp({ ...appPayReq(prepayId), fail_sub_order: 'NOT_A_SUB_ORDER' });
    expect(wrong.status).toBe(400);
    expect(String(wrong.json.errStr)).toContain('fail_sub_order');
    const paid = await payApp({ ...appPayReq(prepayId), fail_sub_order: failed });
    expect(paid.status).toBe(200);
    expect(paid.json).toMatchObject({ errCode: 0, errStr: '' });
    expect(String(paid.json.hint)).toContain('partially paid');
    await expectPartlyPaid(body, failed);
  });

  it('each combine kind is paid in its own channel only', async () => {
    const app = await place('app');
    const onPayer = await postJson(
      `${ctx.sb.url}/sandbox/pay`,
      jsapiPayParams(String(app.data.prepay_id), APP.appId),
    );
    expect(onPayer.status).toBe(400);
    expect(String(onPayer.json.errMsg)).toContain('/sandbox/app/pay');
    const oauth = await oaOpenid();
    const jsapi = await place('jsapi', { combine_payer_info: { openid: oauth } });
    const onApp = await payApp(appPayReq(String(jsapi.data.prepay_id)));
    expect(onApp.status).toBe(400);
    expect(String(onApp.json.errStr)).toContain('jsapi combine');
  });
});

describe('H5 combines: the h5_url cashier', () => {
  it('shows the combine total, pays every sub-order on submit; one notification; the link is then spent', async () => {
    const { body, data } = await place('h5');
    const h5Url = String(data.h5_url);
    const page = await openCashier(h5Url);
    expect(page.status).toBe(200);
    expect(page.html).toContain('id="sandbox-h5-amount">¥12.51<');
    expect(page.html).toContain('合单商品 A + 合单商品 B + 合单商品 C');
    expect(page.html).toContain(body.combine_out_trade_no);
    const paid = await payCashier(ctx.sb, h5Url);
    expect(paid.html).toContain('data-outcome="success"');
    expect(paid.html).toContain('¥12.51');
    const notice = await expectWhollyPaid(body, 'MWEB');
    expect((notice.resource.combine_payer_info as { openid: string }).openid).toMatch(/^o/);
    expect((await openCashier(h5Url)).html).toContain('该订单已支付');
    expect((await payCashier(ctx.sb, h5Url)).html).toContain('data-outcome="refused"');
  });

  it('the checks of a single h5_url apply: the buyer IP must be the combine payer_client_ip', async () => {
    const { data } = await place('h5', {
      scene_info: { payer_client_ip: '203.0.113.9', h5_info: { type: 'Wap' } },
    });
    const page = await openCashier(String(data.h5_url));
    expect(page.html).toContain('网络环境未能通过安全验证');
  });

  it('a sub-order button (fail_sub_order) fails that sub-order while the others are paid', async () => {
    const { body, data } = await place('h5');
    const h5Url = String(data.h5_url);
    const failed = body.sub_orders[2]?.out_trade_no as string;
    const page = await openCashier(h5Url);
    expect(page.html).toContain(`name="fail_sub_order" value="${failed}"`);
    const link = cashierLink(h5Url);
    const declined = await submitCashier(ctx.sb, {
      prepay_id: link.prepayId,
      package: link.pkg,
      outcome: 'fail',
    });
    expect(declined.html).toContain('data-outcome="fail"');
    const paid = await submitCashier(ctx.sb, {
      prepay_id: link.prepayId,
      package: link.pkg,
      fail_sub_order: failed,
    } as Parameters<typeof submitCashier>[1]);
    expect(paid.html).toContain('data-outcome="success"');
    expect(paid.html).toContain('partially paid');
    await expectPartlyPaid(body, failed);
  });
});

describe('Native combines: the code_url scanner', () => {
  it('the scan page shows the combine total; scanning pays every sub-order; one notification', async () => {
    const { body, data } = await place('native');
    const codeUrl = String(data.code_url);
    const page = await scanPage(ctx.sb, codeUrl);
    expect(page).toContain('id="sandbox-scan-amount">¥12.51<');
    expect(page).toContain(body.combine_out_trade_no);
    const scanned = await scanCode(ctx.sb, { url: codeUrl });
    expect(scanned.status).toBe(200);
    expect(scanned.json).toMatchObject({
      mode: 2,
      outcome: 'success',
      combine_out_trade_no: body.combine_out_trade_no,
      total_fee: TOTAL,
    });
    expect((scanned.json.sub_orders as Array<{ state: string }>).map((s) => s.state)).toEqual([
      'SUCCESS',
      'SUCCESS',
      'SUCCESS',
    ]);
    const notice = await expectWhollyPaid(body, 'NATIVE');
    expect(notice.resource.combine_payer_info).toEqual({ openid: scanned.json.openid });
    const again = await scanCode(ctx.sb, { url: codeUrl });
    expect(again).toMatchObject({ status: 409, json: { error: 'NOT_PAYABLE', message: '该订单已支付' } });
    expect(await scanPage(ctx.sb, codeUrl)).toContain('该订单已支付');
  });

  it('fail_sub_order: a stranger is a 400, a sub-order fails alone; payerror fails them all', async () => {
    const { body, data } = await place('native');
    const codeUrl = String(data.code_url);
    const failed = body.sub_orders[0]?.out_trade_no as string;
    const stranger = await scanCode(ctx.sb, { url: codeUrl, fail_sub_order: 'NOT_A_SUB_ORDER' });
    expect(stranger).toMatchObject({ status: 400, json: { error: 'BAD_REQUEST' } });
    const withCancel = await scanCode(ctx.sb, { url: codeUrl, outcome: 'cancel', fail_sub_order: failed });
    expect(withCancel.status).toBe(400);
    const partly = await scanCode(ctx.sb, { url: codeUrl, fail_sub_order: failed });
    expect(partly.status).toBe(200);
    expect(String(partly.json.hint)).toContain('partially paid');
    await expectPartlyPaid(body, failed);

    const other = await place('native');
    const payerror = await scanCode(ctx.sb, { url: String(other.data.code_url), outcome: 'payerror' });
    expect(payerror.json).toMatchObject({ outcome: 'payerror' });
    expect((await inspectCombine(other.body.combine_out_trade_no)).sub_orders.map((s) => s.state)).toEqual([
      'PAYERROR',
      'PAYERROR',
      'PAYERROR',
    ]);
    expect(notificationsFor(other.body.combine_out_trade_no)).toHaveLength(0);
  });

  it('the combine notification faults apply: duplicateNotifications repeats the one notification', async () => {
    const body = combineBody('native');
    const faults = await postJson(`${ctx.sb.url}/sandbox/faults`, {
      out_trade_no: body.combine_out_trade_no,
      faults: { duplicateNotifications: 1 },
    });
    expect(faults.status).toBeLessThan(300);
    ctx.receiver.reply = () => ({ status: 204, body: '' });
    const placed = await library(ctx.sb).combineTransactions.native.post(body);
    expect((await scanCode(ctx.sb, { url: String(placed.data.code_url) })).status).toBe(200);
    const all = await eventually(() => {
      const found = notificationsFor(body.combine_out_trade_no);
      return found.length >= 2 ? found : undefined;
    });
    expect(all).toHaveLength(2);
    expect(new Set(all.map((n) => (JSON.parse(n.received.body) as { id: string }).id)).size).toBe(1);
  });
});

/** An openid of the official account, by its silent OAuth (what the web checkout does before a JSAPI order). */
async function oaOpenid(): Promise<string> {
  const query = new URLSearchParams({
    appid: OA.appId,
    redirect_uri: 'http://127.0.0.1:3000/web/oauth/callback',
    response_type: 'code',
    scope: 'snsapi_base',
    state: 's',
  });
  const authorized = await fetch(
    `${ctx.sb.url}/connect/oauth2/authorize?${query.toString()}#wechat_redirect`,
    {
      redirect: 'manual',
    },
  );
  const code = new URL(String(authorized.headers.get('location'))).searchParams.get('code');
  const exchange = new URLSearchParams({
    appid: OA.appId,
    secret: OA.secret,
    code: String(code),
    grant_type: 'authorization_code',
  });
  const token = (await (
    await fetch(`${ctx.sb.url}/sns/oauth2/access_token?${exchange.toString()}`)
  ).json()) as {
    openid: string;
  };
  expect(token.openid).toBeTruthy();
  return token.openid;
}

describe('official-account JSAPI combines: the WeixinJSBridge path', () => {
  it('the pay sheet reads the combine total from /sandbox/prepays/:id; paying it pays every sub-order', async () => {
    const openid = await oaOpenid();
    const { body, data } = await place('jsapi', { combine_payer_info: { openid } });
    const prepayId = String(data.prepay_id);
    const summary = await fetch(`${ctx.sb.url}/sandbox/prepays/${prepayId}`, {
      headers: { origin: 'http://127.0.0.1:3000' },
    });
    expect(summary.status).toBe(200);
    expect(summary.headers.get('access-control-allow-origin')).toBe('*');
    const sheet = (await summary.json()) as Record<string, unknown>;
    expect(sheet).toMatchObject({
      prepay_id: prepayId,
      combine_out_trade_no: body.combine_out_trade_no,
      appid: OA.appId,
      trade_type: 'JSAPI',
      total_fee: TOTAL,
      body: '合单商品 A + 合单商品 B + 合单商品 C',
    });
    expect((sheet.sub_orders as Array<{ state: string }>).map((s) => s.state)).toEqual([
      'NOTPAY',
      'NOTPAY',
      'NOTPAY',
    ]);
    // What the bridge posts when the buyer taps 立即支付: getBrandWCPayRequest's params plus the outcome.
    const paid = await postJson(`${ctx.sb.url}/sandbox/pay`, {
      ...jsapiPayParams(prepayId, OA.appId),
      outcome: 'success',
    });
    expect(paid).toEqual({ status: 200, json: { errMsg: 'requestPayment:ok' } });
    const notice = await expectWhollyPaid(body, 'JSAPI');
    expect(notice.resource.combine_payer_info).toEqual({ openid });
    const after = (await (await fetch(`${ctx.sb.url}/sandbox/prepays/${prepayId}`)).json()) as {
      sub_orders: Array<{ state: string }>;
    };
    expect(after.sub_orders.map((s) => s.state)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
  });
});
