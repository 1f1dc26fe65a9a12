import { randomBytes } from 'node:crypto';

/**
 * What the sandbox remembers about bills beyond the orders themselves: amounts tampered "in the bill only" (to
 * exercise the merchant's reconciliation), one-time v3 download tokens, and a one-shot corruption of the next
 * v3 file download (to exercise the SHA1 check). Control endpoints: control/console.ts.
 */
export interface BillFile {
  mchId: string;
  bytes: Buffer;
  expiresAt: number;
}

/** download_url lifetime. WeChat documents its links as short-lived; the sandbox picks 30 s (sandbox clock). */
export const DOWNLOAD_TTL_MS = 30_000;
const MAX_FILES = 1000;
const MAX_TAMPERS = 10_000;

export class BillDesk {
  /** `${mchId}:${outTradeNo}` → the 订单金额 / 应结订单金额 the bill prints instead of the real one. */
  readonly #tampered = new Map<string, number>();
  readonly #files = new Map<string, BillFile>();
  readonly #corruptNext = new Set<string>();

  tamper(mchId: string, outTradeNo: string, totalFee: number): void {
    if (this.#tampered.size >= MAX_TAMPERS) this.#tampered.clear();
    this.#tampered.set(`${mchId}:${outTradeNo}`, totalFee);
  }

  tamperedFee(mchId: string, outTradeNo: string): number | undefined {
    return this.#tampered.get(`${mchId}:${outTradeNo}`);
  }

  corruptNextDownload(mchId: string): void {
    this.#corruptNext.add(mchId);
  }

  /** Whether this download is the one to corrupt (one shot). */
  takeCorruption(mchId: string): boolean {
    return this.#corruptNext.delete(mchId);
  }

  /** Files a bill under a fresh one-time token. */
  issue(file: BillFile, now: number): string {
    for (const [token, old] of this.#files) if (old.expiresAt <= now) this.#files.delete(token);
    while (this.#files.size >= MAX_FILES) {
      const oldest = this.#files.keys().next();
      if (oldest.done) break;
      this.#files.delete(oldest.value);
    }
    const token = randomBytes(24).toString('base64url');
    this.#files.set(token, file);
    return token;
  }

  /** The file of a token, once: a second use, an expired or another merchant's token gets nothing. */
  redeem(token: string, mchId: string, now: number): BillFile | undefined {
    const file = this.#files.get(token);
    if (!file || file.mchId !== mchId) return undefined;
    this.#files.delete(token);
    return file.expiresAt > now ? file : undefined;
  }
}
