import { sendJsonError } from '../http/json.ts';
import type { Context } from 'koa';
import {
  buildNativeScanXml,
  parseNativeLongLink,
  parseNativeScanReply,
  verifyNativeLongLink,
  WechatPayError,
  type NativeLink,
} from '@mp-pay/shared/wechatpay';
import type { SandboxContext } from '../context.ts';
import { readJsonObject } from '../http/body.ts';
import type { Notifier } from '../notifier.ts';
import { applyExpiry } from '../pay/orders.ts';
import { OUTCOMES, settlePayment, type Outcome } from '../pay/settle.ts';
import type { OrderRecord, PrepayRecord } from '../state.ts';
import { combineOfPrepay, subOrdersOf, type CombineRecord } from '../v3/combine.ts';
import { combineDescription, combineTotalFee, settleCombine } from '../v3/combine-pay.ts';
import { browserUser, buyerOpenid, knownUser } from './buyer.ts';
import { errorPage, escapeHtml, renderPage, scriptJson, sendHtml, yuan } from './html.ts';

/**
 * The buyer's WeChat scanning a Native QR code (docs/protocol.md §9 "Native", docs/channels.md).
 * Mode 2, `weixin://wxpay/bizpayurl?pr=…`: the code_url of a NATIVE trade; paying it pays that trade.
 * Mode 1, the signed long link: WeChat verifies its sign with the merchant key, posts the signed scan XML
 * (appid, openid, mch_id, is_subscribe, nonce_str, product_id, sign) to the merchant's scan callback
 * (SANDBOX_NATIVE_CALLBACK_URL), verifies the signed reply, and pays the prepay_id it carries (a NATIVE
 * unifiedorder of that merchant); a reply with result_code FAIL shows the buyer its err_code_des.
 *
 * A native combine's code_url (POST /v3/combine-transactions/native) is a mode-2 code too: paying it pays
 * every sub-order at once, the amount shown is the combine's total, and `fail_sub_order` (a sub-order's
 * out_trade_no) fails that one sub-order, as on POST /sandbox/pay.
 *
 * `POST /sandbox/scan {url, openid?, outcome?, fail_sub_order?}` does it for tests and demos (JSON);
 * `GET /sandbox/scan?url=` is the page a person uses.
 */
class ScanError extends Error {
  constructor(
    readonly status: number,
    readonly id: string,
    message: string,
  ) {
    super(message);
  }
}

interface Resolved {
  link: NativeLink;
  /** Mode 2: the trade, known before paying. */
  order?: OrderRecord;
  prepay?: PrepayRecord;
  /** Mode 2, a combine's code_url: the combine (no `order`: it pays every sub-order). */
  combine?: CombineRecord;
}

/** The sandbox's words for a code_url past its 2 hours (the prepay_id's life, docs/protocol.md §9 "Native"). */
const CODE_EXPIRED = '二维码已过期，请刷新页面后重新扫码';

/**
 * Why a mode-2 code_url can no longer be paid, in the words the buyer's WeChat shows, or undefined while it can:
 * its trade (a combine's: any sub-order) paid, closed (also by time_expire) or failed, or the code past its 2
 * hours on the sandbox clock.
 */
function codeUrlProblem(
  sandbox: SandboxContext,
  orders: OrderRecord[],
  prepay: PrepayRecord,
): string | undefined {
  const now = sandbox.clock.now();
  for (const order of orders) applyExpiry(order, now);
  if (orders.some((order) => order.state === 'SUCCESS')) return '该订单已支付';
  if (orders.some((order) => order.state === 'CLOSED')) return '订单已关闭';
  if (orders.some((order) => order.state === 'PAYERROR')) return '支付失败，请重新下单支付';
  return now >= prepay.expiresAt ? CODE_EXPIRED : undefined;
}

