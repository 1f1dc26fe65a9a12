/**
 * The WeixinJSBridge stand-in (GET /sandbox/jsbridge.js), run in a node:vm context with a minimal DOM: the
 * served script itself defines the bridge, fires WeixinJSBridgeReady, shows the pay sheet and pays through the
 * sandbox's real /sandbox/pay over HTTP. Plus the CORS the merchant's page needs.
 */
import { createContext, runInContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { eventually, inspect, payParams, placeOrder, useSandboxAndReceiver } from './helpers.ts';

const ctx = useSandboxAndReceiver();

class FakeElement {
  readonly children: FakeElement[] = [];
  readonly attributes: Record<string, string> = {};
  readonly listeners: Record<string, Array<() => void>> = {};
  textContent = '';
  disabled = false;
  parent: FakeElement | undefined;
  constructor(readonly tag: string) {}
  setAttribute(name: string, value: string) {
    this.attributes[name] = value;
  }
  appendChild(child: FakeElement) {
    child.parent = this;
    this.children.push(child);
    return child;
  }
  remove() {
    if (!this.parent) return;
    this.parent.children.splice(this.parent.children.indexOf(this), 1);
    this.parent = undefined;
  }
  addEventListener(type: string, fn: () => void) {
    (this.listeners[type] ??= []).push(fn);
  }
  click() {
    if (!this.disabled) for (const fn of this.listeners.click ?? []) fn();
  }
  find(id: string): FakeElement | undefined {
    if (this.attributes.id === id) return this;
    for (const child of this.children) {
      const found = child.find(id);
      if (found) return found;
    }
    return undefined;
  }
}

type Bridge = { invoke(name: string, params: unknown, cb: (res: Record<string, string>) => void): void };

/** Loads the served script into a fresh "page" on the merchant's origin. */
async function page() {
  const script = await (await fetch(`${ctx.sb.url}/sandbox/jsbridge.js`)).text();
  const body = new FakeElement('body');
  const events: string[] = [];
  const document = {
    readyState: 'complete',
    currentScript: { src: `${ctx.sb.url}/sandbox/jsbridge.js` },
    body,
    createElement: (tag: string) => new FakeElement(tag),
    getElementById: (id: string) => body.find(id) ?? null,
    addEventListener: () => {},
    dispatchEvent: (event: { type: string }) => events.push(event.type),
  };
  const context = createContext({
    document,
    fetch,
    setTimeout,
    URL,
    Event: class {
      constructor(readonly type: string) {}
    },
    location: { href: 'http://127.0.0.1:3000/shop/pay.html', origin: 'http://127.0.0.1:3000' },
  }) as Record<string, unknown>;
  context.window = context;
  runInContext(script, context);
  return { bridge: context.WeixinJSBridge as Bridge, body, events };
}

function invoke(bridge: Bridge, name: string, params: unknown) {
  return new Promise<Record<string, string>>((resolve) => bridge.invoke(name, params, resolve));
}

describe('GET /sandbox/jsbridge.js', () => {
  it('is JavaScript any origin may load, defining WeixinJSBridge and firing WeixinJSBridgeReady', async () => {
    const res = await fetch(`${ctx.sb.url}/sandbox/jsbridge.js`);
    expect(res.headers.get('content-type')).toContain('application/javascript');
    const { bridge, events } = await page();
    expect(typeof bridge.invoke).toBe('function');
    await eventually(() => (events.includes('WeixinJSBridgeReady') ? true : undefined));
  });

  it('getBrandWCPayRequest shows the sheet with the amount; Pay pays and answers :ok', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    const { bridge, body } = await page();
    const result = invoke(bridge, 'getBrandWCPayRequest', payParams(order));
    const sheet = body.find('sandbox-jsbridge-sheet');
    expect(sheet).toBeDefined();
    await eventually(() =>
      body.find('sandbox-jsbridge-amount')?.textContent === '¥19.99' ? true : undefined,
    );
    body.find('sandbox-jsbridge-pay')?.click();
    expect(await result).toEqual({ err_msg: 'get_brand_wcpay_request:ok' });
    expect(body.find('sandbox-jsbridge-sheet')).toBeUndefined();
    expect((await inspect(ctx.sb, order.outTradeNo)).state).toBe('SUCCESS');
  });

  it('Cancel answers :cancel and leaves the order unpaid', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    const { bridge, body } = await page();
    const result = invoke(bridge, 'getBrandWCPayRequest', payParams(order));
    body.find('sandbox-jsbridge-cancel')?.click();
    expect(await result).toEqual({ err_msg: 'get_brand_wcpay_request:cancel' });
    expect((await inspect(ctx.sb, order.outTradeNo)).state).toBe('NOTPAY');
  });

  it('a bad paySign answers :fail with the reason', async () => {
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    const { bridge, body } = await page();
    const result = invoke(bridge, 'getBrandWCPayRequest', { ...payParams(order), paySign: 'F'.repeat(32) });
    body.find('sandbox-jsbridge-pay')?.click();
    const res = await result;
    expect(res.err_msg).toBe('get_brand_wcpay_request:fail');
    expect(res.err_desc).toContain('支付验证签名失败');
    expect((await inspect(ctx.sb, order.outTradeNo)).state).toBe('NOTPAY');
  });

  it('other calls answer system:function_not_exist', async () => {
    const { bridge } = await page();
    expect(await invoke(bridge, 'editAddress', {})).toEqual({ err_msg: 'system:function_not_exist' });
  });
});

describe('CORS for the merchant page', () => {
  it('answers the preflight of POST /sandbox/pay and allows any origin', async () => {
    const preflight = await fetch(`${ctx.sb.url}/sandbox/pay`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://127.0.0.1:3000',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('content-type');
    const order = await placeOrder(ctx.sb, ctx.receiver.url);
    const summary = await fetch(`${ctx.sb.url}/sandbox/prepays/${order.prepayId}`, {
      headers: { origin: 'http://127.0.0.1:3000' },
    });
    expect(summary.headers.get('access-control-allow-origin')).toBe('*');
    expect(await summary.json()).toMatchObject({ total_fee: 1999, trade_type: 'JSAPI', state: 'NOTPAY' });
    expect((await fetch(`${ctx.sb.url}/sandbox/prepays/wx0`)).status).toBe(404);
  });
});
