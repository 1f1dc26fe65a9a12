import { createPublicKey, X509Certificate } from 'node:crypto';
import {
  decryptV3Resource,
  PUB_KEY_ID_RE,
  CERT_SERIAL_RE,
  responseMessageV3,
  SIGNTEST_PREFIX,
  signedMessageFromHeadersV3,
  V3KeySet,
  verifySignatureV3,
  WechatPayV3DecryptError,
  type V3EncryptedResource,
  type V3HeaderBag,
} from '@mp-pay/shared/v3';
import { EXIT, UsageError, type CommandResult } from '../io.ts';
import type { Finding } from './sign.ts';

/**
 * doctor v3: one APIv3 notification (or reply), checked the way the server checks it, but every step is run
 * and reported instead of stopping at the first failure: the headers, the SIGNTEST probe, the 5-minute window,
 * the serial against the keys given, the signature over `timestamp\nnonce\nbody\n` (and, when that fails, over
 * the body re-serialised, to tell "the framework parsed and re-stringified the body" from "wrong key"), then
 * the AEAD_AES_256_GCM tag of the resource with the APIv3 key.
 */
export interface V3Input {
  headers: V3HeaderBag;
  body: Buffer;
  /** WeChat Pay public key (PEM, or a certificate holding it) and its id; loaded here, a bad one is a finding. */
  publicKey?: { id: string; pem: string };
  /** Platform certificates (PEM). */
  platformCerts?: string[];
  apiV3Key?: string;
  /** The APIv2 key, only to recognise it used in the APIv3 key's place. */
  v2Key?: string;
  /** Our clock, ms. */
  now?: number;
}

export type CheckStatus = 'ok' | 'failed' | 'skipped';

export interface V3Check {
  name: 'headers' | 'probe' | 'time' | 'keys' | 'serial' | 'signature' | 'decrypt';
  status: CheckStatus;
  detail: string;
}

export interface V3Diagnosis {
  ok: boolean;
  /** The signed message as text (newlines shown), when the headers were there. */
  message?: string;
  checks: V3Check[];
  findings: Finding[];
  /** The decrypted resource, when the tag checked out (the notification's own data, no secret). */
  resource?: unknown;
}

