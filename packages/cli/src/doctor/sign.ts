import { canonicalString, isSignType, signV2Text, type SignType } from '@mp-pay/shared/v2';
import { EXIT, escapeControl, maskSecret, type CommandResult } from '../io.ts';
import { findV2Match, signVariants, type KeyCandidate, type V2Match } from './v2-variants.ts';

export interface Finding {
  /** Stable id scripts can match (`wrong-key`, `hmac-without-sign-type`, `empty-values-signed`…). */
  id: string;
  message: string;
}

export interface SignDiagnosisInput {
  params: Readonly<Record<string, string>>;
  /** The signature under test; the map's `sign` when not given. */
  given?: string;
  /** The APIv2 key first; the APIv3 key and the AppSecret only to compare against. */
  keys: readonly KeyCandidate[];
  /** What the signer meant to use (--sign-type); else the map's sign_type, else the signature's length. */
  signType?: SignType;
  /** Which names the map must use (for the wx.requestPayment and APP field sets); none for a plain v2 map. */
  context?: 'map' | 'requestPayment' | 'app';
}

export interface SignDiagnosis {
  ok: boolean;
  /** stringA: exactly what is signed, before `&key=`. */
  stringA: string;
  /** Our MD5 and HMAC-SHA256 of the map with the APIv2 key (when one was given). */
  signatures?: Record<SignType, string>;
  given?: string;
  /** How `given` was reproduced, when it was. */
  match?: {
    signType: SignType;
    key: string;
    variant: string;
    mistake?: string;
    /** The string that was signed instead, when it is not stringA. */
    stringA?: string;
  };
  findings: Finding[];
}

/**
 * doctor sign: recomputes the documented signature, compares, and when they differ re-signs every mistake the
 * map allows (v2-variants.ts) with every key given until one reproduces the received `sign`.
 */
export function diagnoseSign(input: SignDiagnosisInput): SignDiagnosis {
  const { params, keys } = input;
  const findings: Finding[] = [];
  const v2Key = keys.find((k) => k.flag === '--key');
  const stringA = canonicalString(params);
  const signatures = v2Key
    ? {
        MD5: signV2Text(stringA, v2Key.value, 'MD5'),
        'HMAC-SHA256': signV2Text(stringA, v2Key.value, 'HMAC-SHA256'),
      }
    : undefined;
  const external = input.given !== undefined;
  const given = input.given ?? params.sign;
  const declared = params.sign_type;
  if (declared !== undefined && declared !== '' && !isSignType(declared)) {
    findings.push({
      id: 'bad-sign-type',
      message: `sign_type is "${declared}": WeChat knows MD5 and HMAC-SHA256 only`,
    });
  }
  shapeFindings(params, input.context ?? 'map', findings);
  const base: SignDiagnosis = { ok: false, stringA, ...(signatures ? { signatures } : {}), findings };
  if (given === undefined || given === '') {
    findings.push({
      id: 'no-sign',
      message: 'no sign to check: the map has no `sign` (pass one with --sign)',
    });
    return base;
  }
  base.given = given;
  const preferred =
    input.signType ?? (isSignType(declared) ? declared : given.length === 64 ? 'HMAC-SHA256' : 'MD5');
  const match = findV2Match(signVariants(params, { signIsStale: external }), keys, given, preferred);
  if (!match) {
    findings.push({
      id: 'no-variant',
      message:
        'no known mistake reproduces this sign with the keys given: another key, fields that changed after ' +
        "signing, or a sign of another request (e.g. the unifiedorder reply's sign reused as paySign)",
    });
    return base;
  }
  base.match = {
    signType: match.signType,
    key: match.key.label,
    variant: match.variant.id,
    ...(match.variant.mistake ? { mistake: match.variant.mistake, stringA: match.variant.stringA } : {}),
  };
  matchFindings(match, params, input, findings);
  base.ok = findings.length === 0;
  return base;
}

