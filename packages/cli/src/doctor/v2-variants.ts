import { canonicalString, signV2Text, SIGN_TYPES, type SignType } from '@mp-pay/shared/v2';

/**
 * The v2 signing mistakes, each as the stringA a mistaken signer would have built from the map we were given.
 * The doctor signs every applicable variant with every key it was given and both sign types, and names the one
 * that reproduces the received signature: a diagnosis by recomputation, not by guessing. The digest itself is
 * always @mp-pay/shared's (signV2Text); only the string differs.
 */
export interface SignVariant {
  id: string;
  /** The mistake, as a sentence; undefined for the documented rule itself. */
  mistake?: string;
  stringA: string;
}

export interface KeyCandidate {
  /** `the APIv2 key`, `the APIv3 key`, `the AppSecret`. */
  label: string;
  flag: string;
  value: string;
}

export interface V2Match {
  variant: SignVariant;
  key: KeyCandidate;
  signType: SignType;
  /** The received sign was lower-case hex of the right digest. */
  lowerCase: boolean;
}

/** Names signers get wrong: wx.requestPayment's camelCase, the APP SDK's lower case, Java's packageValue. */
const RENAMES: ReadonlyArray<readonly [string, string]> = [
  ['timeStamp', 'timestamp'],
  ['appId', 'appid'],
  ['nonceStr', 'noncestr'],
  ['signType', 'signtype'],
  ['package', 'packageValue'],
  ['partnerid', 'partnerId'],
  ['prepayid', 'prepayId'],
];

/** `k=v&k=v` over the entries in ASCII order of name, as the rule joins them (empty values optionally kept). */
function join(entries: ReadonlyArray<readonly [string, string]>, keepEmpty: boolean): string {
  return [...entries]
    .filter(([, value]) => keepEmpty || value !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export interface VariantOptions {
  /** The map's `sign` is not the signature under test (it came with --sign): try signing it too. */
  signIsStale?: boolean;
}

/** Every variant that applies to this map (one whose string differs from the rule's), the rule first. */
export function signVariants(
  params: Readonly<Record<string, string>>,
  options: VariantOptions = {},
): SignVariant[] {
  const unsigned = Object.entries(params).filter(([name]) => name !== 'sign');
  const rule = canonicalString(params);
  const variants: SignVariant[] = [{ id: 'rule', stringA: rule }];
  const add = (id: string, mistake: string, stringA: string) => {
    if (stringA !== rule && !variants.some((v) => v.stringA === stringA))
      variants.push({ id, mistake, stringA });
  };
  const mapValues = (fn: (value: string) => string) =>
    unsigned.map(([name, value]) => [name, fn(value)] as const);

  const empties = unsigned.filter(([, value]) => value === '').map(([name]) => name);
  if (empties.length > 0) {
    add(
      'empty-values-signed',
      `empty values were signed (${empties.join(', ')}=): the rule leaves out every field whose value is empty`,
      join(unsigned, true),
    );
  }
  if (options.signIsStale && params.sign !== undefined) {
    add(
      'sign-signed',
      'the map still held a `sign` when it was signed, and it was signed with the rest: `sign` is never part of the string',
      join(Object.entries(params), false),
    );
  }
  if (params.sign_type !== undefined && params.sign_type !== '') {
    add(
      'sign-type-unsigned',
      '`sign_type` was added after signing: it is a field like any other and must be in the signed string',
      canonicalString({ ...params, sign_type: undefined }),
    );
  }
  if (unsigned.some(([, value]) => safeDecode(value) !== value)) {
    add(
      'url-decoded-signed',
      'the values were URL-decoded when signed, but sent encoded (or the other way round): sign the raw values exactly as sent',
      join(mapValues(safeDecode), false),
    );
  }
  if (unsigned.some(([, value]) => encodeURIComponent(value) !== value)) {
    add(
      'url-encoded-signed',
      'the values were URL-encoded when signed: the rule signs raw values (no URL encoding, no CDATA)',
      join(mapValues(encodeURIComponent), false),
    );
  }
  if (unsigned.some(([, value]) => value.trim() !== value)) {
    const spaced = unsigned.filter(([, value]) => value.trim() !== value).map(([name]) => name);
    add(
      'whitespace-trimmed',
      `the values of ${spaced.join(', ')} were trimmed when signed but sent with surrounding whitespace (or the reverse): sign exactly the bytes sent`,
      join(
        mapValues((value) => value.trim()),
        false,
      ),
    );
  }
  for (const [a, b] of RENAMES) {
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      if (params[from] === undefined || params[to] !== undefined) continue;
      add(
        `renamed-${from}-${to}`,
        `the name \`${to}\` was signed where the field is \`${from}\`: names are case-sensitive and must be exactly the documented ones`,
        join(
          unsigned.map(([name, value]) => [name === from ? to : name, value] as const),
          false,
        ),
      );
    }
  }
  const lower = unsigned.map(([name, value]) => [name.toLowerCase(), value] as const);
  if (lower.some(([name], i) => name !== unsigned[i]?.[0])) {
    add(
      'names-lower-cased',
      'the names were lower-cased when signed: names are case-sensitive',
      join(lower, false),
    );
  }
  const pkg = params.package;
  if (pkg !== undefined && pkg.startsWith('prepay_id=')) {
    add(
      'package-bare-prepay-id',
      'the bare prepay_id was signed as `package`: the signed value is `prepay_id=…`, exactly as passed to wx.requestPayment',
      canonicalString({ ...params, package: pkg.slice('prepay_id='.length) }),
    );
  } else if (pkg !== undefined && pkg !== '' && pkg !== 'Sign=WXPay') {
    add(
      'package-prefixed',
      '`package` was signed as `prepay_id=…` but sent without the `prepay_id=` prefix',
      canonicalString({ ...params, package: `prepay_id=${pkg}` }),
    );
  }
  return variants;
}

/**
 * The first (variant, key, sign type) that reproduces `given`, simplest explanation first: the rule with the
 * APIv2 key, then the rule with the other keys, then each mistake with each key.
 */
export function findV2Match(
  variants: readonly SignVariant[],
  keys: readonly KeyCandidate[],
  given: string,
  preferred?: SignType,
): V2Match | undefined {
  const types = preferred ? [preferred, ...SIGN_TYPES.filter((t) => t !== preferred)] : SIGN_TYPES;
  const wanted = given.toUpperCase();
  for (const variant of variants) {
    for (const key of keys) {
      for (const signType of types) {
        if (signV2Text(variant.stringA, key.value, signType) === wanted) {
          return { variant, key, signType, lowerCase: given !== wanted };
        }
      }
    }
  }
  return undefined;
}
