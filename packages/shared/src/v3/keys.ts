import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';

/**
 * The keys WeChat signs with, by the id its `Wechatpay-Serial` header names (docs/protocol.md §7 "Platform
 * certificates and the public key"): WeChat Pay public keys (`PUB_KEY_ID_` + digits, the default for new
 * merchants) and platform certificates (hex serial). A migrating merchant is signed with either, so one set
 * holds both. One instance per merchant: nothing here is global.
 */
export type V3Key =
  | { kind: 'public-key'; id: string; key: KeyObject }
  | {
      kind: 'certificate';
      id: string;
      key: KeyObject;
      certificate: X509Certificate;
      notBefore: Date;
      notAfter: Date;
    };

/** e.g. PUB_KEY_ID_0117040063532025021400298900001527 (the console shows it beside the key). */
export const PUB_KEY_ID_RE = /^PUB_KEY_ID_\d{8,64}$/;
/** Certificate serials are hex: 40 digits today, 16 in older test material. */
export const CERT_SERIAL_RE = /^[0-9A-Fa-f]{8,64}$/;

export class V3KeySet {
  readonly #keys = new Map<string, V3Key>();

  /** Adds (or replaces) a WeChat Pay public key. Returns the set, for chaining. */
  addPublicKey(id: string, pem: string | KeyObject): this {
    if (!PUB_KEY_ID_RE.test(id)) {
      throw new TypeError(
        `V3KeySet: "${id}" is not a WeChat Pay public key id (PUB_KEY_ID_ followed by digits)`,
      );
    }
    this.#keys.set(id, {
      kind: 'public-key',
      id,
      key: rsaPublicKey(typeof pem === 'string' ? createPublicKey(pem) : pem),
    });
    return this;
  }

  /** Adds (or replaces) a platform certificate, keyed by its own serial and validity. Returns the serial. */
  addCertificate(pem: string | Uint8Array | X509Certificate): string {
    const certificate = pem instanceof X509Certificate ? pem : new X509Certificate(pem);
    const id = normalizeSerial(certificate.serialNumber);
    if (!CERT_SERIAL_RE.test(id)) throw new TypeError(`V3KeySet: certificate serial ${id} is not hex`);
    this.#keys.set(id, {
      kind: 'certificate',
      id,
      key: rsaPublicKey(certificate.publicKey),
      certificate,
      notBefore: new Date(certificate.validFrom),
      notAfter: new Date(certificate.validTo),
    });
    return id;
  }

  get(serial: string): V3Key | undefined {
    return this.#keys.get(lookupId(serial));
  }

  has(serial: string): boolean {
    return this.#keys.has(lookupId(serial));
  }

  serials(): string[] {
    return [...this.#keys.keys()];
  }

  delete(serial: string): boolean {
    return this.#keys.delete(lookupId(serial));
  }

  get size(): number {
    return this.#keys.size;
  }

  /** The soonest `notAfter` among certificates (public keys do not expire), for refresh scheduling. */
  earliestExpiry(): Date | undefined {
    let soonest: Date | undefined;
    for (const key of this.#keys.values()) {
      if (key.kind === 'certificate' && (!soonest || key.notAfter < soonest)) soonest = key.notAfter;
    }
    return soonest;
  }

  /** Drops certificates expired at `now` (ms); returns their serials. */
  pruneExpired(now: number = Date.now()): string[] {
    const gone: string[] = [];
    for (const key of this.#keys.values()) {
      if (key.kind === 'certificate' && key.notAfter.getTime() < now) gone.push(key.id);
    }
    for (const id of gone) this.#keys.delete(id);
    return gone;
  }
}

/** X509Certificate prints serials in upper-case hex; headers may not. Ids of public keys are left alone. */
function normalizeSerial(serial: string): string {
  return serial.toUpperCase();
}

function lookupId(serial: string): string {
  return typeof serial === 'string' && CERT_SERIAL_RE.test(serial) ? normalizeSerial(serial) : serial;
}

/** WeChat's keys are RSA 2048; anything else is a pasted wrong file. */
function rsaPublicKey(key: KeyObject): KeyObject {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  if (publicKey.asymmetricKeyType !== 'rsa' || (publicKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw new TypeError('V3KeySet: WeChat Pay keys are RSA, 2048 bits or more');
  }
  return publicKey;
}