function matchFindings(
  match: V2Match,
  params: Readonly<Record<string, string>>,
  input: SignDiagnosisInput,
  findings: Finding[],
): void {
  if (match.key.flag !== '--key') {
    findings.push({
      id: 'wrong-key',
      message:
        `signed with ${match.key.label} (${match.key.flag}), not the APIv2 key: v2 signatures use the 32-character ` +
        'APIv2 key (API安全 → APIv2密钥); the APIv3 key only decrypts v3 resources, the AppSecret is for login',
    });
  }
  if (match.variant.mistake) findings.push({ id: match.variant.id, message: match.variant.mistake });
  const declared = params.sign_type;
  if (input.context === 'map' || input.context === undefined) {
    // WeChat's own notifications and replies (they carry return_code) may omit sign_type: the length tells.
    const fromWechat = params.return_code !== undefined;
    if (match.signType === 'HMAC-SHA256' && (declared === undefined || declared === '') && !fromWechat) {
      findings.push({
        id: 'hmac-without-sign-type',
        message:
          'signed with HMAC-SHA256 but the map has no sign_type: WeChat checks a request without sign_type as MD5 ' +
          'and answers 签名错误; add sign_type=HMAC-SHA256 before signing (only notifications omit it)',
      });
    } else if (isSignType(declared) && declared !== match.signType) {
      findings.push({
        id: 'sign-type-mismatch',
        message: `sign_type says ${declared} but the sign is ${match.signType}`,
      });
    }
  } else if (input.signType && input.signType !== match.signType) {
    findings.push({
      id: 'sign-type-mismatch',
      message: `signType says ${input.signType} but the paySign is ${match.signType}: both must be the unified order's sign type`,
    });
  }
  if (match.lowerCase) {
    findings.push({
      id: 'lower-case-hex',
      message: 'the sign is lower-case hex: WeChat compares upper-case hex',
    });
  }
}

/** Mistakes visible without any key: a package without prepay_id=, whitespace around values. */
function shapeFindings(params: Readonly<Record<string, string>>, context: string, findings: Finding[]): void {
  const pkg = params.package;
  if (context !== 'app' && pkg !== undefined && pkg !== 'Sign=WXPay' && !pkg.startsWith('prepay_id=')) {
    findings.push({
      id: 'package-without-prepay-id',
      message: `package is "${pkg}": wx.requestPayment wants "prepay_id=${pkg}" (the prefix is part of the value, and of the signed string)`,
    });
  }
  const spaced = Object.entries(params)
    .filter(([name, value]) => name !== 'sign' && value.trim() !== value)
    .map(([name]) => name);
  if (spaced.length > 0) {
    findings.push({
      id: 'whitespace',
      message: `${spaced.join(', ')} ha${spaced.length > 1 ? 've' : 's'} leading or trailing whitespace, which is signed as is: trim before signing and sending`,
    });
  }
}

/** The human report of a sign diagnosis: the string, the signatures, the verdict, each finding. */
export function renderSign(d: SignDiagnosis, v2Key: string | undefined, showKey: boolean): string {
  const lines: string[] = [];
  const keyText = v2Key === undefined ? '<the APIv2 key>' : showKey ? v2Key : maskSecret(v2Key);
  lines.push('Signed string (stringA&key=…):', `  ${d.stringA}&key=${keyText}`);
  if (d.signatures) {
    lines.push(`MD5          ${d.signatures.MD5}`, `HMAC-SHA256  ${d.signatures['HMAC-SHA256']}`);
  } else {
    lines.push('(no --key: the APIv2 key is needed for the expected signatures)');
  }
  if (d.given !== undefined) lines.push(`Given sign   ${d.given}`);
  if (d.match) {
    const how = `${d.match.signType} with ${d.match.key}`;
    lines.push(d.match.mistake ? `Reproduced:  ${how}, over another string:` : `Matches:     ${how}`);
    if (d.match.stringA) lines.push(`  ${d.match.stringA}&key=…`);
  } else if (d.given !== undefined) {
    lines.push('Matches:     nothing');
  }
  lines.push(d.ok ? 'Verdict: OK' : 'Verdict: PROBLEM');
  for (const f of d.findings) lines.push(`  - [${f.id}] ${f.message}`);
  // The values are the caller's (or an attacker's): a newline or an escape sequence in one must not rewrite the
  // report on the terminal.
  return lines.map(escapeControl).join('\n');
}

export function signResult(d: SignDiagnosis, v2Key: string | undefined, showKey: boolean): CommandResult {
  return { exitCode: d.ok ? EXIT.OK : EXIT.PROBLEM, text: renderSign(d, v2Key, showKey), json: d };
}
