import type { Context } from 'koa';
import { createPublicKey, type KeyObject } from 'node:crypto';
import {
  parseAuthorizationV3,
  SANDBOX_DEMO_V3,
  verifySignatureV3,
  type AuthorizationV3,
} from '@mp-pay/shared/wechatpay';
import type { SandboxAccount } from '../config.ts';
import type { SandboxContext } from '../context.ts';
import { BodyTooLargeError, readRawBody } from '../http/body.ts';
import type { MerchantV3 } from '../accounts.ts';
import { sendV3, v3Error, type V3Reply } from './reply.ts';
import { unixSeconds } from './time.ts';

/** A request that passed APIv3's transport checks: signed by a known merchant, with a readable body. */
export interface V3Request {
  ctx: Context;
  auth: AuthorizationV3;
  account: SandboxAccount;
  merchant: MerchantV3;
  /** The parsed JSON body of a POST ({} for GET). */
  json: Record<string, unknown>;
}

export type V3Handler = (req: V3Request, sandbox: SandboxContext) => V3Reply;

const MAX_BODY_BYTES = 32 * 1024;
/** WeChat refuses requests signed too long ago (and merchants reject replies more than 5 minutes off). */
const MAX_CLOCK_SKEW_S = 300;
export const SIGN_ERROR_MESSAGE = '错误的签名，验签失败';
const AUTH_FORMAT_MESSAGE = 'Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》';

/**
 * The checks every APIv3 call runs before its own logic: the Authorization header (scheme, merchant, clock,
 * serial, SHA256withRSA signature against the merchant's certificate), the body, then the faults. Every reply,
 * errors included, is signed with the platform key under the merchant's key mode.
 */
export function v3Endpoint(sandbox: SandboxContext, handle: V3Handler) {
  return async (ctx: Context): Promise<void> => {
    const result = await screen(ctx, sandbox, handle);
    const mode = sandbox.keyModes.for(result.mchId ?? sandbox.config.mchId).mode;
    sendV3(
      ctx,
      sandbox.platform,
      result.reply,
      sandbox.platform.replySerial(mode, ctx.get('Wechatpay-Serial')),
    );
    if (result.delayMs > 0) await sandbox.timers.sleep(result.delayMs);
  };
}

export interface Screened {
  reply: V3Reply;
  mchId?: string;
  delayMs: number;
}

/** The shared checks, then `handle`. Exported for the bill file download, whose success reply is not signed. */
export async function screen(ctx: Context, sandbox: SandboxContext, handle: V3Handler): Promise<Screened> {
  let raw: Buffer;
  try {
    raw = await readRawBody(ctx, MAX_BODY_BYTES);
  } catch (err) {
    if (err instanceof BodyTooLargeError) {
      return {
        reply: v3Error(400, 'INVALID_REQUEST', `请求体过大: at most ${MAX_BODY_BYTES} bytes`),
        delayMs: 0,
      };
    }
    throw err;
  }
  const body = raw.toString('utf8');

  const header = ctx.get('Authorization');
  if (!header) {
    return {
      reply: signError(
        'Http头Authorization值为空',
        'send Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",signature="…",timestamp="…",serial_no="…"',
      ),
      delayMs: 0,
    };
  }
  let auth: AuthorizationV3;
  try {
    auth = parseAuthorizationV3(header);
  } catch (err) {
    return { reply: signError(AUTH_FORMAT_MESSAGE, (err as Error).message), delayMs: 0 };
  }
  const account = sandbox.accounts.merchant(auth.mchId);
  const merchant = sandbox.accounts.merchantV3(auth.mchId);
  if (!account || !merchant) {
    return { reply: v3Error(400, 'MCH_NOT_EXISTS', '商户号不存在'), delayMs: 0 };
  }
  const mchId = account.mchId;
  const refused = (reply: V3Reply): Screened => ({ reply, mchId, delayMs: 0 });

  const skew = unixSeconds() - Number(auth.timestamp);
  if (Math.abs(skew) > MAX_CLOCK_SKEW_S) {
    const ms = auth.timestamp.length >= 13 ? ' (it looks like milliseconds: send seconds)' : '';
    return refused(
      signError(
        SIGN_ERROR_MESSAGE,
        `timestamp ${auth.timestamp} is ${Math.abs(skew)} s away from WeChat's clock${ms}: sign with the current ` +
          'Unix time in seconds and keep the server clock in sync (NTP)',
      ),
    );
  }
  const serial = auth.serialNo.toUpperCase();
  if (serial !== merchant.certSerial) {
    const why = sandbox.platform.isPlatformSerial(auth.serialNo)
      ? `serial_no ${auth.serialNo} is WeChat Pay's (platform certificate or public key id): send your merchant certificate's serial`
      : `serial_no ${auth.serialNo} is not the serial of merchant ${mchId}'s API certificate (${merchant.certSerial})`;
    return refused(
      signError(
        SIGN_ERROR_MESSAGE,
        `${why}; set WECHATPAY_CERT_SERIAL to the certificate matching your private key ` +
          '(openssl x509 -noout -serial -in apiclient_cert.pem)',
      ),
    );
  }
  const url = ctx.originalUrl;
  const message = signedMessage(ctx.method, url, auth, body);
  if (!verifySignatureV3(message, auth.signature, merchant.publicKey)) {
    return refused(
      signError(SIGN_ERROR_MESSAGE, diagnose(ctx, auth, body, merchant), {
        method: ctx.method,
        url,
        sign_message_length: Buffer.byteLength(message, 'utf8'),
        truncated_sign_message: truncate(message, 200),
      }),
    );
  }

  let json: Record<string, unknown> = {};
  if (ctx.method !== 'GET') {
    const type = ctx.get('Content-Type');
    if (!/^application\/json\b/i.test(type)) {
      return refused(
        v3Error(400, 'INVALID_REQUEST', `Content-Type应为application/json, not ${type || 'none'}`),
      );
    }
    try {
      const value: unknown = JSON.parse(body);
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        throw new Error('not an object');
      json = value as Record<string, unknown>;
    } catch {
      return refused(v3Error(400, 'PARAM_ERROR', '请求体格式错误: the body must be a JSON object'));
    }
  }

  const outTradeNo =
    typeof ctx.params?.out_trade_no === 'string'
      ? ctx.params.out_trade_no
      : typeof json.out_trade_no === 'string'
        ? json.out_trade_no
        : undefined;
  const faults = sandbox.faults.for(mchId, outTradeNo);
  const delayMs = faults.slowReplyMs ?? 0;
  if (faults.frequencyLimitedRate !== undefined && Math.random() < faults.frequencyLimitedRate) {
    return { reply: v3Error(429, 'FREQUENCY_LIMITED', '频率超限，请降低请求接口频率'), mchId, delayMs };
  }
  if (faults.systemErrorRate !== undefined && Math.random() < faults.systemErrorRate) {
    return { reply: v3Error(500, 'SYSTEM_ERROR', '系统错误'), mchId, delayMs };
  }
  return { reply: handle({ ctx, auth, account, merchant, json }, sandbox), mchId, delayMs };
}