/** Reads and checks a scanned link; mode 1's sign is verified here, before anything is sent. */
function resolve(sandbox: SandboxContext, url: unknown): Resolved {
  if (typeof url !== 'string' || url === '') {
    throw new ScanError(400, 'BAD_LINK', 'url is required: the code_url or the mode-1 long link scanned');
  }
  let link: NativeLink;
  try {
    link = parseNativeLongLink(url);
  } catch (err) {
    if (err instanceof WechatPayError) throw new ScanError(400, 'BAD_LINK', err.message);
    throw err;
  }
  if (link.mode === 2) {
    const prepayId = sandbox.state.codeUrls.get(link.pr);
    const prepay = prepayId === undefined ? undefined : sandbox.state.prepays.get(prepayId);
    const combine = prepay && combineOfPrepay(sandbox, prepay);
    if (prepay && combine?.kind === 'native') return { link, prepay, combine };
    const order = prepay && sandbox.state.orders.get(prepay.orderKey);
    if (!prepay || !order || order.tradeType !== 'NATIVE') {
      throw new ScanError(
        404,
        'CODE_NOT_FOUND',
        '二维码已失效或不存在: unknown code_url (or its trade was forgotten)',
      );
    }
    return { link, order, prepay };
  }
  const merchant = sandbox.accounts.merchant(link.mchId);
  if (!merchant) throw new ScanError(400, 'MCHID_NOT_EXIST', `商户号${link.mchId}不存在`);
  const problem = verifyNativeLongLink(link, merchant.key);
  if (problem) throw new ScanError(400, 'SIGN_ERROR', `签名错误: ${problem}`);
  if (!sandbox.accounts.app(link.appId) || !sandbox.accounts.bound(link.appId, link.mchId)) {
    throw new ScanError(400, 'APPID_MCHID_NOT_MATCH', 'appid和mch_id不匹配');
  }
  return { link };
}

/** The buyer's openid under `appId`: the one given (it must have been issued), else the browser's user's. */
function payer(sandbox: SandboxContext, ctx: Context, appId: string, openid: unknown): string {
  if (openid === undefined) return buyerOpenid(sandbox, appId, knownUser(ctx));
  if (typeof openid !== 'string' || !sandbox.state.openids.has(`${appId}:${openid}`)) {
    throw new ScanError(
      400,
      'OPENID_INVALID',
      `openid was not issued for ${appId}: omit it to use the sandbox user`,
    );
  }
  return openid;
}

/** Mode 1: the merchant's scan callback, then its signed reply's prepay_id. */
async function askMerchant(
  sandbox: SandboxContext,
  link: Extract<NativeLink, { mode: 1 }>,
  openid: string,
): Promise<{ order: OrderRecord; prepay: PrepayRecord }> {
  const merchant = sandbox.accounts.merchant(link.mchId);
  if (!merchant) throw new ScanError(400, 'MCHID_NOT_EXIST', `商户号${link.mchId}不存在`);
  const body = buildNativeScanXml({
    appId: link.appId,
    mchId: link.mchId,
    key: merchant.key,
    openid,
    productId: link.productId,
    isSubscribe: false,
  });
  const url = sandbox.config.nativeCallbackUrl;
  let text: string;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8' },
      body,
      signal: AbortSignal.any([AbortSignal.timeout(sandbox.config.notifyTimeoutMs), sandbox.shutdown.signal]),
    });
    text = await res.text();
    if (res.status !== 200) {
      throw new ScanError(502, 'MERCHANT_ERROR', `the scan callback ${url} answered HTTP ${res.status}`);
    }
  } catch (err) {
    if (err instanceof ScanError) throw err;
    throw new ScanError(
      502,
      'MERCHANT_UNREACHABLE',
      `the scan callback ${url} failed: ${(err as Error).message}`,
    );
  }
  let reply;
  try {
    reply = parseNativeScanReply(text, merchant.key, { appId: link.appId, mchId: link.mchId });
  } catch (err) {
    if (err instanceof WechatPayError) {
      throw new ScanError(502, 'BAD_REPLY', `the merchant's scan reply was refused: ${err.message}`);
    }
    throw err;
  }
  if (reply.resultCode === 'FAIL') {
    throw new ScanError(409, 'MERCHANT_FAIL', reply.errCodeDes || '商户处理失败');
  }
  const prepay = sandbox.state.prepays.get(reply.prepayId);
  const order = prepay && sandbox.state.orders.get(prepay.orderKey);
  if (!prepay || !order || order.mchId !== link.mchId || order.tradeType !== 'NATIVE') {
    throw new ScanError(
      502,
      'BAD_REPLY',
      "the merchant's scan reply names a prepay_id that is not one of its NATIVE unifiedorder trades",
    );
  }
  return { order, prepay };
}

const MESSAGES: Record<Outcome, string> = {
  success: '支付成功 Paid',
  cancel: '已取消 Cancelled',
  fail: '支付失败 Declined',
  payerror: '支付失败 Payment error',
};

