import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { SANDBOX_DEMO_V3 } from '@mp-pay/shared/wechatpay';
import { isSignType, verifyAppPayParams, type SignType } from '@mp-pay/shared/v2';
import { appPayMessageV3, signV3, verifySignatureV3 } from '@mp-pay/shared/v3';
import { EXIT, escapeControl, type CommandResult } from '../io.ts';
import { diagnoseSign, renderSign, type Finding, type SignDiagnosis } from './sign.ts';
import type { KeyCandidate } from './v2-variants.ts';

/**
 * doctor paysign: the parameters a client pays with. Mini-program (wx.requestPayment: appId, timeStamp,
 * nonceStr, package, signType, paySign) or APP (the OpenSDK's PayReq: appid, partnerid, prepayid,
 * package=Sign=WXPay, noncestr, timestamp, sign); v2 (MD5 / HMAC-SHA256 with the APIv2 key, diagnosed like
 * doctor sign) or v3 (SHA256withRSA over fixed lines, checked with the merchant certificate's public key or
 * re-signed with the private key).
 */
export type PayKind = 'miniprogram' | 'app';

export interface PaySignInput {
  params: Readonly<Record<string, string>>;
  kind?: PayKind;
  /** The mini-program's AppID: wx.requestPayment does not return appId, but it is signed. */
  appId?: string;
  /** v2 keys (APIv2 first, then the APIv3 key / AppSecret to compare against). */
  keys: readonly KeyCandidate[];
  /** APP v2: the order's sign type (the PayReq does not carry it). */
  signType?: SignType;
  /** v3: the merchant private key (apiclient_key.pem) and / or the merchant certificate or public key. */
  privateKey?: string;
  merchantPublic?: string;
  /** Where those came from (`--private-key`, `.env (WECHATPAY_PRIVATE_KEY)`), for the findings. */
  sources?: { privateKey?: string; merchantPublic?: string };
}

export interface PaySignDiagnosis {
  ok: boolean;
  kind: PayKind;
  version: 'v2' | 'v3';
  /** v2: the sign doctor's diagnosis of the signed fields. */
  v2?: SignDiagnosis;
  /** v3: exactly the signed message (newlines shown as \n) and what reproduced the sign. */
  message?: string;
  expected?: string;
  given?: string;
  match?: { variant: string; key: string; mistake?: string; message?: string };
  findings: Finding[];
}

export function detectKind(params: Readonly<Record<string, string>>): PayKind {
  return ['partnerid', 'prepayid', 'noncestr', 'partnerId', 'prepayId'].some((n) => params[n] !== undefined)
    ? 'app'
    : 'miniprogram';
}

export function diagnosePaySign(input: PaySignInput): PaySignDiagnosis {
  const kind = input.kind ?? detectKind(input.params);
  return kind === 'app' ? diagnoseApp(input) : diagnoseMiniProgram(input);
}

function diagnoseMiniProgram(input: PaySignInput): PaySignDiagnosis {
  const p = input.params;
  const findings: Finding[] = [];
  for (const [wrong, right] of [
    ['timestamp', 'timeStamp'],
    ['noncestr', 'nonceStr'],
    ['paysign', 'paySign'],
    ['signtype', 'signType'],
  ] as const) {
    if (p[wrong] !== undefined && p[right] === undefined) {
      findings.push({
        id: `field-${wrong}`,
        message: `\`${wrong}\` is not a wx.requestPayment field: it is \`${right}\` (requestPayment:fail parameter error: parameter.${right} should be String instead of Undefined)`,
      });
    }
  }
  const appId = input.appId ?? p.appId ?? p.appid;
  const timeStamp = p.timeStamp ?? p.timestamp ?? '';
  const nonceStr = p.nonceStr ?? p.noncestr ?? '';
  const pkg = p.package ?? p.packageValue ?? '';
  const signType = p.signType ?? 'MD5';
  const paySign = p.paySign ?? p.sign ?? '';
  if (!appId)
    findings.push({ id: 'no-appid', message: 'appId is signed but not returned: pass it with --appid' });
  if (signType === 'RSA') {
    const lines = [appId ?? '', timeStamp, nonceStr, pkg];
    return rsaDiagnosis('miniprogram', lines, paySign, input, findings, miniProgramRsaVariants(lines));
  }
  if (!isSignType(signType)) {
    findings.push({
      id: 'bad-sign-type',
      message: `signType is "${signType}": MD5, HMAC-SHA256 (v2) or RSA (v3)`,
    });
  }
  const five = { appId: appId ?? '', timeStamp, nonceStr, package: pkg, signType };
  const v2 = diagnoseSign({
    params: five,
    given: paySign,
    keys: input.keys,
    ...(isSignType(signType) ? { signType } : {}),
    context: 'requestPayment',
  });
  const all = [...findings, ...v2.findings];
  return { ok: v2.ok && findings.length === 0, kind: 'miniprogram', version: 'v2', v2, findings: all };
}

