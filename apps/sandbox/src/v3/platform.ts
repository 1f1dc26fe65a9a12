import { createPrivateKey, createPublicKey, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { SANDBOX_DEMO_V3, signV3 } from '@mp-pay/shared/wechatpay';
import type { V3KeyMode } from '../config.ts';

/**
 * WeChat Pay's side of APIv3: the key that signs every reply and notification, published two ways, as the
 * WeChat Pay public key (id `PUB_KEY_ID_…`, the default for new merchants) and as a platform certificate
 * (serial, downloadable from /v3/certificates). The sandbox uses the committed demo key, so merchants can pin
 * it across restarts.
 */
export class Platform {
  readonly #privateKeyPem: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly publicKeyId: string;
  readonly publicKeyPem: string;
  readonly certificatePem: string;
  readonly certSerial: string;
  readonly certificate: X509Certificate;

  constructor(demo: typeof SANDBOX_DEMO_V3 = SANDBOX_DEMO_V3) {
    this.#privateKeyPem = demo.platformPrivateKey;
    this.privateKey = createPrivateKey(demo.platformPrivateKey);
    this.publicKey = createPublicKey(this.privateKey);
    this.publicKeyId = demo.platformPublicKeyId;
    this.publicKeyPem = demo.platformPublicKey;
    this.certificatePem = demo.platformCertificate;
    this.certSerial = demo.platformCertSerial.toUpperCase();
    this.certificate = new X509Certificate(demo.platformCertificate);
  }

  /** True when `serial` names one of WeChat Pay's keys (then a merchant sent it where its own belongs). */
  isPlatformSerial(serial: string): boolean {
    return serial === this.publicKeyId || serial.toUpperCase() === this.certSerial;
  }

  /**
   * The Wechatpay-Serial of a reply. Migration: the key the request named in its Wechatpay-Serial header
   * (WeChat staff: responses follow the request), else the certificate, which the merchant had before.
   */
  replySerial(mode: V3KeyMode, requestSerial: string | undefined): string {
    if (mode === 'public-key') return this.publicKeyId;
    if (mode === 'certificate') return this.certSerial;
    if (requestSerial === this.publicKeyId) return this.publicKeyId;
    return this.certSerial;
  }

  /** The Wechatpay-Serial of a notification. Migration: a growing share moves to the public key. */
  notificationSerial(mode: V3KeyMode, publicKeyShare: number): string {
    if (mode === 'public-key') return this.publicKeyId;
    if (mode === 'certificate') return this.certSerial;
    return Math.random() < publicKeyShare ? this.publicKeyId : this.certSerial;
  }

  /** A serial of the same shape as `like` that names no key WeChat Pay has (the unknown-serial fault). */
  unknownSerial(like: string): string {
    if (like.startsWith('PUB_KEY_ID_')) {
      return `PUB_KEY_ID_${'0'.repeat(Math.max(1, like.length - 'PUB_KEY_ID_'.length - 8))}DEADBEEF`;
    }
    return randomBytes(20).toString('hex').toUpperCase();
  }

  /** SHA256withRSA over `timestamp\nnonce\nbody\n`, base64. */
  sign(timestamp: number | string, nonce: string, body: string): string {
    return signV3(`${timestamp}\n${nonce}\n${body}\n`, this.#privateKeyPem);
  }
}