/**
 * POST /sandbox/scan {url, openid?, outcome?, fail_sub_order?} → {mode, outcome, message, out_trade_no, total_fee,
 * openid, product_id?}; a combine's code_url → {mode, outcome, message, combine_out_trade_no, total_fee (the
 * combine's total), openid, sub_orders: [{mch_id, out_trade_no, total_fee, state}], hint?}.
 */
export function scanRoute(sandbox: SandboxContext, notifier: Notifier) {
  return async (ctx: Context): Promise<void> => {
    const body = await readJsonObject(ctx);
    try {
      if (!body) throw new ScanError(400, 'BAD_REQUEST', 'send a JSON object {url, openid?, outcome?}');
      const outcome = (body.outcome ?? 'success') as Outcome;
      if (!OUTCOMES.includes(outcome)) {
        throw new ScanError(400, 'BAD_REQUEST', `unknown outcome: use ${OUTCOMES.join(', ')}`);
      }
      const resolved = resolve(sandbox, body.url);
      if (resolved.combine) {
        const prepay = resolved.prepay as PrepayRecord;
        ctx.body = scanCombine(sandbox, notifier, ctx, resolved.combine, prepay, body, outcome);
        ctx.status = 200;
        return;
      }
      const appId = resolved.link.mode === 2 ? (resolved.order as OrderRecord).appId : resolved.link.appId;
      const openid = payer(sandbox, ctx, appId, body.openid);
      const { order, prepay } =
        resolved.link.mode === 2
          ? { order: resolved.order as OrderRecord, prepay: resolved.prepay as PrepayRecord }
          : await askMerchant(sandbox, resolved.link, openid);
      const settled = settlePayment(sandbox, notifier, order, prepay, outcome, openid);
      if (!settled.ok) {
        // settlePayment recorded the refusal; a code_url's buyer reads the scanner's words for it.
        const reason =
          (resolved.link.mode === 2 && codeUrlProblem(sandbox, [order], prepay)) || settled.reason;
        throw new ScanError(settled.status, 'NOT_PAYABLE', reason);
      }
      ctx.status = 200;
      ctx.body = {
        mode: resolved.link.mode,
        outcome,
        message: MESSAGES[outcome],
        out_trade_no: order.outTradeNo,
        total_fee: order.totalFee,
        openid,
        ...(resolved.link.mode === 1 ? { product_id: resolved.link.productId } : {}),
      };
    } catch (err) {
      if (!(err instanceof ScanError)) throw err;
      sendJsonError(ctx, err.status, err.id, err.message);
    }
  };
}

/** Pays a combine's code_url: every sub-order at once, for the scanning buyer, as settleCombine decides. */
function scanCombine(
  sandbox: SandboxContext,
  notifier: Notifier,
  ctx: Context,
  combine: CombineRecord,
  prepay: PrepayRecord,
  body: Record<string, unknown>,
  outcome: Outcome,
): Record<string, unknown> {
  const openid = payer(sandbox, ctx, combine.appId, body.openid);
  const settled = settleCombine(sandbox, notifier, prepay, combine, outcome, body.fail_sub_order, openid);
  const orders = subOrdersOf(sandbox, combine);
  if (!settled.ok) {
    // A request the scanner cannot act on (fail_sub_order) is the caller's mistake; the rest, the code's state.
    if (settled.status === 400) {
      throw new ScanError(400, 'BAD_REQUEST', `${settled.reason}: ${settled.hint ?? ''}`.replace(/: $/, ''));
    }
    const reason = codeUrlProblem(sandbox, orders, prepay) || settled.reason;
    throw new ScanError(settled.status, 'NOT_PAYABLE', reason);
  }
  return {
    mode: 2,
    outcome,
    message: MESSAGES[outcome],
    combine_out_trade_no: combine.outTradeNo,
    total_fee: combineTotalFee(orders),
    openid,
    sub_orders: orders.map((order) => ({
      mch_id: order.mchId,
      out_trade_no: order.outTradeNo,
      total_fee: order.totalFee,
      state: order.state,
    })),
    ...(settled.hint ? { hint: settled.hint } : {}),
  };
}