function diagnoseApp(input: PaySignInput): PaySignDiagnosis {
  const p = input.params;
  const findings: Finding[] = [];
  const sign = p.sign ?? '';
  const rsa = sign !== '' && !/^[0-9A-Fa-f]{32}$|^[0-9A-Fa-f]{64}$/.test(sign) && isBase64(sign);
  if (rsa) {
    const lines = [p.appid ?? '', p.timestamp ?? '', p.noncestr ?? '', p.prepayid ?? ''];
    if (p.package !== 'Sign=WXPay') {
      findings.push({
        id: 'app-package',
        message: `package must be the constant Sign=WXPay, not "${p.package ?? ''}"`,
      });
    }
    return rsaDiagnosis('app', lines, sign, input, findings, appRsaVariants(lines));
  }
  const signType = input.signType ?? (sign.length === 64 ? 'HMAC-SHA256' : 'MD5');
  const v2Key = input.keys.find((k) => k.flag === '--key');
  if (v2Key) {
    // The shared checker knows the OpenSDK's shape rules (camelCase names, package, seconds).
    const problem = verifyAppPayParams(p, v2Key.value, signType);
    if (problem && !problem.startsWith('sign does not match'))
      findings.push({ id: 'app-shape', message: problem });
  }
  const six: Record<string, string> = {};
  for (const [name, value] of Object.entries(p)) if (name !== 'sign') six[name] = value;
  const v2 = diagnoseSign({ params: six, given: sign, keys: input.keys, signType, context: 'app' });
  return {
    ok: v2.ok && findings.length === 0,
    kind: 'app',
    version: 'v2',
    v2,
    findings: [...findings, ...v2.findings],
  };
}

interface RsaVariant {
  id: string;
  mistake?: string;
  message: string;
}

function miniProgramRsaVariants([appId, ts, nonce, pkg]: string[]): RsaVariant[] {
  const bare = (pkg ?? '').replace(/^prepay_id=/, '');
  return [
    { id: 'rule', message: `${appId}\n${ts}\n${nonce}\n${pkg}\n` },
    {
      id: 'no-trailing-newline',
      mistake: 'the last line has no trailing \\n: every line ends with \\n, the last one too',
      message: `${appId}\n${ts}\n${nonce}\n${pkg}`,
    },
    {
      id: 'package-bare-prepay-id',
      mistake: 'the bare prepay_id was signed: the fourth line is `prepay_id=…`',
      message: `${appId}\n${ts}\n${nonce}\n${bare}\n`,
    },
    {
      id: 'package-prefixed',
      mistake: '`package` was signed as `prepay_id=…` but sent without the prefix',
      message: `${appId}\n${ts}\n${nonce}\nprepay_id=${bare}\n`,
    },
    {
      id: 'sign-type-signed',
      mistake: 'signType was signed as a fifth line: v3 signs four lines only',
      message: `${appId}\n${ts}\n${nonce}\n${pkg}\nRSA\n`,
    },
    {
      id: 'appid-not-signed',
      mistake: 'appId was left out: it is the first signed line',
      message: `${ts}\n${nonce}\n${pkg}\n`,
    },
    {
      id: 'v2-string-signed',
      mistake: 'a v2 `key=value&…` string was RSA-signed: v3 signs the four lines',
      message: `appId=${appId}&nonceStr=${nonce}&package=${pkg}&signType=RSA&timeStamp=${ts}`,
    },
  ];
}

function appRsaVariants([appid, ts, nonce, prepayid]: string[]): RsaVariant[] {
  return [
    { id: 'rule', message: appPayMessageV3(appid ?? '', ts ?? '', nonce ?? '', prepayid ?? '') },
    {
      id: 'no-trailing-newline',
      mistake: 'the last line has no trailing \\n',
      message: `${appid}\n${ts}\n${nonce}\n${prepayid}`,
    },
    {
      id: 'prepay-id-prefixed',
      mistake: 'the fourth line was `prepay_id=…` (the mini-program package): APP signs the bare prepayid',
      message: `${appid}\n${ts}\n${nonce}\nprepay_id=${prepayid}\n`,
    },
    {
      id: 'package-signed',
      mistake: 'Sign=WXPay was signed as a line: the package is not signed in v3',
      message: `${appid}\n${ts}\n${nonce}\n${prepayid}\nSign=WXPay\n`,
    },
  ];
}

/** The shape of a base64 RSA signature (the shared verifier checks it again before OpenSSL sees it). */
function isBase64(text: string): boolean {
  return /^(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text);
}

function publicKeyOf(pem: string): KeyObject {
  if (pem.includes('BEGIN CERTIFICATE')) return new X509Certificate(pem).publicKey;
  if (pem.includes('PRIVATE KEY')) return createPublicKey(createPrivateKey(pem));
  return createPublicKey(pem);
}

