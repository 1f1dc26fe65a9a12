import { X509Certificate } from 'node:crypto';
import { decryptV3Resource } from './aead.ts';
import type { V3CertificateDownload, WechatPayV3Client } from './client.ts';
import { WechatPayV3BadMessageError, WechatPayV3SignatureError } from './errors.ts';
import { V3KeySet } from './keys.ts';
import { verifyV3, type VerifyV3Options } from './verify.ts';

export interface V3PlatformCertificate {
  serialNo: string;
  effectiveTime: string;
  expireTime: string;
  pem: string;
  certificate: X509Certificate;
}

export interface OpenCertificateDownloadOptions extends VerifyV3Options {
  /** Keys already trusted; used when the reply is signed by a key that is not in the list itself. */
  keys?: V3KeySet;
}

/**
 * Decrypts each certificate of a `GET /v3/certificates` reply with the APIv3 key, then checks the reply's
 * signature with the certificate named by `Wechatpay-Serial` (docs/protocol.md §7). That check is circular by
 * nature (the list vouches for itself); what makes it trustworthy is the AEAD step before it: only WeChat and
 * the merchant know the APIv3 key, so only WeChat can produce a list that decrypts with a valid tag.
 */
export function openCertificateDownloadV3(
  download: V3CertificateDownload,
  apiV3Key: string,
  options: OpenCertificateDownloadOptions = {},
): V3PlatformCertificate[] {
  const opened = download.entries.map((entry) => openEntry(entry, apiV3Key));
  if (opened.length === 0) throw new WechatPayV3BadMessageError('certificates reply lists no certificate');
  const candidates = new V3KeySet();
  for (const cert of opened) candidates.addCertificate(cert.certificate);
  const serial = download.signed.serial;
  const known = candidates.has(serial) ? undefined : options.keys?.get(serial);
  if (known?.kind === 'certificate') candidates.addCertificate(known.certificate);
  if (known?.kind === 'public-key') candidates.addPublicKey(known.id, known.key);
  const { keys: _keys, ...verifyOptions } = options;
  if (!verifyV3(download.signed, candidates, verifyOptions)) {
    throw new WechatPayV3SignatureError(
      'BAD_SIGNATURE',
      `certificates reply does not verify with certificate ${serial}`,
      { requestId: download.requestId },
    );
  }
  return opened;
}

function openEntry(entry: V3CertificateDownload['entries'][number], apiV3Key: string): V3PlatformCertificate {
  if (typeof entry !== 'object' || entry === null || typeof entry.serial_no !== 'string') {
    throw new WechatPayV3BadMessageError('certificates reply has an entry without serial_no');
  }
  const pem = decryptV3Resource(entry.encrypt_certificate, apiV3Key);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch (err) {
    throw new WechatPayV3BadMessageError(`certificate ${entry.serial_no} is not an X.509 PEM`, {
      cause: err,
    });
  }
  if (certificate.serialNumber.toUpperCase() !== entry.serial_no.toUpperCase()) {
    throw new WechatPayV3BadMessageError(
      `certificate listed as ${entry.serial_no} has serial ${certificate.serialNumber}`,
    );
  }
  return {
    serialNo: certificate.serialNumber.toUpperCase(),
    effectiveTime: entry.effective_time,
    expireTime: entry.expire_time,
    pem,
    certificate,
  };
}

export interface PlatformCertificatesOptions {
  client: WechatPayV3Client;
  apiV3Key: string;
  /** Where the certificates go; the client's own key set by default, so its replies verify with them. */
  keys?: V3KeySet;
  /** Refresh at least this often, to pick up a new certificate before the old one retires: 12 h by default. */
  refreshIntervalMs?: number;
  /** Refresh when the earliest certificate expires within this: 24 h by default. */
  expiryMarginMs?: number;
  /** Near expiry, no more than one download per this: 5 min by default. */
  minSpacingMs?: number;
}

const HOUR = 60 * 60 * 1000;

/**
 * Certificate mode (docs/protocol.md §7): keeps a merchant's platform certificates current. No timers of its
 * own: call refreshIfDue(now) from wherever the app already ticks (before a request, a periodic job); it
 * downloads only when never loaded, when the interval has passed, or when a certificate nears expiry.
 */
export class PlatformCertificates {
  readonly keys: V3KeySet;
  readonly #client: WechatPayV3Client;
  readonly #apiV3Key: string;
  readonly #interval: number;
  readonly #margin: number;
  readonly #spacing: number;
  #lastRefresh: number | undefined;
  #inFlight: Promise<V3PlatformCertificate[]> | undefined;

  constructor(options: PlatformCertificatesOptions) {
    this.#client = options.client;
    this.#apiV3Key = options.apiV3Key;
    this.keys = options.keys ?? options.client.keys;
    this.#interval = options.refreshIntervalMs ?? 12 * HOUR;
    this.#margin = options.expiryMarginMs ?? 24 * HOUR;
    this.#spacing = options.minSpacingMs ?? 5 * 60 * 1000;
  }

  /** When the next download is due (ms); undefined before the first one (due now). */
  nextRefreshAt(): number | undefined {
    if (this.#lastRefresh === undefined) return undefined;
    const byInterval = this.#lastRefresh + this.#interval;
    const expiry = this.keys.earliestExpiry();
    if (!expiry) return byInterval;
    const byExpiry = Math.max(expiry.getTime() - this.#margin, this.#lastRefresh + this.#spacing);
    return Math.min(byInterval, byExpiry);
  }

  isDue(now: number = Date.now()): boolean {
    const next = this.nextRefreshAt();
    return next === undefined || now >= next;
  }

  /** Downloads when due; resolves true when it did. Concurrent callers share one download. */
  async refreshIfDue(now: number = Date.now()): Promise<boolean> {
    if (!this.#inFlight && !this.isDue(now)) return false;
    await this.refresh(now);
    return true;
  }

  /** Downloads, opens and verifies the list now; adds the certificates and drops expired ones. */
  refresh(now: number = Date.now()): Promise<V3PlatformCertificate[]> {
    this.#inFlight ??= this.#download(now).finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #download(now: number): Promise<V3PlatformCertificate[]> {
    const download = await this.#client.downloadCertificates();
    const certificates = openCertificateDownloadV3(download, this.#apiV3Key, { keys: this.keys, now });
    for (const cert of certificates) this.keys.addCertificate(cert.certificate);
    this.keys.pruneExpired(now);
    this.#lastRefresh = now;
    return certificates;
  }
}