/** GET /sandbox/scan?url=: what the buyer sees after scanning, with a pay button. */
export function scanPageRoute(sandbox: SandboxContext) {
  return (ctx: Context): void => {
    const url = typeof ctx.query.url === 'string' ? ctx.query.url : '';
    let resolved: Resolved;
    try {
      resolved = resolve(sandbox, url);
    } catch (err) {
      if (!(err instanceof ScanError)) throw err;
      return sendHtml(ctx, 200, errorPage('sandbox-scan-error', '无法识别此二维码', err.message));
    }
    const { link, order, prepay, combine } = resolved;
    const subOrders = combine ? subOrdersOf(sandbox, combine) : [];
    // A code that can no longer be paid shows why, not a pay button (mode 1 asks the merchant on paying).
    const trades = combine ? subOrders : order ? [order] : [];
    const problem = trades.length > 0 && prepay ? codeUrlProblem(sandbox, trades, prepay) : undefined;
    if (problem) {
      const states = trades.map((trade) => `${trade.outTradeNo} ${trade.state}`).join(', ');
      return sendHtml(
        ctx,
        200,
        errorPage(
          'sandbox-scan-error',
          problem,
          `the code_url's ${combine ? `combine ${combine.outTradeNo} (${states})` : `trade ${states}`}; a code_url lives 2 hours: nothing to pay`,
        ),
      );
    }
    browserUser(ctx);
    const summary = combine
      ? `<div class="amount" id="sandbox-scan-amount">${escapeHtml(yuan(combineTotalFee(subOrders)))}</div>
<p id="sandbox-scan-body">${escapeHtml(combineDescription(subOrders))}</p>
<p class="muted">合单 combine <span id="sandbox-scan-combine">${escapeHtml(combine.outTradeNo)}</span> · 商户号 merchant <span id="sandbox-scan-merchant">${escapeHtml(combine.mchId)}</span> · ${subOrders.length} 笔子单 sub-orders</p>`
      : order
        ? `<div class="amount" id="sandbox-scan-amount">${escapeHtml(yuan(order.totalFee))}</div>
<p id="sandbox-scan-body">${escapeHtml(order.body)}</p>
<p class="muted">商户号 merchant <span id="sandbox-scan-merchant">${escapeHtml(order.mchId)}</span></p>`
        : `<p id="sandbox-scan-body">商品 product <b>${escapeHtml(link.mode === 1 ? link.productId : '')}</b></p>
<p class="muted">商户号 merchant <span id="sandbox-scan-merchant">${escapeHtml(link.mode === 1 ? link.mchId : '')}</span>
· 金额由商户下单后确定 the merchant sets the amount when you pay (mode 1)</p>`;
    const script = `(function(){
var url=${scriptJson(url)};var result=document.getElementById('sandbox-scan-result');
function go(outcome){var buttons=document.querySelectorAll('button');buttons.forEach(function(b){b.disabled=true;});
result.textContent='…';
fetch('/sandbox/scan',{method:'POST',credentials:'same-origin',headers:{'content-type':'application/json'},body:JSON.stringify({url:url,outcome:outcome})})
.then(function(res){return res.json();}).then(function(reply){
if(reply.error){result.textContent=reply.message;result.setAttribute('data-outcome','error');result.className='error';buttons.forEach(function(b){b.disabled=false;});return;}
result.textContent=reply.message;result.setAttribute('data-outcome',reply.outcome);
if(reply.total_fee!==undefined){var a=document.getElementById('sandbox-scan-amount');if(a)a.textContent='¥'+(reply.total_fee/100).toFixed(2);}
},function(e){result.textContent=String(e);result.setAttribute('data-outcome','error');});}
document.getElementById('sandbox-scan-pay').addEventListener('click',function(){go('success');});
document.getElementById('sandbox-scan-cancel').addEventListener('click',function(){go('cancel');});
})();`;
    sendHtml(
      ctx,
      200,
      renderPage(
        '扫码支付 Scan to pay',
        `<div class="card" id="sandbox-scan" data-mode="${link.mode}"><p class="muted">微信扫一扫 · WeChat scan (sandbox)</p>
${summary}
<button class="primary" id="sandbox-scan-pay" type="button">立即支付 Pay</button>
<button class="secondary" id="sandbox-scan-cancel" type="button">取消 Cancel</button>
<p id="sandbox-scan-result" aria-live="polite"></p></div>`,
        script,
      ),
    );
  };
}
