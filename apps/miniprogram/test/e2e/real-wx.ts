/**
 * The `wx` of the end-to-end test: what the WeChat app does, done for real against the sandbox.
 * - request: real HTTP (node:http), with wx.request's conventions (JSON body, statusCode, parsed data,
 *   `request:fail …` when no response arrives);
 * - login: a login code from the sandbox (POST /sandbox/login-codes), as WeChat's wx.login would give;
 * - requestPayment: the five fields plus the app's appId to the sandbox payer (POST /sandbox/pay);
 * - `payerExtras`: what the test adds to every payment at the sandbox payer, from either path (the live-mode
 *   wx.requestPayment here or the sandbox-mode app's own POST /sandbox/pay), e.g. `fail_sub_order` to make one
 *   sub-order of a combine fail: a decision WeChat's cashier leaves to the bank, not to the app;
 * - requestSubscribeMessage: the buyer's answer (from a queue the test fills, `accept` by default) recorded at
 *   the sandbox (POST /sandbox/subscribe/consents) for the buyer's openid, as WeChat records the consent;
 * - showActionSheet / showModal: the buyer's choices, taken from queues the test fills;
 * - navigation, toasts, titles and page scrolls: recorded. Any other API throws (see fake-wx.ts).
 */
import { request as httpRequest } from 'node:http';
import { installFakeWx, type FakeWx } from '../support/fake-wx.ts';

export interface RealWxOptions {
  sandboxUrl: string;
  appId: string;
  /** The buyer wx.login logs in as (live-mode path only). */
  user: string;
}

export interface RealWx extends FakeWx {
  nav: { api: string; url: string }[];
  toasts: string[];
  /** Indexes the buyer taps in the next action sheets (the sandbox payment sheet). */
  sheetChoices: number[];
  /**
   * Added to every payment the sandbox payer receives (see the header); empty unless the test fills it. Only
   * for fields the app never sends itself.
   */
  payerExtras: Record<string, unknown>;
  /** Every body the sandbox payer received, from either path, as sent (extras included). */
  payerRequests: Record<string, unknown>[];
  /** Outcomes of the next wx.requestPayment calls ('success' | 'cancel' | 'fail'). */
  cashierOutcomes: string[];
  /** What the next dialogs answer: confirm or not, or (for one with an input) the text typed, confirmed. */
  modalAnswers: (boolean | string)[];
  paymentsRequested: Record<string, unknown>[];
  /** Answers of the next consent dialogs (wx.requestSubscribeMessage); `accept` when empty. */
  subscribeAnswers: string[];
  /** The tmplIds of each wx.requestSubscribeMessage call. */
  subscriptionsAsked: string[][];
  /**
   * The openid the sandbox issued for this app's buyer (from its login-code replies): WeChat knows who is
   * asked for consent; the sandbox's consent control needs to be told.
   */
  openid: () => string | null;
}

interface HttpReply {
  statusCode: number;
  data: unknown;
  header: Record<string, unknown>;
}