function rsaDiagnosis(
  kind: PayKind,
  lines: string[],
  given: string,
  input: PaySignInput,
  findings: Finding[],
  variants: RsaVariant[],
): PaySignDiagnosis {
  const rule = variants[0]?.message ?? '';
  const result: PaySignDiagnosis = { ok: false, kind, version: 'v3', message: rule, given, findings };
  const candidates: { label: string; key: KeyObject }[] = [];
  // A key that does not load is the user's mistake to report, not a crash: say which flag and go on with the
  // keys that do load.
  const privateSource = input.sources?.privateKey ?? '--private-key';
  const publicSource = input.sources?.merchantPublic ?? '--cert';
  if (input.privateKey) {
    const pem = input.privateKey;
    if (pem.includes('PUBLIC KEY') || pem.includes('BEGIN CERTIFICATE')) {
      findings.push({
        id: 'private-key-is-public',
        message: `${privateSource} holds a public key or a certificate: pass apiclient_key.pem there, and the certificate as --cert`,
      });
    } else {
      try {
        const key = publicKeyOf(pem);
        result.expected = signV3(rule, pem);
        candidates.push({ label: 'the merchant private key (--private-key)', key });
      } catch (err) {
        findings.push({
          id: 'private-key-unreadable',
          message: `${privateSource} is not a PEM private key (${(err as Error).message})`,
        });
      }
    }
  }
  if (input.merchantPublic) {
    try {
      candidates.push({ label: 'the merchant certificate (--cert)', key: publicKeyOf(input.merchantPublic) });
    } catch (err) {
      findings.push({
        id: 'cert-unreadable',
        message: `${publicSource} is neither a PEM certificate nor a public key (${(err as Error).message})`,
      });
    }
  }
  if (candidates.length === 0 && (input.privateKey || input.merchantPublic)) return result;
  if (candidates.length === 0) {
    findings.push({
      id: 'no-merchant-key',
      message:
        'RSA paySign: pass --cert (apiclient_cert.pem) or --private-key (apiclient_key.pem) to check it',
    });
    return result;
  }
  candidates.push({
    label: 'the sandbox demo merchant key (SANDBOX_DEMO_V3)',
    key: createPublicKey(SANDBOX_DEMO_V3.mchPrivateKey),
  });
  if (lines.some((line) => line === ''))
    findings.push({ id: 'missing-field', message: 'a signed field is empty or missing' });
  if (!isBase64(given)) {
    findings.push({
      id: 'not-base64',
      message: 'the sign is not base64: an RSA signature is base64 (MD5 / HMAC hex belongs to v2)',
    });
    return result;
  }
  for (const variant of variants) {
    for (const candidate of candidates) {
      if (!verifySignatureV3(variant.message, given, candidate.key)) continue;
      result.match = {
        variant: variant.id,
        key: candidate.label,
        ...(variant.mistake ? { mistake: variant.mistake, message: variant.message } : {}),
      };
      if (candidate === candidates.at(-1)) {
        findings.push({
          id: 'demo-key',
          message:
            'signed with the sandbox demo merchant key, not the configured merchant key (WECHATPAY_PRIVATE_KEY)',
        });
      }
      if (variant.mistake) findings.push({ id: variant.id, message: variant.mistake });
      result.ok = findings.length === 0;
      return result;
    }
  }
  findings.push({
    id: 'wrong-key',
    message:
      'the sign does not verify over any known message with the merchant key: another private key (not the one ' +
      'of WECHATPAY_CERT_SERIAL), other field values, or the jsapi request signature reused',
  });
  return result;
}

export function renderPaySign(d: PaySignDiagnosis, v2Key: string | undefined, showKey: boolean): string {
  const head = `${d.kind === 'app' ? 'APP PayReq' : 'wx.requestPayment'} (${d.version})`;
  if (d.version === 'v2' && d.v2) {
    const extra = d.findings.filter((f) => !d.v2?.findings.includes(f));
    const body = renderSign({ ...d.v2, ok: d.ok, findings: [...extra, ...d.v2.findings] }, v2Key, showKey);
    return `${head}\n${body}`;
  }
  const lines = [head, 'Signed message (SHA256withRSA):', `  ${JSON.stringify(d.message)}`];
  if (d.expected) lines.push(`Expected     ${d.expected}`);
  lines.push(`Given sign   ${d.given ?? ''}`);
  if (d.match) {
    lines.push(
      d.match.mistake
        ? `Reproduced:  with ${d.match.key}, over ${JSON.stringify(d.match.message)}`
        : `Verifies:    with ${d.match.key}`,
    );
  } else {
    lines.push('Verifies:    no');
  }
  lines.push(d.ok ? 'Verdict: OK' : 'Verdict: PROBLEM');
  for (const f of d.findings) lines.push(`  - [${f.id}] ${f.message}`);
  return lines.map(escapeControl).join('\n');
}

export function paySignResult(
  d: PaySignDiagnosis,
  v2Key: string | undefined,
  showKey: boolean,
): CommandResult {
  return { exitCode: d.ok ? EXIT.OK : EXIT.PROBLEM, text: renderPaySign(d, v2Key, showKey), json: d };
}
