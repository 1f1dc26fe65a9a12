import type { ServerResponse } from 'node:http';
import { signResponseV3 } from '../../src/v3/index.ts';
import { SANDBOX_DEMO_V3 } from '../../src/wechatpay/demo-v3.ts';

export interface V3ReplyOptions {
  /** Signs with this key; the demo platform key by default. */
  privateKey?: string;
  /** Wechatpay-Serial; the demo public key id by default. */
  serial?: string;
  timestamp?: number;
  /** Leave the signature headers off. */
  unsigned?: boolean;
  /** Sign these bytes but send `body` (a forged or altered reply). */
  signedBody?: string;
  requestId?: string;
  extraHeaders?: Record<string, string>;
}

/** Answers like WeChat Pay v3: JSON, signed with the platform key, with a Request-ID. */
export function replyV3(
  res: ServerResponse,
  status: number,
  body: unknown,
  options: V3ReplyOptions = {},
): void {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  const signed = options.unsigned
    ? {}
    : signResponseV3(options.signedBody ?? text, {
        privateKey: options.privateKey ?? SANDBOX_DEMO_V3.platformPrivateKey,
        serial: options.serial ?? SANDBOX_DEMO_V3.platformPublicKeyId,
        ...(options.timestamp === undefined ? {} : { timestamp: options.timestamp }),
      });
  res.writeHead(status, {
    'Request-ID': options.requestId ?? '08F0A0B5A40610BF0118C7A9AD3B20C5F90628A0D80A-0',
    ...(text ? { 'Content-Type': 'application/json' } : {}),
    ...signed,
    ...options.extraHeaders,
  });
  res.end(text);
}
