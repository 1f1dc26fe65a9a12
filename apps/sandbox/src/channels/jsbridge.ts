import type { Context, Next } from 'koa';
import type { SandboxContext } from '../context.ts';
import { sendJsonError } from '../http/json.ts';
import { reportedState } from '../refunds/status.ts';
import { combineOfPrepay, subOrdersOf, type CombineRecord } from '../v3/combine.ts';
import { combineDescription, combineTotalFee } from '../v3/combine-pay.ts';

/**
 * GET /sandbox/jsbridge.js: WeChat's in-browser `WeixinJSBridge`, for official-account pages opened outside
 * WeChat (the web checkout loads it in sandbox mode only). `invoke('getBrandWCPayRequest', params, cb)` shows a
 * pay sheet, then pays through the sandbox's `POST /sandbox/pay` (the same checks as wx.requestPayment: paySign,
 * appId, prepay_id) and answers `get_brand_wcpay_request:ok | :cancel | :fail`, which proves nothing: the page
 * must still ask its server. The script finds the sandbox from its own src, so it works from any origin.
 */
const SCRIPT = String.raw`(function () {
  'use strict';
  if (window.WeixinJSBridge && window.WeixinJSBridge.__sandbox) return;
  var current = document.currentScript;
  var origin = current && current.src ? new URL(current.src, location.href).origin : location.origin;
  var PAY = 'get_brand_wcpay_request';

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function post(params, outcome) {
    var body = {
      appId: params.appId, timeStamp: params.timeStamp, nonceStr: params.nonceStr,
      package: params['package'], signType: params.signType, paySign: params.paySign, outcome: outcome
    };
    return fetch(origin + '/sandbox/pay', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body)
    }).then(function (res) { return res.json(); });
  }

  function sheet(params, cb) {
    var old = document.getElementById('sandbox-jsbridge-sheet');
    if (old) old.remove();
    var overlay = el('div', { id: 'sandbox-jsbridge-sheet', role: 'dialog', 'aria-modal': 'true',
      style: 'position:fixed;inset:0;z-index:2147483647;background:rgba(0,0,0,.5);display:flex;align-items:flex-end;justify-content:center;font:16px -apple-system,"PingFang SC",Arial,sans-serif' });
    var box = el('div', { style: 'background:#fff;width:100%;max-width:420px;border-radius:12px 12px 0 0;padding:20px 16px;text-align:center;color:#111' });
    box.appendChild(el('div', { style: 'color:#888;font-size:14px' }, '微信支付 WeChat Pay (sandbox)'));
    var amount = el('div', { id: 'sandbox-jsbridge-amount', style: 'font-size:34px;font-weight:600;margin:10px 0' }, '…');
    var what = el('div', { id: 'sandbox-jsbridge-body', style: 'color:#555;font-size:14px' }, '');
    var status = el('div', { id: 'sandbox-jsbridge-status', style: 'color:#fa5151;font-size:14px;min-height:20px' }, '');
    var btn = 'display:block;width:100%;margin-top:12px;padding:12px;border:0;border-radius:6px;font-size:17px;';
    var pay = el('button', { id: 'sandbox-jsbridge-pay', type: 'button', style: btn + 'background:#07c160;color:#fff' }, '立即支付 Pay');
    var fail = el('button', { id: 'sandbox-jsbridge-fail', type: 'button', style: btn + 'background:#f2f2f2;color:#fa5151' }, '支付失败 Decline');
    var cancel = el('button', { id: 'sandbox-jsbridge-cancel', type: 'button', style: btn + 'background:#f2f2f2;color:#111' }, '取消 Cancel');
    [amount, what, status, pay, fail, cancel].forEach(function (n) { box.appendChild(n); });
    overlay.appendChild(box);
    document.body.appendChild(overlay);

    var prepay = /^prepay_id=(.+)$/.exec(String(params['package'] || ''));
    if (prepay) {
      fetch(origin + '/sandbox/prepays/' + encodeURIComponent(prepay[1]))
        .then(function (res) { return res.ok ? res.json() : undefined; })
        .then(function (info) {
          if (!info) { amount.textContent = ''; return; }
          amount.textContent = '¥' + (info.total_fee / 100).toFixed(2);
          what.textContent = info.body;
        })
        .catch(function () { amount.textContent = ''; });
    } else {
      amount.textContent = '';
    }

    var done = false;
    function finish(res) {
      if (done) return;
      done = true;
      overlay.remove();
      cb(res);
    }
    function settle(outcome) {
      pay.disabled = fail.disabled = cancel.disabled = true;
      post(params, outcome).then(function (reply) {
        var msg = String(reply && reply.errMsg || '');
        if (outcome === 'cancel') return finish({ err_msg: PAY + ':cancel' });
        if (msg === 'requestPayment:ok') return finish({ err_msg: PAY + ':ok' });
        finish({ err_msg: PAY + ':fail', err_desc: msg.replace(/^requestPayment:fail ?/, '') + (reply && reply.hint ? ' (' + reply.hint + ')' : '') });
      }, function (err) {
        finish({ err_msg: PAY + ':fail', err_desc: String(err) });
      });
    }
    pay.addEventListener('click', function () { settle('success'); });
    fail.addEventListener('click', function () { settle('fail'); });
    cancel.addEventListener('click', function () { settle('cancel'); });
  }

  window.WeixinJSBridge = {
    __sandbox: true,
    invoke: function (name, params, cb) {
      var callback = typeof cb === 'function' ? cb : function () {};
      if (name !== 'getBrandWCPayRequest') {
        setTimeout(function () { callback({ err_msg: 'system:function_not_exist' }); }, 0);
        return;
      }
      sheet(params || {}, callback);
    },
    on: function () {},
    call: function () {}
  };

  function ready() { document.dispatchEvent(new Event('WeixinJSBridgeReady')); }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', ready);
  else setTimeout(ready, 0);
})();
`;

