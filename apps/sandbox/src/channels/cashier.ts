import type { Context } from 'koa';
import type { SandboxContext } from '../context.ts';
import { readRawBody } from '../http/body.ts';
import type { Notifier } from '../notifier.ts';
import { applyExpiry, H5_URL_TTL_MS } from '../pay/orders.ts';
import { settlePayment } from '../pay/settle.ts';
import type { OrderRecord, PrepayRecord } from '../state.ts';
import { combineOfPrepay, subOrdersOf, type CombineRecord } from '../v3/combine.ts';
import { combineDescription, combineTotalFee, settleCombine } from '../v3/combine-pay.ts';
import { browserUser, buyerOpenid } from './buyer.ts';
import { errorPage, escapeHtml, renderPage, sendHtml, yuan } from './html.ts';

/**
 * The H5 (MWEB) cashier: what WeChat's `mweb_url` / `h5_url` page does in a phone's browser
 * (docs/protocol.md §9 "H5", docs/channels.md). `GET /cgi-bin/mmpayweb-bin/checkmweb?prepay_id&package
 * [&redirect_url]` checks, in this order: the link (prepay_id and package), WeChat's own browser (H5 is for
 * other browsers), the Referer (a registered H5 domain), the link's age (5 minutes), the visitor's IP (the
 * order's spbill_create_ip / payer_client_ip), redirect_url (absolute http(s), on a registered H5 domain like the
 * Referer: WeChat's H5 FAQ, https://pay.weixin.qq.com/doc/v2/merchant/4011936869, answers another host with
 * 商家存在未配置的参数); then shows the amount and a pay button. Paying (`POST /sandbox/h5/pay`, a form) settles
 * like every channel and returns to redirect_url.
 *
 * A combine's h5_url (POST /v3/combine-transactions/h5) goes through the same checks (the IP is the combine's
 * scene_info.payer_client_ip), shows the combine's total, and pays every sub-order at once; the form's
 * `fail_sub_order` (a sub-order's out_trade_no; the page has a button per sub-order) fails that one sub-order,
 * as on POST /sandbox/pay.
 */
const PARAM_ERROR = '商家参数格式有误，请联系商家解决';
const NETWORK_ERROR = '网络环境未能通过安全验证，请稍后再试';
const EXPIRED = '支付请求已失效，请用户重新发起支付';
const IN_WECHAT = '请在微信外打开订单，进行支付';
const NOT_CONFIGURED = '商家存在未配置的参数，请联系商家解决';

/** What an h5 link pays: one MWEB trade, or an h5 combine and its sub-orders. */
type Payable = { order: OrderRecord; combine?: undefined } | { order?: undefined; combine: CombineRecord };

type Checked =
  | ({ ok: true; prepay: PrepayRecord; redirectUrl: string | undefined; orders: OrderRecord[] } & Payable)
  | { ok: false; message: string; detail: string };

/**
 * An address as compared: `::ffff:127.0.0.1` is 127.0.0.1 (Node reports IPv4 visitors of a dual-stack socket
 * that way), and every loopback address is one machine (a browser may reach the merchant on ::1 and the
 * sandbox on 127.0.0.1). WeChat compares public addresses; on one development machine this is the same test.
 */
export function comparableIp(ip: string | undefined): string {
  const plain = ip?.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : (ip ?? '');
  return plain === '::1' || plain.startsWith('127.') ? 'loopback' : plain.toLowerCase();
}