function http(
  method: string,
  url: string,
  data: unknown,
  header: Record<string, string>,
  timeoutMs: number,
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    let target = url;
    let body: string | undefined;
    if (data !== undefined && method === 'GET') {
      // wx.request puts GET data in the query string.
      const query = Object.entries(data as Record<string, unknown>)
        .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
        .join('&');
      target += (url.includes('?') ? '&' : '?') + query;
    } else if (data !== undefined) {
      body = JSON.stringify(data);
    }
    const req = httpRequest(
      target,
      {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...header,
          ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // wx.request with dataType json hands over the raw string when it is not JSON.
          }
          resolve({ statusCode: res.statusCode ?? 0, data: parsed, header: res.headers });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

export function installRealWx(options: RealWxOptions): RealWx {
  const nav: RealWx['nav'] = [];
  const toasts: string[] = [];
  const sheetChoices: number[] = [];
  const cashierOutcomes: string[] = [];
  const modalAnswers: (boolean | string)[] = [];
  const paymentsRequested: Record<string, unknown>[] = [];
  const subscribeAnswers: string[] = [];
  const subscriptionsAsked: string[][] = [];
  const payerExtras: Record<string, unknown> = {};
  const payerRequests: Record<string, unknown>[] = [];
  const toPayer = (body: Record<string, unknown>) => {
    const sent = { ...body, ...payerExtras };
    payerRequests.push(sent);
    return sent;
  };
  const payerUrl = `${options.sandboxUrl}/sandbox/pay`;
  let openid: string | null = null;
  /** Both login paths (the sandbox-mode app's own request, wx.login here) get their code from the sandbox. */
  const noteLogin = (url: string, data: unknown) => {
    const issued = (data as { openid?: unknown } | null)?.openid;
    if (url === `${options.sandboxUrl}/sandbox/login-codes` && typeof issued === 'string') openid = issued;
  };
  const navigate = (api: string) =>
    ((opts: { url: string; success?: () => void }) => {
      nav.push({ api, url: opts.url });
      opts.success?.();
    }) as never;

  const fake = installFakeWx({
    request: ((opts: WechatMiniprogram.RequestOption) => {
      const isPayment = opts.url === payerUrl && opts.method === 'POST';
      http(
        opts.method ?? 'GET',
        opts.url,
        isPayment ? toPayer(opts.data as Record<string, unknown>) : opts.data,
        (opts.header ?? {}) as Record<string, string>,
        opts.timeout ?? 60_000,
      )
        .then((reply) => {
          noteLogin(opts.url, reply.data);
          opts.success?.({
            ...reply,
            cookies: [],
            errMsg: 'request:ok',
          } as unknown as WechatMiniprogram.RequestSuccessCallbackResult);
        })
        .catch((err: Error) =>
          opts.fail?.({ errMsg: `request:fail ${err.message}` } as WechatMiniprogram.RequestFailCallbackErr),
        );
      return { abort() {} };
    }) as never,

    login: ((opts: WechatMiniprogram.LoginOption) => {
      http(
        'POST',
        `${options.sandboxUrl}/sandbox/login-codes`,
        { appid: options.appId, user: options.user },
        {},
        10_000,
      )
        .then((reply) => {
          noteLogin(`${options.sandboxUrl}/sandbox/login-codes`, reply.data);
          const code = (reply.data as { code?: string }).code;
          if (reply.statusCode === 201 && code) opts.success?.({ code, errMsg: 'login:ok' });
          else
            opts.fail?.({
              errMsg: `login:fail HTTP ${reply.statusCode}`,
            } as WechatMiniprogram.RequestFailCallbackErr);
        })
        .catch((err: Error) =>
          opts.fail?.({ errMsg: `login:fail ${err.message}` } as WechatMiniprogram.RequestFailCallbackErr),
        );
    }) as never,

    requestPayment: ((opts: WechatMiniprogram.RequestPaymentOption) => {
      const { timeStamp, nonceStr, signType, paySign } = opts;
      const five = { timeStamp, nonceStr, package: opts.package, signType, paySign };
      paymentsRequested.push({ ...opts });
      const outcome = cashierOutcomes.shift() ?? 'success';
      // WeChat knows the calling app's appId; the sandbox payer needs it passed.
      http('POST', payerUrl, toPayer({ ...five, appId: options.appId, outcome }), {}, 10_000)
        .then((reply) => {
          const errMsg = String(
            (reply.data as { errMsg?: unknown }).errMsg ?? `requestPayment:fail HTTP ${reply.statusCode}`,
          );
          if (errMsg === 'requestPayment:ok') opts.success?.({ errMsg });
          else opts.fail?.({ errMsg });
        })
        .catch((err: Error) => opts.fail?.({ errMsg: `requestPayment:fail ${err.message}` }));
    }) as never,

    requestSubscribeMessage: ((opts: WechatMiniprogram.RequestSubscribeMessageOption) => {
      subscriptionsAsked.push([...opts.tmplIds]);
      const answer = subscribeAnswers.shift() ?? 'accept';
      const fail = (errMsg: string) =>
        opts.fail?.({ errCode: 10002, errMsg: `requestSubscribeMessage:fail ${errMsg}` });
      if (openid === null) return void setTimeout(() => fail('no buyer logged in'), 0);
      const buyer = openid;
      Promise.all(
        opts.tmplIds.map((templateId) =>
          http(
            'POST',
            `${options.sandboxUrl}/sandbox/subscribe/consents`,
            { appid: options.appId, openid: buyer, template_id: templateId, answer },
            {},
            10_000,
          ).then((reply) => {
            if (reply.statusCode !== 201)
              throw new Error(`consent HTTP ${reply.statusCode}: ${JSON.stringify(reply.data)}`);
            return [templateId, answer] as const;
          }),
        ),
      )
        .then((answers) =>
          opts.success?.({ errMsg: 'requestSubscribeMessage:ok', ...Object.fromEntries(answers) } as never),
        )
        .catch((err: Error) => fail(err.message));
    }) as never,

    showActionSheet: ((opts: WechatMiniprogram.ShowActionSheetOption) => {
      const choice = sheetChoices.shift();
      setTimeout(() => {
        if (choice === undefined) opts.fail?.({ errMsg: 'showActionSheet:fail cancel' });
        else opts.success?.({ tapIndex: choice, errMsg: 'showActionSheet:ok' });
      }, 0);
    }) as never,

    showModal: ((opts: WechatMiniprogram.ShowModalOption) => {
      const answer = modalAnswers.shift() ?? false;
      const confirm = answer !== false;
      const content = typeof answer === 'string' ? answer : '';
      setTimeout(() => opts.success?.({ confirm, cancel: !confirm, content, errMsg: 'showModal:ok' }), 0);
    }) as never,

    showToast: ((opts: { title: string }) => {
      toasts.push(opts.title);
    }) as never,
    stopPullDownRefresh: (() => undefined) as never,
    setNavigationBarTitle: (() => undefined) as never,
    pageScrollTo: (() => undefined) as never,
    switchTab: navigate('switchTab'),
    navigateTo: navigate('navigateTo'),
    redirectTo: navigate('redirectTo'),
    reLaunch: navigate('reLaunch'),
  });
  return {
    ...fake,
    nav,
    toasts,
    sheetChoices,
    payerExtras,
    payerRequests,
    cashierOutcomes,
    modalAnswers,
    paymentsRequested,
    subscribeAnswers,
    subscriptionsAsked,
    openid: () => openid,
  };
}

/** Reads the query of a page URL the app navigated to, for the next page's onLoad. */
export function queryOf(url: string): { page: string; query: Record<string, string> } {
  const [path = '', qs = ''] = url.split('?');
  const query: Record<string, string> = {};
  for (const pair of qs.split('&').filter(Boolean)) {
    const [k = '', v = ''] = pair.split('=');
    // The framework hands onLoad decoded values.
    query[decodeURIComponent(k)] = decodeURIComponent(v);
  }
  return { page: path.replace(/^\//, ''), query };
}