export function jsbridgeScriptRoute() {
  return (ctx: Context): void => {
    ctx.status = 200;
    ctx.type = 'application/javascript; charset=utf-8';
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('Access-Control-Allow-Origin', '*');
    ctx.body = SCRIPT;
  };
}

/**
 * CORS for what the script calls from the merchant's page: any origin, no credentials (the JSAPI order already
 * names its buyer), preflight answered here.
 */
export async function allowAnyOrigin(ctx: Context, next: Next): Promise<void> {
  ctx.set('Access-Control-Allow-Origin', '*');
  ctx.set('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
  ctx.set('Access-Control-Allow-Headers', 'content-type');
  ctx.set('Access-Control-Max-Age', '600');
  if (ctx.method === 'OPTIONS') {
    ctx.status = 204;
    return;
  }
  await next();
}

/**
 * GET /sandbox/prepays/:prepay_id → what the pay sheet shows (amount, description, merchant). A combine's
 * prepay_id shows the combine: its total, its sub-orders' descriptions, and each sub-order with its state (a
 * combine has no overall state).
 */
export function prepaySummaryRoute(sandbox: SandboxContext) {
  return (ctx: Context): void => {
    const prepay = sandbox.state.prepays.get(String(ctx.params.prepay_id ?? ''));
    const combine = prepay && combineOfPrepay(sandbox, prepay);
    if (prepay && combine) {
      ctx.body = combineSummary(sandbox, prepay.prepayId, combine);
      return;
    }
    const order = prepay && sandbox.state.orders.get(prepay.orderKey);
    if (!prepay || !order) return sendJsonError(ctx, 404, 'PREPAY_NOT_FOUND', 'prepay_id不存在');
    ctx.body = {
      prepay_id: prepay.prepayId,
      out_trade_no: order.outTradeNo,
      mch_id: order.mchId,
      appid: order.appId,
      trade_type: order.tradeType,
      body: order.body,
      total_fee: order.totalFee,
      state: reportedState(order),
    };
  };
}

const COMBINE_TRADE_TYPE = { jsapi: 'JSAPI', app: 'APP', h5: 'MWEB', native: 'NATIVE' } as const;

function combineSummary(sandbox: SandboxContext, prepayId: string, combine: CombineRecord) {
  const orders = subOrdersOf(sandbox, combine);
  return {
    prepay_id: prepayId,
    combine_out_trade_no: combine.outTradeNo,
    mch_id: combine.mchId,
    appid: combine.appId,
    trade_type: COMBINE_TRADE_TYPE[combine.kind],
    body: combineDescription(orders),
    total_fee: combineTotalFee(orders),
    sub_orders: orders.map((order) => ({
      mch_id: order.mchId,
      out_trade_no: order.outTradeNo,
      body: order.body,
      total_fee: order.totalFee,
      state: reportedState(order),
    })),
  };
}
