import { createCipheriv, createDecipheriv } from 'node:crypto';
import { createNonce } from '../core/nonce.ts';
import { WechatPayV3DecryptError } from './errors.ts';
import { isBase64 } from './sign.ts';

/**
 * AEAD_AES_256_GCM, how WeChat encrypts notification resources and downloaded certificates (docs/protocol.md §7
 * "Notification payload and reply"): key = the 32-byte APIv3 key, IV = the 12-character `nonce`,
 * AAD = `associated_data`, and `ciphertext` = base64(ciphertext ‖ 16-byte tag).
 */
export const V3_AEAD_ALGORITHM = 'AEAD_AES_256_GCM';

export interface V3EncryptedResource {
  algorithm: string;
  ciphertext: string;
  nonce: string;
  associated_data?: string | undefined;
  original_type?: string | undefined;
}

const TAG_BYTES = 16;
const NONCE_BYTES = 12;

/**
 * Decrypts and authenticates one resource; returns the UTF-8 plaintext. The tag is always checked: GCM without
 * it is a stream cipher, and a flipped bit in "SUCCESS" would come out as another trade state (the bug of
 * wechatpay-node-v3 2.2.1). Refuses other algorithms and keys that are not exactly 32 bytes.
 */
export function decryptV3Resource(resource: V3EncryptedResource, apiV3Key: string): string {
  const key = aesKey(apiV3Key);
  const { ciphertext, nonce, associated_data: aad } = checkResource(resource);
  const sealed = Buffer.from(ciphertext, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(nonce, 'utf8'), {
    authTagLength: TAG_BYTES,
  });
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  decipher.setAAD(Buffer.from(aad ?? '', 'utf8'));
  const head = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
  let tail: Buffer;
  try {
    tail = decipher.final();
  } catch (err) {
    throw new WechatPayV3DecryptError(
      'TAG_MISMATCH',
      'AEAD_AES_256_GCM tag mismatch: check WECHATPAY_APIV3_KEY (the APIv3 key, not the v2 key), or the ' +
        'resource was altered',
      { cause: err },
    );
  }
  return Buffer.concat([head, tail]).toString('utf8');
}

export interface EncryptV3Options {
  /** 12 characters; random [A-Za-z0-9] by default. */
  nonce?: string;
  associatedData?: string;
  originalType?: string;
}

/** The reverse, as WeChat does it: the sandbox encrypts its notifications and certificates with this. */
export function encryptV3Resource(
  plaintext: string,
  apiV3Key: string,
  options: EncryptV3Options = {},
): V3EncryptedResource & { associated_data: string } {
  const key = aesKey(apiV3Key);
  const nonce = options.nonce ?? createNonce(NONCE_BYTES);
  if (Buffer.byteLength(nonce, 'utf8') !== NONCE_BYTES) {
    throw new WechatPayV3DecryptError('MALFORMED', `nonce must be ${NONCE_BYTES} bytes`);
  }
  const associatedData = options.associatedData ?? '';
  const cipher = createCipheriv('aes-256-gcm', key, Buffer.from(nonce, 'utf8'), { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return {
    ...(options.originalType === undefined ? {} : { original_type: options.originalType }),
    algorithm: V3_AEAD_ALGORITHM,
    ciphertext: sealed.toString('base64'),
    associated_data: associatedData,
    nonce,
  };
}

function aesKey(apiV3Key: string): Buffer {
  const key = typeof apiV3Key === 'string' ? Buffer.from(apiV3Key, 'utf8') : undefined;
  if (!key || key.length !== 32) {
    throw new WechatPayV3DecryptError(
      'BAD_KEY',
      'WECHATPAY_APIV3_KEY must be exactly 32 bytes (the APIv3 key set in the merchant console, API安全)',
    );
  }
  return key;
}

function checkResource(resource: V3EncryptedResource): V3EncryptedResource {
  if (typeof resource !== 'object' || resource === null) {
    throw new WechatPayV3DecryptError('MALFORMED', 'the encrypted resource is missing');
  }
  if (resource.algorithm !== V3_AEAD_ALGORITHM) {
    throw new WechatPayV3DecryptError(
      'UNSUPPORTED_ALGORITHM',
      `unsupported resource algorithm ${String(resource.algorithm)}; only ${V3_AEAD_ALGORITHM} is accepted`,
    );
  }
  const { ciphertext, nonce, associated_data: aad } = resource;
  if (typeof nonce !== 'string' || Buffer.byteLength(nonce, 'utf8') !== NONCE_BYTES) {
    throw new WechatPayV3DecryptError('MALFORMED', `resource nonce must be ${NONCE_BYTES} bytes`);
  }
  if (aad !== undefined && aad !== null && typeof aad !== 'string') {
    throw new WechatPayV3DecryptError('MALFORMED', 'resource associated_data must be text');
  }
  if (
    typeof ciphertext !== 'string' ||
    !isBase64(ciphertext) ||
    Buffer.from(ciphertext, 'base64').length < TAG_BYTES
  ) {
    throw new WechatPayV3DecryptError(
      'MALFORMED',
      'resource ciphertext must be base64 of ciphertext and tag',
    );
  }
  return resource;
}
