import { randomBytes, randomUUID } from 'node:crypto';
import { createNonce, encryptV3Resource } from '@mp-pay/shared/wechatpay';
import type { SandboxContext } from '../context.ts';
import type { NotificationAttempt, OrderRecord } from '../state.ts';
import { beijingRfc3339, unixSeconds } from './time.ts';
import { transactionJson } from './transactions.ts';

type Kind = NotificationAttempt['kind'];

export interface V3Delivery {
  headers: Record<string, string>;
  body: string;
  serial: string;
  /** The exact text the signature covers (`timestamp\nnonce\nbody\n`); absent for the SIGNTEST probe. */
  signed?: string;
}

/** How far back the stale-timestamp fault dates its notification: twice the 5 minutes merchants allow. */
const STALE_BY_S = 600;

/**
 * One APIv3 payment notification (docs/protocol.md §7 "Notification payload and reply"): the transaction JSON,
 * encrypted with the merchant's APIv3 key (AAD `transaction`) inside the `encrypt-resource` envelope, signed
 * like a reply under the merchant's key mode. The forged kinds break exactly one thing each.
 */
export function v3Notification(sandbox: SandboxContext, order: OrderRecord, kind: Kind): V3Delivery {
  const forgedTotal = kind === 'forged-wrong-amount' ? (order.totalFee === 1 ? 2 : 1) : undefined;
  // Retries and duplicates repeat the notification's id (merchants may deduplicate on it); forgeries do not.
  order.v3Notification ??= { id: randomUUID(), createTime: beijingRfc3339(sandbox.clock.now()) };
  return v3Envelope(
    sandbox,
    {
      mchId: order.mchId,
      resource: transactionJson(order, forgedTotal),
      type: 'transaction',
      eventType: 'TRANSACTION.SUCCESS',
      summary: '支付成功',
      identity: order.v3Notification,
    },
    kind,
  );
}

export interface V3EnvelopeInput {
  mchId: string;
  /** The plaintext resource (the transaction, the refund). */
  resource: Record<string, unknown>;
  /** associated_data and original_type: `transaction`, `refund`. */
  type: string;
  eventType: string;
  summary: string;
  /** The id and create_time every retry and duplicate repeats. */
  identity: { id: string; createTime: string };
}

/**
 * Any APIv3 notification: the resource encrypted with the merchant's APIv3 key (AAD = its type) inside the
 * `encrypt-resource` envelope, signed like a reply under the merchant's key mode. The forged kinds break
 * exactly one thing each.
 */
export function v3Envelope(sandbox: SandboxContext, input: V3EnvelopeInput, kind: Kind): V3Delivery {
  const merchant = sandbox.accounts.merchantV3(input.mchId);
  if (!merchant) throw new Error(`merchant ${input.mchId} is no longer configured`);
  const resource = encryptV3Resource(JSON.stringify(input.resource), merchant.apiV3Key, {
    associatedData: input.type,
    originalType: input.type,
  });
  if (kind === 'forged-tampered-ciphertext') {
    const sealed = Buffer.from(resource.ciphertext, 'base64');
    sealed[0] = (sealed[0] ?? 0) ^ 0x01; // one flipped bit: only the GCM tag check notices
    resource.ciphertext = sealed.toString('base64');
  }
  const forged = kind.startsWith('forged-');
  const body = JSON.stringify({
    id: forged ? randomUUID() : input.identity.id,
    create_time: input.identity.createTime,
    resource_type: 'encrypt-resource',
    event_type: input.eventType,
    summary: input.summary,
    resource,
  });

  const { platform } = sandbox;
  const setting = sandbox.keyModes.for(input.mchId);
  const genuineSerial = platform.notificationSerial(setting.mode, setting.publicKeyShare);
  const serial = kind === 'forged-unknown-serial' ? platform.unknownSerial(genuineSerial) : genuineSerial;
  const timestamp = unixSeconds() - (kind === 'forged-stale-timestamp' ? STALE_BY_S : 0);
  const nonce = createNonce();
  let signature: string;
  let signed: string | undefined;
  if (kind === 'forged-signtest') {
    signature = `WECHATPAY/SIGNTEST/${randomBytes(256).toString('base64')}`;
  } else if (kind === 'forged-bad-sign') {
    signature = platform.sign(timestamp + 1, nonce, body); // a real signature, of another message
    signed = `${timestamp + 1}\n${nonce}\n${body}\n`;
  } else {
    signature = platform.sign(timestamp, nonce, body);
    signed = `${timestamp}\n${nonce}\n${body}\n`;
  }
  return {
    body,
    serial,
    ...(signed === undefined ? {} : { signed }),
    headers: {
      'content-type': 'application/json',
      'user-agent': 'Mozilla/4.0 mp-pay-sandbox',
      'wechatpay-timestamp': String(timestamp),
      'wechatpay-nonce': nonce,
      'wechatpay-signature': signature,
      'wechatpay-serial': serial,
      'wechatpay-signature-type': 'WECHATPAY2-SHA256-RSA2048',
    },
  };
}

/**
 * APIv3 acknowledgement: HTTP 200 or 204. A 200 whose JSON body says `"code": "FAIL"` is a refusal (older
 * documentation had merchants answer with a code; the sandbox takes FAIL at its word).
 */
export function isV3Acknowledgement(status: number, reply: string): boolean {
  if (status !== 200 && status !== 204) return false;
  if (reply.trim() === '') return true;
  try {
    const parsed: unknown = JSON.parse(reply);
    return !(parsed !== null && typeof parsed === 'object' && (parsed as { code?: unknown }).code === 'FAIL');
  } catch {
    return true;
  }
}