/** A saved HTTP request: request line, headers, blank line, then the body's exact bytes. */
export function parseHttpRequest(raw: Buffer): { headers: Record<string, string | string[]>; body: Buffer } {
  let end = raw.indexOf('\r\n\r\n');
  let sep = 4;
  const lf = raw.indexOf('\n\n');
  if (end === -1 || (lf !== -1 && lf < end)) {
    end = lf;
    sep = 2;
  }
  if (end === -1) throw new UsageError('the request file has no blank line between headers and body');
  const head = raw.subarray(0, end).toString('utf8').split(/\r?\n/);
  const headers: Record<string, string | string[]> = {};
  for (const line of head.slice(/^[A-Z]+ \S+/.test(head[0] ?? '') ? 1 : 0)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const seen = headers[name];
    headers[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return { headers, body: raw.subarray(end + sep) };
}

export function diagnoseV3(input: V3Input): V3Diagnosis {
  const checks: V3Check[] = [];
  const findings: Finding[] = [];
  const result: V3Diagnosis = { ok: false, checks, findings };
  const fail = (name: V3Check['name'], detail: string, finding?: Finding) => {
    checks.push({ name, status: 'failed', detail });
    if (finding) findings.push(finding);
  };
  const pass = (name: V3Check['name'], detail: string) => checks.push({ name, status: 'ok', detail });
  const skip = (name: V3Check['name'], detail: string) => checks.push({ name, status: 'skipped', detail });

  let signed;
  try {
    signed = signedMessageFromHeadersV3(input.headers, input.body);
  } catch (err) {
    fail('headers', (err as Error).message, { id: 'headers', message: (err as Error).message });
    return result;
  }
  pass('headers', `Wechatpay-Timestamp, -Nonce, -Signature and -Serial present (serial ${signed.serial})`);
  result.message = responseMessageV3(signed.timestamp, signed.nonce, input.body).toString('utf8');

  const probe = signed.signature.startsWith(SIGNTEST_PREFIX);
  if (probe) {
    fail('probe', 'Wechatpay-Signature starts with WECHATPAY/SIGNTEST/', {
      id: 'signtest-probe',
      message:
        'a WECHATPAY/SIGNTEST/ probe: WeChat checking that your verifier rejects bad signatures. It must fail ' +
        'verification and be answered with an error (4xx/5xx), never processed',
    });
  } else {
    pass('probe', 'not a SIGNTEST probe');
  }

  const now = input.now ?? Date.now();
  const skew = Number(signed.timestamp) - now / 1000;
  if (!/^\d{1,12}$/.test(signed.timestamp)) {
    fail('time', 'Wechatpay-Timestamp is not seconds', {
      id: 'timestamp-format',
      message: 'Wechatpay-Timestamp is not Unix seconds',
    });
  } else if (Math.abs(skew) > 300) {
    const age = `${Math.round(Math.abs(skew))} s ${skew < 0 ? 'old' : 'in the future'}`;
    fail('time', `${age} (window 300 s)`, {
      id: 'stale-timestamp',
      message: `Wechatpay-Timestamp is ${age}: outside the 5-minute window, so reject it (a replay, or a clock to fix; --now to check it at another time)`,
    });
  } else {
    pass('time', `${Math.round(Math.abs(skew))} s from now (window 300 s)`);
  }

  const keys = new V3KeySet();
  // A file that is not a key is the user's mistake, reported like any other: the check goes on with the keys
  // that did load.
  const unloadable: string[] = [];
  if (input.publicKey) {
    const { id, pem } = input.publicKey;
    if (pem.includes('PRIVATE KEY')) {
      unloadable.push(
        "--public-key is a private key: it must be WeChat Pay's public key (pub_key.pem, API安全 → 微信支付公钥)",
      );
    } else {
      try {
        keys.addPublicKey(id, publicKeyPem(pem));
      } catch (err) {
        unloadable.push(`--public-key is not a PEM public key or certificate (${(err as Error).message})`);
      }
    }
  }
  (input.platformCerts ?? []).forEach((pem, i) => {
    try {
      keys.addCertificate(pem);
    } catch (err) {
      unloadable.push(`--platform-cert #${i + 1} is not a PEM certificate (${(err as Error).message})`);
    }
  });
  for (const message of unloadable) fail('keys', message, { id: 'key-unreadable', message });
  const key = keys.get(signed.serial);
  if (keys.size === 0) {
    skip(
      'serial',
      unloadable.length > 0
        ? 'no key loaded'
        : 'no keys given (--public-key with --public-key-id, or --platform-cert)',
    );
  } else if (!key) {
    const publicKeyMode = PUB_KEY_ID_RE.test(signed.serial);
    const message = publicKeyMode
      ? `serial unknown: public key mode? ${signed.serial} is a WeChat Pay public key id; configure WECHATPAY_PUBLIC_KEY and WECHATPAY_PUBLIC_KEY_ID from the merchant console (have: ${keys.serials().join(', ')})`
      : CERT_SERIAL_RE.test(signed.serial)
        ? `serial unknown: ${signed.serial} is a platform certificate serial you do not hold (certificate mode, or a rotation: download /v3/certificates; have: ${keys.serials().join(', ')})`
        : `serial unknown: ${signed.serial} is neither a PUB_KEY_ID_… nor a certificate serial`;
    fail('serial', message, { id: 'serial-unknown', message });
  } else if (key.kind === 'certificate' && (key.notAfter.getTime() < now || key.notBefore.getTime() > now)) {
    const message = `platform certificate ${key.id} is valid ${key.notBefore.toISOString()} – ${key.notAfter.toISOString()}, not now`;
    fail('serial', message, { id: 'certificate-expired', message });
  } else {
    pass(
      'serial',
      `${signed.serial}: ${key.kind === 'public-key' ? 'the WeChat Pay public key' : 'a platform certificate'}`,
    );
  }

  if (probe) {
    skip('signature', 'a probe carries no real signature');
  } else if (!key) {
    skip('signature', 'no key for this serial');
  } else if (
    verifySignatureV3(
      responseMessageV3(signed.timestamp, signed.nonce, input.body),
      signed.signature,
      key.key,
    )
  ) {
    pass('signature', 'verifies over timestamp\\nnonce\\nbody\\n with the raw body');
  } else {
    const variant = reserialised(input.body).find((v) =>
      verifySignatureV3(responseMessageV3(signed.timestamp, signed.nonce, v.body), signed.signature, key.key),
    );
    if (variant) {
      const message = `body was re-serialised: the signature verifies over ${variant.name}, not over the bytes received. Verify the raw body (read it before any JSON parser)`;
      fail('signature', message, { id: 'body-reserialised', message });
    } else {
      // No transform reproduced WeChat's bytes, but a body that is exactly what JSON.stringify writes may still
      // have been parsed and re-stringified (WeChat's spacing or escapes are not always the ones tried above).
      const hint = isStringified(input.body)
        ? ". The body is byte-identical to JSON.stringify(JSON.parse(body)): it looks re-serialised — capture the raw bytes before any JSON parser (e.g. express.raw / koa's rawBody) and check those"
        : '';
      const message = `the signature does not verify with ${signed.serial}: the body or a header was altered, or the key is not WeChat Pay's${hint}`;
      fail('signature', message, { id: 'signature-mismatch', message });
    }
  }

  const resource = resourceOf(input.body);
  if (!resource) {
    skip('decrypt', 'the body holds no JSON `resource` to decrypt');
  } else if (!input.apiV3Key) {
    skip('decrypt', 'no --apiv3-key');
  } else {
    try {
      result.resource = JSON.parse(decryptV3Resource(resource, input.apiV3Key));
      pass('decrypt', 'AEAD_AES_256_GCM tag verified with the APIv3 key');
    } catch (err) {
      const code = err instanceof WechatPayV3DecryptError ? err.reason : undefined;
      let message: string;
      let id = 'decrypt-failed';
      if (code === 'BAD_KEY') {
        id = 'apiv3-key-length';
        message = `the APIv3 key is ${Buffer.byteLength(input.apiV3Key, 'utf8')} bytes: it must be exactly 32`;
      } else if (code === 'TAG_MISMATCH') {
        id = 'tag-mismatch';
        // The signature covers the ciphertext: when it verifies (over the raw or a re-serialised body), the
        // resource is WeChat's as sent and only the key can be wrong.
        const signatureOk =
          checks.some((c) => c.name === 'signature' && c.status === 'ok') ||
          findings.some((f) => f.id === 'body-reserialised');
        message =
          input.v2Key !== undefined && input.v2Key === input.apiV3Key
            ? 'tag mismatch: the APIv3 key is wrong — it is the APIv2 key (WECHATPAY_APIV3_KEY = WECHATPAY_KEY): set the APIv3 key (API安全 → APIv3密钥)'
            : input.v2Key !== undefined && tagOk(resource, input.v2Key)
              ? 'tag mismatch: the APIv3 key is wrong — the resource decrypts with the APIv2 key (--key): the two keys were swapped'
              : signatureOk
                ? "tag mismatch: the APIv3 key is wrong (the signature verifies, so the ciphertext is WeChat's as sent)"
                : 'tag mismatch: the APIv3 key is wrong, or the ciphertext was altered (the signature does not verify either)';
      } else {
        message = (err as Error).message;
      }
      fail('decrypt', message, { id, message });
    }
  }
  if (keys.size === 0 && !probe) {
    // Nothing failed, but nothing was verified either: that is not a clean bill of health.
    findings.push({
      id: 'not-verified',
      message: 'the signature was not checked: give --public-key with --public-key-id, or --platform-cert',
    });
  }
  result.ok = checks.every((c) => c.status !== 'failed') && findings.length === 0;
  return result;
}

function tagOk(resource: V3EncryptedResource, key: string): boolean {
  try {
    decryptV3Resource(resource, key);
    return true;
  } catch {
    return false;
  }
}

function resourceOf(body: Buffer): V3EncryptedResource | undefined {
  try {
    const data = JSON.parse(body.toString('utf8')) as { resource?: V3EncryptedResource };
    return typeof data.resource === 'object' && data.resource !== null ? data.resource : undefined;
  } catch {
    return undefined;
  }
}

function isStringified(body: Buffer): boolean {
  try {
    return JSON.stringify(JSON.parse(body.toString('utf8'))) === body.toString('utf8');
  } catch {
    return false;
  }
}

/**
 * What frameworks send to a verifier instead of the raw body: JSON.stringify of the parsed body, compact or
 * pretty. And the reverse: the verifier got JSON.stringify's compact, unescaped form while WeChat's bytes had
 * `\uXXXX` escapes, `\/` or Python-style `, ` / `: ` separators, so every combination of putting those back is
 * tried on the body received.
 */
function reserialised(body: Buffer): { name: string; body: string }[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return [];
  }
  const text = body.toString('utf8');
  const variants = [
    { name: 'JSON.stringify(JSON.parse(body))', body: JSON.stringify(parsed) },
    { name: 'the body pretty-printed (2 spaces)', body: JSON.stringify(parsed, null, 2) },
    { name: 'the body pretty-printed (4 spaces)', body: JSON.stringify(parsed, null, 4) },
    { name: 'the body with its trailing whitespace trimmed', body: text.trimEnd() },
    { name: 'the body with \\r\\n line ends', body: text.replace(/\r?\n/g, '\r\n') },
  ];
  const transforms: { name: string; apply: (json: string) => string }[] = [
    { name: 'non-ASCII escaped as \\uXXXX', apply: (json) => escapeNonAscii(json, false) },
    { name: 'non-ASCII escaped as \\uXXXX (upper-case hex)', apply: (json) => escapeNonAscii(json, true) },
    { name: '/ escaped as \\/', apply: (json) => json.replaceAll('/', '\\/') },
    { name: 'a space after each , and :', apply: spaceSeparators },
  ];
  // Every non-empty combination, the two \uXXXX spellings never together.
  for (let mask = 1; mask < 1 << transforms.length; mask++) {
    if ((mask & 3) === 3) continue;
    const chosen = transforms.filter((_, i) => mask & (1 << i));
    const result = chosen.reduce((json, t) => t.apply(json), text);
    variants.push({
      name: `the body with ${chosen.map((t) => t.name).join(', ')} (the received body is JSON.stringify's re-serialisation of WeChat's)`,
      body: result,
    });
  }
  const seen = new Set<string>([text]);
  return variants.filter((v) => !seen.has(v.body) && (seen.add(v.body), true));
}

/** Non-ASCII as JSON \uXXXX escapes (one per UTF-16 unit, as Java and Python's ensure_ascii write them). */
function escapeNonAscii(json: string, upper: boolean): string {
  return json.replace(/[\u0080-\uffff]/g, (c) => {
    const hex = c.charCodeAt(0).toString(16).padStart(4, '0');
    return `\\u${upper ? hex.toUpperCase() : hex}`;
  });
}

/** `,` → `, ` and `:` → `: ` outside strings (Python's json.dumps default separators). */
function spaceSeparators(json: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i] as string;
    out += c;
    if (inString) {
      if (c === '\\') out += json[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === ',' || c === ':') out += ' ';
  }
  return out;
}

