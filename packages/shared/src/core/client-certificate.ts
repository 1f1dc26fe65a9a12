import { createSecureContext, type SecureContext } from 'node:tls';

/**
 * The merchant's API client certificate, for the calls WeChat Pay guards with mutual TLS (APIv2 refunds,
 * `/secapi/…`). Either WeChat's `apiclient_cert.p12` as downloaded (its passphrase is the mch_id unless you
 * changed it) or the PEM pair `apiclient_cert.pem` + `apiclient_key.pem`.
 */
export type ClientCertificate =
  | { pfx: Uint8Array; passphrase?: string }
  | { cert: string | Uint8Array; key: string | Uint8Array; passphrase?: string };

export interface TlsOptions {
  clientCertificate?: ClientCertificate | undefined;
  /**
   * Trust roots (PEM) that REPLACE Node's bundled ones: for a local test server or a private proxy only. Leave
   * unset to talk to WeChat.
   */
  ca?: string | Uint8Array | ReadonlyArray<string | Uint8Array> | undefined;
}

/**
 * Loads the certificate once, up front, so a wrong passphrase or an unreadable file is a configuration error at
 * startup with a fix-it message, not a TLS failure on the first refund. Never puts the passphrase or key into
 * the message. Returns undefined when there is nothing to load (system trust, no client certificate).
 */
export function secureContextFor(options: TlsOptions): SecureContext | undefined {
  const cert = options.clientCertificate;
  if (!cert && options.ca === undefined) return undefined;
  const ca = options.ca === undefined ? undefined : toList(options.ca);
  try {
    if (!cert) return createSecureContext({ ca });
    if ('pfx' in cert) {
      if (!cert.pfx?.byteLength) throw new TypeError('the pfx buffer is empty');
      return createSecureContext({ pfx: Buffer.from(cert.pfx), passphrase: cert.passphrase, ca });
    }
    if (!cert.cert || !cert.key) throw new TypeError('both cert and key (PEM) are required');
    return createSecureContext({
      cert: toText(cert.cert),
      key: toText(cert.key),
      passphrase: cert.passphrase,
      ca,
    });
  } catch (err) {
    throw new TypeError(`could not load the client certificate: ${describe(err)}`);
  }
}

function toList(ca: NonNullable<TlsOptions['ca']>): (string | Buffer)[] {
  const list = typeof ca === 'string' || ca instanceof Uint8Array ? [ca] : [...ca];
  return list.map((entry) => (typeof entry === 'string' ? entry : Buffer.from(entry)));
}

function toText(pem: string | Uint8Array): string | Buffer {
  return typeof pem === 'string' ? pem : Buffer.from(pem);
}

/** OpenSSL's words for the two usual mistakes, turned into what to do about them. */
function describe(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/mac verify failure|bad decrypt|bad password/i.test(message)) {
    return `${message}: wrong passphrase (for WeChat's apiclient_cert.p12 it is the mch_id unless changed)`;
  }
  if (/unsupported/i.test(message)) {
    return (
      `${message}: OpenSSL 3 refuses the legacy encryption of older .p12 files; convert it once with ` +
      '`openssl pkcs12 -legacy -in apiclient_cert.p12 -nodes` and pass the PEM pair as {cert, key}'
    );
  }
  return message;
}
