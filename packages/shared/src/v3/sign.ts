import { createPrivateKey, createPublicKey, createSign, createVerify, KeyObject } from 'node:crypto';

/**
 * SHA256withRSA (RSASSA-PKCS1-v1_5), the one signature algorithm of APIv3 (docs/protocol.md §7 "Signing
 * requests"): requests and paySign are signed with the merchant's private key, replies and notifications by
 * WeChat with the platform certificate's or the WeChat Pay public key's private half. Base64 in and out.
 */
export function signV3(message: string, privateKeyPem: string | KeyObject): string {
  return createSign('sha256').update(message, 'utf8').sign(toPrivateKey(privateKeyPem), 'base64');
}

/**
 * The bare check, for callers that hold a key and a message (the sandbox checking a merchant's request).
 * `message` is bytes or UTF-8 text exactly as signed. Only a syntactically valid base64 signature is checked;
 * anything else is false, never an exception from OpenSSL.
 */
export function verifySignatureV3(
  message: string | Uint8Array,
  signature: string,
  publicKey: KeyObject | string,
): boolean {
  if (!isBase64(signature)) return false;
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  const verifier = createVerify('sha256');
  verifier.update(typeof message === 'string' ? Buffer.from(message, 'utf8') : message);
  return verifier.verify(key, Buffer.from(signature, 'base64'));
}

/**
 * `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n`: every line ends with `\n`, the last one too; the body is the
 * exact text sent, '' for GET (docs/protocol.md §7 "Signing requests").
 */
export function requestMessageV3(parts: {
  method: string;
  url: string;
  timestamp: string | number;
  nonce: string;
  body?: string;
}): string {
  return `${parts.method.toUpperCase()}\n${parts.url}\n${parts.timestamp}\n${parts.nonce}\n${parts.body ?? ''}\n`;
}

/**
 * `TIMESTAMP\nNONCE\nRAW_BODY\n` as bytes: replies and notifications are verified over the body exactly as it
 * arrived (docs/protocol.md §7 "Verifying responses and notifications"), so a Buffer stays a Buffer.
 */
export function responseMessageV3(timestamp: string, nonce: string, body: string | Uint8Array): Buffer {
  const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return Buffer.concat([Buffer.from(`${timestamp}\n${nonce}\n`, 'utf8'), raw, Buffer.from('\n', 'utf8')]);
}

/**
 * Parses a PEM once; a KeyObject passes through. Refuses, as a TypeError that never quotes the key, a public key
 * or certificate where the private key is needed, and text that is no key at all.
 */
export function toPrivateKey(key: string | KeyObject): KeyObject {
  let object: KeyObject | undefined;
  try {
    object = typeof key === 'string' ? createPrivateKey(key) : key;
  } catch {
    object = undefined;
  }
  if (!(object instanceof KeyObject) || object.type !== 'private' || object.asymmetricKeyType !== 'rsa') {
    throw new TypeError('APIv3 signing needs the merchant RSA private key (apiclient_key.pem, PEM)');
  }
  return object;
}

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function isBase64(text: string): boolean {
  return text.length > 0 && BASE64_RE.test(text);
}