function checkLink(
  sandbox: SandboxContext,
  ctx: Context,
  fields: { prepayId?: string; pkg?: string; redirectUrl?: string },
): Checked {
  const fail = (message: string, detail: string): Checked => ({ ok: false, message, detail });
  const prepay = fields.prepayId ? sandbox.state.prepays.get(fields.prepayId) : undefined;
  const combine = prepay && combineOfPrepay(sandbox, prepay);
  const order = combine ? undefined : prepay && sandbox.state.orders.get(prepay.orderKey);
  const payable: Payable | undefined =
    combine?.kind === 'h5' ? { combine } : order?.tradeType === 'MWEB' ? { order } : undefined;
  if (!prepay || !payable || !prepay.h5Package) {
    return fail(PARAM_ERROR, 'unknown prepay_id: open the mweb_url / h5_url exactly as WeChat returned it');
  }
  // A combine's sub-orders all carry its scene_info.payer_client_ip.
  const orders = payable.combine ? subOrdersOf(sandbox, payable.combine) : [payable.order];
  const clientIp = orders[0]?.clientIp;
  if (fields.pkg !== prepay.h5Package) {
    return fail(PARAM_ERROR, 'package does not belong to this prepay_id: do not edit the mweb_url');
  }
  if (/MicroMessenger/i.test(ctx.get('user-agent'))) {
    return fail(IN_WECHAT, "H5 payment is for browsers other than WeChat's: in WeChat, pay with JSAPI");
  }
  if (sandbox.clock.now() - prepay.issuedAt > H5_URL_TTL_MS) {
    return fail(EXPIRED, 'an mweb_url lives 5 minutes: place the order again for a fresh one');
  }
  const ip = ctx.ip;
  if (comparableIp(ip) !== comparableIp(clientIp)) {
    return fail(
      NETWORK_ERROR,
      `the order was placed for ${clientIp ?? '?'} (spbill_create_ip / payer_client_ip) but the page is opened from ${ip}`,
    );
  }
  let redirectUrl: string | undefined;
  if (fields.redirectUrl !== undefined && fields.redirectUrl !== '') {
    let url: URL | undefined;
    try {
      url = new URL(fields.redirectUrl);
    } catch {
      url = undefined;
    }
    if (!url || !['http:', 'https:'].includes(url.protocol)) {
      return fail(PARAM_ERROR, 'redirect_url must be an absolute http(s) URL, URL-encoded');
    }
    // An open redirect otherwise: WeChat only sends the buyer back to the merchant's registered H5 domains.
    const host = url.hostname.toLowerCase();
    if (!sandbox.config.h5Domains.includes(host)) {
      return fail(
        NOT_CONFIGURED,
        `redirect_url's host ${host} is not a registered H5 payment domain (SANDBOX_H5_DOMAINS: ${sandbox.config.h5Domains.join(', ')})`,
      );
    }
    redirectUrl = url.toString();
  }
  return { ok: true, prepay, redirectUrl, orders, ...payable };
}

/** The Referer rule, for the GET only (the pay form is posted from the cashier itself). */
function refererProblem(sandbox: SandboxContext, ctx: Context): string | undefined {
  const referer = ctx.get('referer');
  if (!referer) {
    return 'the request has no Referer: open the mweb_url from a page of a registered H5 domain (not by typing it, not with Referrer-Policy: no-referrer)';
  }
  let host: string;
  try {
    host = new URL(referer).hostname.toLowerCase();
  } catch {
    return 'the Referer is not a URL';
  }
  if (!sandbox.config.h5Domains.includes(host)) {
    return `the Referer host ${host} is not a registered H5 payment domain (SANDBOX_H5_DOMAINS: ${sandbox.config.h5Domains.join(', ')})`;
  }
  return undefined;
}

const text = (ctx: Context, name: string): string | undefined =>
  typeof ctx.query[name] === 'string' ? (ctx.query[name] as string) : undefined;