function signedMessage(method: string, url: string, auth: AuthorizationV3, body: string): string {
  return `${method}\n${url}\n${auth.timestamp}\n${auth.nonce}\n${body}\n`;
}

function signError(message: string, hint: string, signInformation?: Record<string, unknown>): V3Reply {
  return v3Error(401, 'SIGN_ERROR', `${message}: ${hint}`, {
    field: 'signature',
    location: 'authorization',
    ...(signInformation ? { sign_information: signInformation } : {}),
  });
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

let demoMerchantKey: KeyObject | undefined;

/**
 * Names the likely mistake behind a signature that does not verify, by checking what the merchant probably
 * signed instead: the classic slips are a missing trailing \n, a body serialised twice (the signed text is not
 * the text sent), a path without its query string, a full URL, a GET signed with "{}", and the wrong key.
 */
function diagnose(ctx: Context, auth: AuthorizationV3, body: string, merchant: MerchantV3): string {
  const { timestamp, nonce, signature } = auth;
  const method = ctx.method;
  const url = ctx.originalUrl;
  const line = (m: string, u: string, b: string) => `${m}\n${u}\n${timestamp}\n${nonce}\n${b}\n`;
  const candidates: Array<[string, string]> = [
    [
      line(method, url, body).slice(0, -1),
      'the signed message lacks the trailing \\n after the body (every line ends with \\n, the last one too)',
    ],
  ];
  const reserialised = reserialisations(body);
  for (const other of reserialised) {
    candidates.push([
      line(method, url, other),
      'the signature covers another serialisation of the body than the bytes sent (body re-serialised): ' +
        'sign the exact string you send',
    ]);
  }
  if (method === 'GET') {
    for (const other of ['{}', 'null', 'undefined']) {
      candidates.push([line(method, url, other), `a GET request signs an empty body, not "${other}"`]);
    }
  } else if (body !== '') {
    candidates.push([
      line(method, url, ''),
      'the body was left out of the signed message: sign the JSON body sent',
    ]);
  }
  const path = ctx.path;
  if (url !== path) {
    candidates.push([line(method, path, body), 'the query string was not signed: sign PATH?QUERY as sent']);
  }
  for (const origin of [`${ctx.protocol}://${ctx.host}`, 'https://api.mch.weixin.qq.com']) {
    candidates.push([
      line(method, origin + url, body),
      'the full URL was signed: sign the path and query only',
    ]);
  }
  candidates.push([line(method.toLowerCase(), url, body), 'the HTTP method must be signed in upper case']);
  try {
    const decoded = decodeURI(url);
    if (decoded !== url) {
      candidates.push([
        line(method, decoded, body),
        'the URL was signed decoded: sign it percent-encoded, as sent',
      ]);
    }
  } catch {
    // not decodable: nothing to try
  }
  for (const [message, hint] of candidates) {
    if (verifySignatureV3(message, signature, merchant.publicKey)) return hint;
  }
  demoMerchantKey ??= createPublicKey(SANDBOX_DEMO_V3.mchPrivateKey);
  if (
    !demoMerchantKey.equals(merchant.publicKey) &&
    verifySignatureV3(line(method, url, body), signature, demoMerchantKey)
  ) {
    return 'signed with the sandbox demo merchant key, but this merchant has its own (WECHATPAY_PRIVATE_KEY)';
  }
  return (
    `the signature does not verify with the public key of merchant certificate ${merchant.certSerial} ` +
    '(wrong key?): sign METHOD\\nPATH?QUERY\\ntimestamp\\nnonce\\nbody\\n with the private key of that ' +
    'certificate (apiclient_key.pem), not the platform key'
  );
}

/** Other plausible serialisations of a JSON body than the one sent. */
function reserialisations(body: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return [];
  }
  const forms = new Set([
    JSON.stringify(parsed),
    JSON.stringify(parsed, null, 2),
    JSON.stringify(parsed, null, 4),
    JSON.stringify(sortKeys(parsed)),
  ]);
  forms.delete(body);
  return [...forms];
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
  );
}