export function renderV3(d: V3Diagnosis): string {
  const lines: string[] = [];
  if (d.message !== undefined) {
    const shown = d.message.length > 240 ? `${d.message.slice(0, 240)}…` : d.message;
    lines.push('Signed message (timestamp\\nnonce\\nbody\\n):', `  ${JSON.stringify(shown)}`);
  }
  for (const c of d.checks)
    lines.push(
      `${c.status === 'ok' ? 'ok  ' : c.status === 'failed' ? 'FAIL' : 'skip'}  ${c.name.padEnd(9)} ${c.detail}`,
    );
  lines.push(d.ok ? 'Verdict: OK' : 'Verdict: PROBLEM');
  for (const f of d.findings) lines.push(`  - [${f.id}] ${f.message}`);
  return lines.join('\n');
}

export function v3Result(d: V3Diagnosis): CommandResult {
  return { exitCode: d.ok ? EXIT.OK : EXIT.PROBLEM, text: renderV3(d), json: d };
}

/** A public key PEM from a key or a certificate file (the console offers the key; some paste a certificate). */
export function publicKeyPem(pem: string): string {
  const key = pem.includes('BEGIN CERTIFICATE') ? new X509Certificate(pem).publicKey : createPublicKey(pem);
  return key.export({ type: 'spki', format: 'pem' }).toString();
}