export function cashierPageRoute(sandbox: SandboxContext) {
  return (ctx: Context): void => {
    const error = (message: string, detail: string) =>
      sendHtml(ctx, 200, errorPage('sandbox-h5-error', message, detail));
    const checked = checkLink(sandbox, ctx, {
      prepayId: text(ctx, 'prepay_id'),
      pkg: text(ctx, 'package'),
      redirectUrl: text(ctx, 'redirect_url'),
    });
    // The Referer is judged once the link is known to be WeChat's, before anything else about the visit.
    if (checked.ok || checked.message !== PARAM_ERROR) {
      const referer = refererProblem(sandbox, ctx);
      if (referer) return error(PARAM_ERROR, referer);
    }
    if (!checked.ok) return error(checked.message, checked.detail);
    const { prepay, redirectUrl, orders, combine } = checked;
    for (const order of orders) applyExpiry(order, sandbox.clock.now());
    const unpayable = orders.find((order) => order.state !== 'NOTPAY');
    if (unpayable) {
      return error(
        orders.some((order) => order.state === 'SUCCESS') ? '该订单已支付' : '订单已关闭',
        combine
          ? `sub-order ${unpayable.outTradeNo} of combine ${combine.outTradeNo} is ${unpayable.state}: nothing to pay`
          : `the order is ${unpayable.state}: nothing to pay`,
      );
    }
    const first = orders[0] as OrderRecord;
    const merchantLine = combine
      ? `合单 combine ${escapeHtml(combine.outTradeNo)} · 商户号 merchant ${escapeHtml(combine.mchId)}`
      : `商户号 merchant ${escapeHtml(first.mchId)} · ${escapeHtml(first.outTradeNo)}`;
    // A combine's sub-orders, each with the sandbox's button to fail it alone (outcome success, fail_sub_order).
    const subOrders = combine
      ? `<ul id="sandbox-h5-sub-orders" class="muted">${orders
          .map(
            (order) =>
              `<li>${escapeHtml(order.body)} ${escapeHtml(yuan(order.totalFee))} · ${escapeHtml(order.mchId)}
<button class="secondary" type="submit" name="fail_sub_order" value="${escapeHtml(order.outTradeNo)}">支付但此子单失败 Pay, fail ${escapeHtml(order.outTradeNo)}</button></li>`,
          )
          .join('\n')}</ul>`
      : '';
    browserUser(ctx); // the buyer's sandbox identity, created on the first visit
    const hidden = (name: string, value: string) =>
      `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
    sendHtml(
      ctx,
      200,
      renderPage(
        '微信支付 WeChat Pay',
        `<form class="card" id="sandbox-h5-cashier" method="post" action="/sandbox/h5/pay">
<p class="muted">微信支付 · WeChat Pay</p>
<div class="amount" id="sandbox-h5-amount">${escapeHtml(yuan(combineTotalFee(orders)))}</div>
<p id="sandbox-h5-body">${escapeHtml(combineDescription(orders))}</p>
<p class="muted">${merchantLine}</p>
${hidden('prepay_id', prepay.prepayId)}${hidden('package', prepay.h5Package ?? '')}${hidden('redirect_url', redirectUrl ?? '')}
<button class="primary" id="sandbox-h5-pay" type="submit" name="outcome" value="success">立即支付 Pay</button>
<button class="secondary" id="sandbox-h5-fail" type="submit" name="outcome" value="fail">支付失败 Decline</button>
<button class="secondary" id="sandbox-h5-cancel" type="submit" name="outcome" value="cancel">取消 Cancel</button>
${subOrders}</form>`,
      ),
    );
  };
}

/** POST /sandbox/h5/pay (form): the buyer's choice on the cashier; back to redirect_url, else a result page. */
export function cashierPayRoute(sandbox: SandboxContext, notifier: Notifier) {
  return async (ctx: Context): Promise<void> => {
    const form = new URLSearchParams((await readRawBody(ctx, 16 * 1024)).toString('utf8'));
    const field = (name: string) => form.get(name) ?? undefined;
    const checked = checkLink(sandbox, ctx, {
      prepayId: field('prepay_id'),
      pkg: field('package'),
      redirectUrl: field('redirect_url'),
    });
    if (!checked.ok)
      return sendHtml(ctx, 200, errorPage('sandbox-h5-error', checked.message, checked.detail));
    const outcome =
      field('outcome') === 'cancel' ? 'cancel' : field('outcome') === 'fail' ? 'fail' : 'success';
    const { prepay, redirectUrl, orders, order, combine } = checked;
    const openid = buyerOpenid(sandbox, (combine ?? order).appId, browserUser(ctx));
    const failSubOrder = field('fail_sub_order') || undefined;
    const settled = combine
      ? settleCombine(sandbox, notifier, prepay, combine, outcome, failSubOrder, openid)
      : settlePayment(sandbox, notifier, order, prepay, outcome, openid);
    const hint = 'hint' in settled ? settled.hint : undefined;
    const message = !settled.ok
      ? settled.reason
      : outcome === 'success'
        ? '支付成功 Paid'
        : outcome === 'cancel'
          ? '已取消 Cancelled'
          : '支付失败 Declined';
    // WeChat goes back to redirect_url whatever happened: the merchant's page must ask its server.
    if (redirectUrl) {
      ctx.redirect(redirectUrl);
      return;
    }
    sendHtml(
      ctx,
      200,
      renderPage(
        message,
        `<div class="card" id="sandbox-h5-done"><h1 id="sandbox-h5-result" data-outcome="${escapeHtml(
          settled.ok ? outcome : 'refused',
        )}">${escapeHtml(message)}</h1><p class="muted">${escapeHtml(yuan(combineTotalFee(orders)))} · ${escapeHtml((combine ?? order).outTradeNo)}</p>${
          hint ? `<p class="muted" id="sandbox-h5-hint">${escapeHtml(hint)}</p>` : ''
        }</div>`,
      ),
    );
  };
}
