import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import { createNonce } from '@mp-pay/shared/wechatpay';
import type { Platform } from './platform.ts';
import { unixSeconds } from './time.ts';

/** An APIv3 answer before it is signed: the status and the JSON body (none for 204). */
export interface V3Reply {
  status: number;
  body?: Record<string, unknown>;
}

/** APIv3's error shape, `{code, message, detail?}` (docs/protocol.md §7 "Errors"). */
export function v3Error(
  status: number,
  code: string,
  message: string,
  detail?: Record<string, unknown>,
): V3Reply {
  return { status, body: { code, message, ...(detail ? { detail } : {}) } };
}

/** 400 PARAM_ERROR naming the field, with WeChat's `detail: {field, location, value}`. */
export function paramError(
  field: string,
  message: string,
  location: 'body' | 'query' | 'uri_template' = 'body',
  value?: unknown,
): V3Reply {
  return v3Error(400, 'PARAM_ERROR', message, {
    field,
    location,
    ...(value === undefined ? {} : { value }),
  });
}

/** WeChat's wording for a required field that is missing, with the field's Chinese label. */
export function missingField(path: string, label: string, location: 'body' | 'query' = 'body'): V3Reply {
  return paramError(
    path,
    `输入源“/${location}/${path.replaceAll('.', '/')}”映射到字段“${label}”必填性规则校验失败，此字段为必填项`,
    location,
  );
}

/** `08D5F0…-0`-like: every APIv3 reply carries one, and WeChat support asks for it. */
function requestId(): string {
  return `${randomBytes(20).toString('hex').toUpperCase()}-0`;
}

/**
 * Sends a reply signed as WeChat signs every APIv3 answer, errors included: Wechatpay-Timestamp (wall clock,
 * Unix seconds), -Nonce, -Signature over `timestamp\nnonce\nbody\n` and -Serial naming the key.
 */
export function sendV3(ctx: Context, platform: Platform, reply: V3Reply, serial: string): void {
  const body = reply.body === undefined ? '' : JSON.stringify(reply.body);
  const timestamp = unixSeconds();
  const nonce = createNonce();
  ctx.status = reply.status;
  ctx.set('Request-ID', requestId());
  ctx.set('Wechatpay-Timestamp', String(timestamp));
  ctx.set('Wechatpay-Nonce', nonce);
  ctx.set('Wechatpay-Signature', platform.sign(timestamp, nonce, body));
  ctx.set('Wechatpay-Serial', serial);
  ctx.set('Wechatpay-Signature-Type', 'WECHATPAY2-SHA256-RSA2048');
  if (reply.status === 204) {
    ctx.body = null;
    ctx.status = 204;
    return;
  }
  ctx.type = 'application/json; charset=utf-8';
  ctx.body = body;
}
