/**
 * The buyer side of every channel (docs/channels.md), against the real sandbox over HTTP: a guest session, the
 * official-account OAuth round trip (our /web/oauth/start → the sandbox's authorize page → our callback, the
 * state cookie carried by hand as a browser would), the APP payer, the scanner and the H5 cashier.
 */
import type { CreateOrderResponse, ErrorBody, PaymentChannel, PaymentLaunch } from '@mp-pay/shared/api';
import type { RunningServer } from '../../src/index.ts';
import { bearer, json, post, type Stack } from './stack.ts';

export async function guestToken(server: RunningServer): Promise<string> {
  const res = await fetch(`${server.url}/api/session/guest`, { method: 'POST' });
  if (res.status !== 201) throw new Error(`guest session failed: HTTP ${res.status} ${await res.text()}`);
  return (await json<{ token: string }>(res)).token;
}

export async function placeChannelOrder(
  server: RunningServer,
  token: string,
  channel: PaymentChannel,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: CreateOrderResponse & ErrorBody }> {
  const res = await fetch(
    `${server.url}/api/orders`,
    post({ items: [{ productId: 'green-tea', quantity: 1 }], channel }, { ...bearer(token), ...headers }),
  );
  return { status: res.status, body: await json(res) };
}

export async function channelOrder(server: RunningServer, token: string, channel: PaymentChannel) {
  const res = await placeChannelOrder(server, token, channel);
  if (res.status !== 201) throw new Error(`order failed: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function paymentFor(
  server: RunningServer,
  token: string,
  orderId: string,
  body?: { channel?: PaymentChannel },
): Promise<{ status: number; body: CreateOrderResponse & ErrorBody }> {
  const res = await fetch(
    `${server.url}/api/orders/${orderId}/payment`,
    body === undefined ? { method: 'POST', headers: bearer(token) } : post(body, bearer(token)),
  );
  return { status: res.status, body: await json(res) };
}

export function launchOf<K extends PaymentLaunch['kind']>(
  payment: PaymentLaunch,
  kind: K,
): Extract<PaymentLaunch, { kind: K }> {
  if (payment.kind !== kind) throw new Error(`expected a ${kind} launch, got ${JSON.stringify(payment)}`);
  return payment as Extract<PaymentLaunch, { kind: K }>;
}

/** The OpenSDK in the app: the six PayReq fields and sign, lower-case, to the sandbox's APP payer. */
export async function payApp(stack: Stack, payment: PaymentLaunch, outcome = 'success') {
  const p = launchOf(payment, 'app');
  const res = await fetch(
    `${stack.sandbox.url}/sandbox/app/pay`,
    post({
      appid: p.appId,
      partnerid: p.partnerId,
      prepayid: p.prepayId,
      package: p.package,
      noncestr: p.nonceStr,
      timestamp: p.timeStamp,
      sign: p.sign,
      outcome,
    }),
  );
  return { status: res.status, body: await json<{ errCode: number; errStr: string }>(res) };
}

/** The buyer's WeChat scanning a Native code (mode 2 code_url or mode 1 long link). */
export async function scan(stack: Stack, url: string) {
  const res = await fetch(`${stack.sandbox.url}/sandbox/scan`, post({ url }));
  return { status: res.status, body: await json(res) };
}

/**
 * A phone browser on our checkout page following the H5 launch: the cashier is opened with our page as the
 * Referer (WeChat checks it against the registered H5 domains), its form submitted; WeChat then sends the buyer
 * to redirect_url. Returns where the browser was sent.
 */
export async function payH5(stack: Stack, payment: PaymentLaunch, referer = `${stack.server.url}/shop/`) {
  const { redirectUrl } = launchOf(payment, 'h5');
  const page = await fetch(redirectUrl, { headers: { referer } });
  const html = await page.text();
  const form = /<form[^>]*id="sandbox-h5-cashier"[^>]*action="([^"]+)"/.exec(html);
  if (!form) throw new Error(`no cashier form: ${html.replace(/\s+/g, ' ').slice(0, 400)}`);
  const fields = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields.set(m[1] as string, unescapeHtml(m[2] as string));
  }
  fields.set('outcome', 'success');
  const res = await fetch(new URL(form[1] as string, redirectUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: fields.toString(),
    redirect: 'manual',
  });
  return { status: res.status, location: res.headers.get('location') };
}

function unescapeHtml(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Set-Cookie → the `name=value` pairs a browser would send back. */
function cookiesOf(res: Response): string {
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0] as string)
    .join('; ');
}

export interface OAuthRoundTrip {
  /** Where our callback sent the browser (next#session=… or next#error=…). */
  location: string;
  fragment: URLSearchParams;
}

/**
 * The official-account page's sign-in as WeChat's browser does it: our start route (state cookie), the sandbox's
 * silent snsapi_base authorize page, back to our callback with the cookie. `tamper` changes the trip for tests.
 */
export async function oauthSignIn(
  stack: Stack,
  next = '/shop/pay.html?order=1',
  tamper: { dropCookie?: boolean; state?: string; buyerCookie?: string } = {},
): Promise<OAuthRoundTrip & { callbackUrl: string; stateCookie: string }> {
  const start = await fetch(`${stack.server.url}/web/oauth/start?next=${encodeURIComponent(next)}`, {
    redirect: 'manual',
  });
  if (start.status !== 302) throw new Error(`oauth start: HTTP ${start.status}`);
  const stateCookie = cookiesOf(start);
  const authorize = await fetch(start.headers.get('location') as string, {
    redirect: 'manual',
    headers: tamper.buyerCookie ? { cookie: tamper.buyerCookie } : {},
  });
  if (authorize.status !== 302)
    throw new Error(`authorize: HTTP ${authorize.status} ${await authorize.text()}`);
  const callback = new URL(authorize.headers.get('location') as string);
  if (tamper.state !== undefined) callback.searchParams.set('state', tamper.state);
  const done = await followCallback(callback.toString(), tamper.dropCookie ? '' : stateCookie);
  return { ...done, callbackUrl: callback.toString(), stateCookie };
}

export async function followCallback(callbackUrl: string, cookie: string): Promise<OAuthRoundTrip> {
  const res = await fetch(callbackUrl, { redirect: 'manual', headers: cookie ? { cookie } : {} });
  if (res.status !== 302) throw new Error(`oauth callback: HTTP ${res.status} ${await res.text()}`);
  const location = res.headers.get('location') as string;
  return { location, fragment: new URLSearchParams(location.split('#')[1] ?? '') };
}

/** The JSAPI pay sheet (WeixinJSBridge's getBrandWCPayRequest in the sandbox): the five fields plus appId. */
export async function payJsapi(stack: Stack, payment: PaymentLaunch) {
  const p = launchOf(payment, 'jsapi');
  const res = await fetch(
    `${stack.sandbox.url}/sandbox/pay`,
    post({
      appId: p.appId,
      timeStamp: p.timeStamp,
      nonceStr: p.nonceStr,
      package: p.package,
      signType: p.signType,
      paySign: p.paySign,
    }),
  );
  return (await json<{ errMsg: string }>(res)).errMsg;
}
