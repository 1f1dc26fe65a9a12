import { createPrivateKey, randomBytes } from 'node:crypto';
import { SANDBOX_DEMO, SANDBOX_DEMO_V3 } from '@mp-pay/shared/wechatpay';
import { miniProgramPayParamsV3, V3KeySet, WechatPayV3Client, WechatPayV3Error } from '@mp-pay/shared/v3';
import { errorDocument, escapeControl, EXIT, UsageError, type CommandResult } from './io.ts';
import { settingContent, type Settings } from './config.ts';

/**
 * `trigger <scenario>`: plays WeChat's side of a scenario against the sandbox, with the merchant's notify_url
 * as the target, then reads the sandbox's record of every notification attempt and says whether the merchant
 * answered as it must (acknowledge genuine ones, once or many times; reject forgeries and probes). The CLI acts
 * as the merchant only to place the order, pay it as the buyer, and refund it: with the demo merchant unless
 * --appid / --mchid / --private-key / --cert-serial (or an --env-file) name the one the sandbox is set up with.
 * Everything goes through the sandbox's public API (apps/sandbox/README.md: faults, payer, inspection).
 */
export interface ScenarioDef {
  summary: string;
  /** The sandbox faults set on the order before it is placed. */
  faults?: (o: TriggerOptions) => Record<string, unknown>;
  outcome?: 'success' | 'payerror';
  /** Refund the order right after paying it, ending this way. */
  refund?: 'success' | 'abnormal' | 'closed';
  /** The forgery the merchant must reject before the genuine notification. */
  forged?: string;
  /**
   * The faults that replace `faults` once the payment notification is scheduled (the sandbox reads the delay
   * when each notification starts, the payment's and the refund's alike).
   */
  afterPay?: Record<string, unknown>;
}

export const SCENARIOS: Readonly<Record<string, ScenarioDef>> = {
  'payment-success': { summary: 'pay; the merchant must acknowledge the notification' },
  'payment-failure': {
    summary:
      "the buyer's bank fails the payment (PAYERROR): no notification; the merchant learns it by querying",
    outcome: 'payerror',
  },
  'duplicate-notification': {
    summary:
      'after the acknowledged notification, the same one arrives N more times (--count, 2): acknowledge every copy, apply it once',
    faults: (o) => ({ duplicateNotifications: o.count }),
  },
  'out-of-order': {
    summary:
      'the payment notification is held back (--hold-ms) while the order is refunded: the refund notification arrives first',
    faults: (o) => ({ notifyDelayMs: o.holdMs, refundOutcome: 'success' }),
    afterPay: { refundOutcome: 'success' },
    refund: 'success',
  },
  signtest: {
    summary:
      'a WECHATPAY/SIGNTEST/ probe first: the merchant must reject it, then acknowledge the genuine one',
    faults: () => ({ forgeNotification: 'signtest' }),
    forged: 'forged-signtest',
  },
  'stale-timestamp': {
    summary: 'a validly signed notification 10 minutes old first: reject it (5-minute window)',
    faults: () => ({ forgeNotification: 'stale-timestamp' }),
    forged: 'forged-stale-timestamp',
  },
  'tampered-body': {
    summary: 'a notification whose body does not match its signature first: reject it',
    faults: () => ({ forgeNotification: 'bad-sign' }),
    forged: 'forged-bad-sign',
  },
  'tampered-ciphertext': {
    summary:
      'a validly signed notification whose ciphertext has a flipped bit first: the GCM tag check must reject it',
    faults: () => ({ forgeNotification: 'tampered-ciphertext' }),
    forged: 'forged-tampered-ciphertext',
  },
  'refund-success': {
    summary: 'pay, refund: the refund succeeds (REFUND.SUCCESS notification)',
    faults: () => ({ refundOutcome: 'success' }),
    refund: 'success',
  },
  'refund-abnormal': {
    summary: "pay, refund: the refund ends ABNORMAL (REFUND.ABNORMAL; the buyer's account cannot take it)",
    faults: () => ({ refundOutcome: 'abnormal' }),
    refund: 'abnormal',
  },
  'refund-closed': {
    summary: 'pay, refund: the refund ends CLOSED (REFUND.CLOSED; the amount is refundable again)',
    faults: () => ({ refundOutcome: 'closed' }),
    refund: 'closed',
  },
};

export interface TriggerOptions {
  sandbox: string;
  notifyUrl: string;
  refundNotifyUrl: string;
  amountFen: number;
  count: number;
  holdMs: number;
  timeoutMs: number;
  settings: Settings;
}

