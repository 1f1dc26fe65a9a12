import { decryptV3Resource } from './aead.ts';
import { WechatPayV3BadMessageError, WechatPayV3SignatureError } from './errors.ts';
import { signedMessageFromHeadersV3, type V3HeaderBag } from './headers.ts';
import type { V3KeySet } from './keys.ts';
import { isRecord } from './reply-errors.ts';
import { parseV3Transaction, type V3Transaction } from './transaction.ts';
import { verifyV3 } from './verify.ts';

export interface VerifyV3NotificationOptions {
  /** The 32-byte APIv3 key (WECHATPAY_APIV3_KEY). */
  apiV3Key: string;
  keys: V3KeySet;
  /** Our clock in ms; Date.now() by default. */
  now?: number;
  /** 300 s by default (docs/protocol.md §7). */
  toleranceSeconds?: number;
}

export interface V3Notification {
  id: string;
  createTime: string;
  eventType: string;
  resourceType: string;
  summary: string;
  /** `resource.original_type` (transaction, refund, …), when WeChat says. */
  originalType: string | undefined;
  /** The decrypted resource, parsed. */
  resource: Record<string, unknown>;
}

/**
 * Verifies a v3 notification, stripe-webhook style (docs/protocol.md §7): signature headers, time window, key,
 * signature over the RAW body, then decryption with the tag checked. Throws:
 * - TypeError: a parsed object was passed (re-serialised JSON changes bytes and breaks the signature);
 * - WechatPayV3SignatureError: headers missing, stale, unknown serial, probe, forged (reason says which);
 * - WechatPayV3DecryptError: wrong APIv3 key or altered resource;
 * - WechatPayV3BadMessageError: signed, but not a notification.
 * It does not compare amounts or trade numbers with your order: only you know them.
 */
export function verifyV3Notification(
  rawBody: string | Uint8Array,
  headers: V3HeaderBag,
  options: VerifyV3NotificationOptions,
): V3Notification {
  if (typeof rawBody !== 'string' && !(rawBody instanceof Uint8Array)) {
    throw new TypeError(
      'verifyV3Notification: pass the raw request body (string or Buffer), not a parsed object. ' +
        'Re-serialised JSON changes bytes and breaks the signature; keep the raw body in your body parser.',
    );
  }
  const message = signedMessageFromHeadersV3(headers, rawBody);
  const verified = verifyV3(message, options.keys, {
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.toleranceSeconds === undefined ? {} : { toleranceSeconds: options.toleranceSeconds }),
  });
  if (!verified) {
    throw new WechatPayV3SignatureError(
      'BAD_SIGNATURE',
      'notification signature does not verify: it was altered, re-serialised before verifying, or signed by a ' +
        `key other than ${message.serial}`,
    );
  }
  const body = parseJson(rawBody);
  const text = (name: string): string => {
    const value = body[name];
    if (typeof value !== 'string') throw new WechatPayV3BadMessageError(`notification lacks ${name}`);
    return value;
  };
  const resource = body.resource;
  if (!isRecord(resource)) throw new WechatPayV3BadMessageError('notification lacks resource');
  const plaintext = decryptV3Resource(
    {
      algorithm: resource.algorithm as string,
      ciphertext: resource.ciphertext as string,
      nonce: resource.nonce as string,
      associated_data: resource.associated_data as string | undefined,
    },
    options.apiV3Key,
  );
  const decrypted = parseJson(plaintext);
  return {
    id: text('id'),
    createTime: text('create_time'),
    eventType: text('event_type'),
    resourceType: text('resource_type'),
    summary: typeof body.summary === 'string' ? body.summary : '',
    originalType: typeof resource.original_type === 'string' ? resource.original_type : undefined,
    resource: decrypted,
  };
}

/**
 * The typed view of a TRANSACTION.SUCCESS notification: refuses other event types and any resource that is not
 * a paid transaction with its transaction_id, success_time, amount and payer.
 */
export function transactionFromNotificationV3(notification: V3Notification): V3Transaction & {
  tradeState: 'SUCCESS';
  payer: { openid: string };
  successTime: string;
} {
  if (notification.eventType !== 'TRANSACTION.SUCCESS') {
    throw new WechatPayV3BadMessageError(`expected TRANSACTION.SUCCESS, got ${notification.eventType}`);
  }
  const transaction = parseV3Transaction(notification.resource);
  if (transaction.tradeState !== 'SUCCESS' || !transaction.payer || !transaction.successTime) {
    throw new WechatPayV3BadMessageError(
      `TRANSACTION.SUCCESS resource has trade_state ${transaction.tradeState} or lacks payer.openid`,
    );
  }
  return transaction as V3Transaction & {
    tradeState: 'SUCCESS';
    payer: { openid: string };
    successTime: string;
  };
}

function parseJson(text: string | Uint8Array): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof text === 'string' ? text : Buffer.from(text).toString('utf8'));
  } catch (err) {
    throw new WechatPayV3BadMessageError('notification is not JSON', { cause: err });
  }
  if (!isRecord(parsed)) throw new WechatPayV3BadMessageError('notification is not a JSON object');
  return parsed;
}
