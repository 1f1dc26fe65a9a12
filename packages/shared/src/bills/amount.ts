/**
 * Exact yuan ⇄ fen text conversion for bills (no floating point: '0.29' * 100 is 28.999999999999996).
 * WeChat prints amounts with 2 decimals, sometimes fewer ('0', '0.0' in old bills), never thousands separators.
 */
const YUAN_RE = /^(-?)(\d{1,13})(?:\.(\d+))?$/;

/** '12.30' → 1230, '-0.01' → -1, '0' → 0. More than 2 decimals is an error unless the extra ones are zeros. */
export function yuanToFen(text: string): number {
  const match = YUAN_RE.exec(text);
  if (!match) throw new RangeError(`not an amount in yuan: ${JSON.stringify(text.slice(0, 40))}`);
  const [, sign, whole, decimals = ''] = match;
  if (/[^0]/.test(decimals.slice(2))) {
    throw new RangeError(`amount has a fraction of a fen: ${JSON.stringify(text)}`);
  }
  const fen = Number(whole) * 100 + Number(decimals.slice(0, 2).padEnd(2, '0'));
  return sign && fen !== 0 ? -fen : fen;
}

/** 1230 → '12.30', -1 → '-0.01'. */
export function fenToYuan(fen: number): string {
  if (!Number.isSafeInteger(fen)) throw new RangeError(`fen must be an integer: ${fen}`);
  const abs = Math.abs(fen);
  const text = `${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
  return fen < 0 ? `-${text}` : text;
}

const FEE_RE = /^(-?)(\d{1,13})(?:\.(\d{0,6}))?$/;

/** A fee as printed ('0.00600', '-0.01', '0') → integer millionths of a yuan, for exact sums. */
export function feeToMicroYuan(text: string): number {
  const match = FEE_RE.exec(text);
  if (!match) throw new RangeError(`not a fee in yuan: ${JSON.stringify(text.slice(0, 40))}`);
  const [, sign, whole, decimals = ''] = match;
  const micro = Number(whole) * 1_000_000 + Number(decimals.padEnd(6, '0'));
  return sign && micro !== 0 ? -micro : micro;
}

/** Millionths of a yuan → WeChat's fee text: 5 decimals ('0.00600'), 6 only when the last one is needed. */
export function microYuanToFee(micro: number): string {
  const abs = Math.abs(micro);
  const fraction = String(abs % 1_000_000).padStart(6, '0');
  const text = `${Math.floor(abs / 1_000_000)}.${fraction.endsWith('0') ? fraction.slice(0, 5) : fraction}`;
  return micro < 0 ? `-${text}` : text;
}