interface Attempt {
  at: string;
  attempt: number;
  kind: string;
  outcome: string;
  httpStatus?: number;
  reply?: string;
  error?: string;
}

interface InspectedOrder {
  state: string;
  notifications: Attempt[];
  refunds: { out_refund_no: string; v3_status: string; notifications: Attempt[] }[];
}

export interface TriggerReport {
  scenario: string;
  ok: boolean;
  sandbox: string;
  outTradeNo?: string;
  state?: string;
  notifications?: Attempt[];
  refund?: { outRefundNo: string; status: string; notifications: Attempt[] };
  /** For out-of-order: which notification reached the merchant first. */
  firstArrived?: 'payment' | 'refund';
  problems: string[];
}

export class SandboxUnreachable extends Error {
  override name = 'SandboxUnreachable';
}

async function call<T>(base: string, path: string, init?: { method?: string; body?: unknown }): Promise<T> {
  let res: Response;
  try {
    res = await fetch(new URL(path, base), {
      method: init?.method ?? 'GET',
      ...(init?.body === undefined
        ? {}
        : { body: JSON.stringify(init.body), headers: { 'content-type': 'application/json' } }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new SandboxUnreachable(
      `cannot reach the sandbox at ${base}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`,
    );
  }
  const text = await res.text();
  if (!res.ok) {
    const known = unknownSetting(text);
    if (known) throw new UsageError(known);
    throw new Error(`${init?.method ?? 'GET'} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  }
  return (text ? JSON.parse(text) : undefined) as T;
}

/** The flag behind each `UNKNOWN_…` the sandbox answers (apps/sandbox/README.md: `{error, message}` replies). */
const UNKNOWN_FLAGS: Readonly<Record<string, string>> = {
  UNKNOWN_MCH_ID: '--mchid (WECHATPAY_MCHID)',
  UNKNOWN_APPID: '--appid (WECHAT_APPID)',
};

/**
 * A sandbox reply saying it does not know a merchant or app the user named is the user's mistake (exit 2), not
 * an unexpected failure: name the setting to fix.
 */
function unknownSetting(text: string): string | undefined {
  let reply: { error?: unknown; message?: unknown };
  try {
    reply = JSON.parse(text) as typeof reply;
  } catch {
    return undefined;
  }
  if (typeof reply.error !== 'string' || !reply.error.startsWith('UNKNOWN_')) return undefined;
  const flag = UNKNOWN_FLAGS[reply.error];
  const said = typeof reply.message === 'string' ? `: ${reply.message}` : '';
  return `the sandbox answered ${reply.error}${said}${flag ? ` — check ${flag}, or leave it out to use the demo merchant` : ''}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runTrigger(name: string, o: TriggerOptions): Promise<TriggerReport> {
  const scenario = SCENARIOS[name];
  if (!scenario)
    throw new UsageError(`unknown scenario ${name}: one of ${Object.keys(SCENARIOS).join(', ')}`);
  const report: TriggerReport = { scenario: name, ok: false, sandbox: o.sandbox, problems: [] };
  // The user's own settings first: a key that does not load is a usage error whether or not the sandbox is up.
  const s = o.settings;
  const appId = s.WECHAT_APPID?.value ?? SANDBOX_DEMO.appId;
  const mchId = s.WECHATPAY_MCHID?.value ?? SANDBOX_DEMO.mchId;
  const privateKey = s.WECHATPAY_PRIVATE_KEY
    ? settingContent(s.WECHATPAY_PRIVATE_KEY).toString('utf8')
    : SANDBOX_DEMO_V3.mchPrivateKey;
  if (s.WECHATPAY_PRIVATE_KEY) {
    try {
      createPrivateKey(privateKey);
    } catch {
      throw new UsageError(
        `${s.WECHATPAY_PRIVATE_KEY.source} is not a PEM private key (apiclient_key.pem)${privateKey.includes('PUBLIC KEY') || privateKey.includes('CERTIFICATE') ? ': it holds a public key or a certificate' : ''}`,
      );
    }
  }
  await call(o.sandbox, '/sandbox/health');

  const serialNo = s.WECHATPAY_CERT_SERIAL?.value ?? SANDBOX_DEMO_V3.mchCertSerial;
  const published = await call<{ public_key_id: string; public_key: string; platform_certificate?: string }>(
    o.sandbox,
    `/sandbox/v3/public-key?mch_id=${encodeURIComponent(mchId)}`,
  );
  const keys = new V3KeySet().addPublicKey(published.public_key_id, published.public_key);
  if (published.platform_certificate) keys.addCertificate(published.platform_certificate);
  const client = new WechatPayV3Client({ mchId, serialNo, privateKey, keys, baseUrl: o.sandbox });
  try {
    const { openid } = await call<{ openid: string }>(o.sandbox, '/sandbox/login-codes', {
      method: 'POST',
      body: { appid: appId, user: 'mp-pay-cli' },
    });
    const outTradeNo = `cli${Date.now()}${randomBytes(4).toString('hex')}`;
    report.outTradeNo = outTradeNo;
    const faults = scenario.faults?.(o);
    if (faults)
      await call(o.sandbox, '/sandbox/faults', {
        method: 'POST',
        body: { out_trade_no: outTradeNo, faults },
      });
    const { prepayId } = await client.jsapiPrepay({
      appid: appId,
      description: `mp-pay trigger ${name}`,
      outTradeNo,
      notifyUrl: o.notifyUrl,
      amountFen: o.amountFen,
      payerOpenid: openid,
    });
    const pay = miniProgramPayParamsV3({ appId, prepayId, privateKey });
    await call(o.sandbox, '/sandbox/pay', {
      method: 'POST',
      body: { appId, ...pay, outcome: scenario.outcome ?? 'success' },
    });
    if (scenario.afterPay) {
      await call(o.sandbox, '/sandbox/faults', {
        method: 'POST',
        body: { out_trade_no: outTradeNo, faults: scenario.afterPay },
      });
    }
    let outRefundNo: string | undefined;
    if (scenario.refund) {
      outRefundNo = `R${outTradeNo}`;
      await client.refund({
        outTradeNo,
        outRefundNo,
        refundFen: o.amountFen,
        totalFen: o.amountFen,
        reason: `mp-pay trigger ${name}`,
        notifyUrl: o.refundNotifyUrl,
      });
    }
    const order = await waitFor(o, outTradeNo, mchId, (ord) => settled(scenario, ord, o));
    report.state = order.state;
    report.notifications = order.notifications;
    const refund = order.refunds[0];
    if (refund)
      report.refund = {
        outRefundNo: refund.out_refund_no,
        status: refund.v3_status,
        notifications: refund.notifications,
      };
    report.problems = evaluate(scenario, order, o, report);
    report.ok = report.problems.length === 0;
    return report;
  } finally {
    client.closeConnections();
  }
}

async function waitFor(
  o: TriggerOptions,
  outTradeNo: string,
  mchId: string,
  done: (order: InspectedOrder) => boolean,
): Promise<InspectedOrder> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const order = await call<InspectedOrder>(
      o.sandbox,
      `/sandbox/orders/${outTradeNo}?mch_id=${encodeURIComponent(mchId)}`,
    );
    if (done(order) || Date.now() > deadline) return order;
    await sleep(50);
  }
}

const genuineOutcome = (order: InspectedOrder) =>
  order.notifications.find((n) => n.kind === 'genuine')?.outcome;

/** Whether everything the scenario waits for has been attempted (whatever the merchant answered). */
function settled(scenario: ScenarioDef, order: InspectedOrder, o: TriggerOptions): boolean {
  if (scenario.outcome === 'payerror') return true;
  const genuine = genuineOutcome(order);
  if (genuine === undefined) return false;
  if (scenario.forged && !order.notifications.some((n) => n.kind === scenario.forged)) return false;
  if (scenario.faults?.(o).duplicateNotifications && genuine === 'acknowledged') {
    if (order.notifications.filter((n) => n.kind === 'duplicate').length < o.count) return false;
  }
  if (scenario.refund) {
    const refund = order.refunds[0];
    if (!refund || refund.notifications.length === 0) return false;
  }
  return true;
}

function describe(n: Attempt): string {
  return `${n.outcome}${n.httpStatus ? ` (HTTP ${n.httpStatus})` : ''}${n.error ? ` (${n.error})` : ''}`;
}

function evaluate(
  scenario: ScenarioDef,
  order: InspectedOrder,
  o: TriggerOptions,
  report: TriggerReport,
): string[] {
  const problems: string[] = [];
  if (scenario.outcome === 'payerror') {
    if (order.state !== 'PAYERROR') problems.push(`the order is ${order.state}, expected PAYERROR`);
    if (order.notifications.length > 0) problems.push('a notification was sent for a failed payment');
    return problems;
  }
  const genuine = order.notifications.find((n) => n.kind === 'genuine');
  if (!genuine) {
    problems.push(`no notification reached ${o.notifyUrl} within ${o.timeoutMs} ms`);
  } else if (genuine.outcome !== 'acknowledged') {
    problems.push(`the genuine payment notification was not acknowledged: ${describe(genuine)}`);
  }
  if (scenario.forged) {
    const forged = order.notifications.find((n) => n.kind === scenario.forged);
    if (!forged) problems.push(`the ${scenario.forged} notification was not delivered in time`);
    else if (forged.outcome === 'acknowledged') {
      problems.push(
        `the merchant ACKNOWLEDGED the ${scenario.forged.replace('forged-', '')} notification: it must fail verification and be answered with an error`,
      );
    } else if (forged.outcome !== 'rejected') {
      problems.push(`the ${scenario.forged} notification got no answer: ${describe(forged)}`);
    }
  }
  if (scenario.faults?.(o).duplicateNotifications) {
    const copies = order.notifications.filter((n) => n.kind === 'duplicate');
    if (copies.length < o.count && genuine?.outcome === 'acknowledged')
      problems.push(`only ${copies.length} of ${o.count} duplicates were delivered in time`);
    for (const copy of copies) {
      if (copy.outcome !== 'acknowledged')
        problems.push(
          `a duplicate was not acknowledged (${describe(copy)}): repeat the success reply for a notification already applied`,
        );
    }
  }
  if (scenario.refund) {
    const refund = order.refunds[0];
    const first = refund?.notifications[0];
    const wanted = { success: 'SUCCESS', abnormal: 'ABNORMAL', closed: 'CLOSED' }[scenario.refund];
    if (!refund) problems.push('the refund was not recorded');
    else if (refund.v3_status !== wanted)
      problems.push(`the refund is ${refund.v3_status}, expected ${wanted}`);
    if (!first) problems.push(`no refund notification reached ${o.refundNotifyUrl} within ${o.timeoutMs} ms`);
    else if (first.outcome !== 'acknowledged')
      problems.push(`the refund notification was not acknowledged: ${describe(first)}`);
    const held = scenario.faults?.(o).notifyDelayMs !== undefined;
    if (held && first && genuine) {
      report.firstArrived = Date.parse(first.at) < Date.parse(genuine.at) ? 'refund' : 'payment';
    }
    if (held && report.firstArrived === 'payment') {
      problems.push(
        'the payment notification arrived first: raise --hold-ms above the sandbox refund delay (SANDBOX_REFUND_DELAY_MS ÷ time scale)',
      );
    }
  }
  return problems;
}

export function renderTrigger(r: TriggerReport): string {
  const lines = [`Scenario ${r.scenario} on ${r.sandbox}: ${SCENARIOS[r.scenario]?.summary ?? ''}`];
  if (r.outTradeNo) lines.push(`out_trade_no ${r.outTradeNo}, state ${r.state ?? '?'}`);
  for (const n of r.notifications ?? [])
    lines.push(`  payment notification #${n.attempt} ${n.kind}: ${describe(n)}`);
  if (r.refund) {
    lines.push(`refund ${r.refund.outRefundNo}: ${r.refund.status}`);
    for (const n of r.refund.notifications)
      lines.push(`  refund notification #${n.attempt} ${n.kind}: ${describe(n)}`);
  }
  if (r.firstArrived) lines.push(`first to arrive: the ${r.firstArrived} notification`);
  lines.push(r.ok ? 'Verdict: OK — the merchant answered as it must' : 'Verdict: PROBLEM');
  for (const p of r.problems) lines.push(`  - ${p}`);
  // Replies and errors come from the merchant's server: shown escaped, never as terminal control sequences.
  return lines.map(escapeControl).join('\n');
}

export async function triggerResult(name: string, o: TriggerOptions): Promise<CommandResult> {
  try {
    const report = await runTrigger(name, o);
    return { exitCode: report.ok ? EXIT.OK : EXIT.PROBLEM, text: renderTrigger(report), json: report };
  } catch (err) {
    // The sandbox refusing the merchant's own request (SIGN_ERROR for a key that is not the merchant's, a serial
    // that is not its certificate's, an appid it does not own) is the configuration given, not a CLI failure.
    if (
      err instanceof WechatPayV3Error &&
      err.httpStatus !== undefined &&
      err.httpStatus >= 400 &&
      err.httpStatus < 500 &&
      err.httpStatus !== 429
    ) {
      throw new UsageError(
        `the sandbox refused the merchant's request: ${err.message} — check --appid, --mchid, --private-key and --cert-serial (or leave them out for the demo merchant)`,
      );
    }
    if (err instanceof SandboxUnreachable) {
      return {
        exitCode: EXIT.UNREACHABLE,
        text: err.message,
        json: errorDocument(EXIT.UNREACHABLE, err.message, { scenario: name }),
      };
    }
    throw err;
  }
}
