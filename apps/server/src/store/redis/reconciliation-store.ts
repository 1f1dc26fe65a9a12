import type { OrderStatus } from '@mp-pay/shared/api';
import { guard, type RedisClient } from './connect.ts';
import { refundKeys, statusKeys, type RedisKeys } from './keys.ts';
import type { Scripts } from './scripts.ts';
import {
  RECONCILIATION_EVENTS_MAX_LEN,
  type ExternalRefund,
  type ReconciliationCompleted,
  type ReconciliationStore,
  type RecordExternalRefundResult,
  type StoredReport,
} from '../reconciliations.ts';

/** Reconciliation keys: one hash tag of their own, `{recon}`, so a report and its event share a slot. */
export function reconciliationKeys(prefix: string) {
  const at = `${prefix}{recon}:`;
  return {
    /** The shop's own report keeps the key it always had; another merchant's adds its mchid. */
    report: (date: string, merchant?: string) =>
      merchant === undefined ? `${at}report:${date}` : `${at}report:${date}:${merchant}`,
    events: `${at}events`,
    lock: (date: string) => `${at}lock:${date}`,
  };
}

const EXTERNAL = 'x:';

export class RedisReconciliationStore implements ReconciliationStore {
  readonly #k: ReturnType<typeof reconciliationKeys>;
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly scripts: Scripts,
  ) {
    this.#k = reconciliationKeys(keys.prefix);
  }

  async saveReport(
    date: string,
    report: { json: string; csv: string; counts: Record<string, number> },
    now: number,
    merchant?: string,
  ): Promise<{ changed: boolean }> {
    const reply = (await guard(
      this.scripts.saveReconciliation(
        this.#k.report(date, merchant),
        this.#k.events,
        date,
        report.json,
        report.csv,
        JSON.stringify(report.counts),
        now,
        RECONCILIATION_EVENTS_MAX_LEN,
        merchant ?? '',
      ),
    )) as [number, string?];
    return { changed: reply[0] === 1 };
  }

  async getReport(date: string, merchant?: string): Promise<StoredReport | undefined> {
    const hash = await guard(this.redis.hgetall(this.#k.report(date, merchant)));
    if (hash.json === undefined) return undefined;
    return {
      json: hash.json,
      csv: hash.csv ?? '',
      runs: Number(hash.runs ?? 0),
      lastRunAt: Number(hash.lastRunAt ?? 0),
    };
  }

  async claimRun(date: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await guard(this.redis.set(this.#k.lock(date), owner, 'PX', ttlMs, 'NX'))) === 'OK';
  }

  async releaseRun(date: string, owner: string): Promise<void> {
    // Compare-and-delete in one step: a claim that expired and was taken by another process is left alone.
    await guard(
      this.redis.eval(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
        1,
        this.#k.lock(date),
        owner,
      ),
    );
  }

  async recordExternalRefund(refund: ExternalRefund): Promise<RecordExternalRefundResult> {
    const k = this.keys;
    const reply = (await guard(
      this.scripts.recordExternalRefund(
        ...refundKeys(k, refund.orderId),
        ...statusKeys(k, refund.orderId),
        refund.orderId,
        refund.outTradeNo,
        refund.outRefundNo,
        refund.refundId,
        refund.refundFen,
        refund.at,
        JSON.stringify(refund),
        refund.source,
      ),
    )) as [number, string?];
    switch (reply[0]) {
      case 1:
        return { kind: 'recorded', orderStatus: reply[1] as OrderStatus };
      case 2:
        return { kind: 'already_recorded' };
      case 3:
        return { kind: 'own_refund' };
      case 0:
        return { kind: 'not_paid' };
      case -1:
        return { kind: 'not_found' };
      default:
        throw new Error(`record-external-refund: unexpected result ${String(reply[0])}`);
    }
  }

  async listExternalRefunds(orderId: string): Promise<ExternalRefund[]> {
    const hash = await guard(this.redis.hgetall(this.keys.refunds(orderId)));
    return Object.entries(hash)
      .filter(([name]) => name.startsWith(EXTERNAL))
      .map(([, doc]) => JSON.parse(doc) as ExternalRefund);
  }

  async readCompleted(): Promise<ReconciliationCompleted[]> {
    const entries = await guard(this.redis.xrange(this.#k.events, '-', '+'));
    return entries.map(([, fields]) => {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string;
      return {
        date: f.date ?? '',
        ...(f.mchid ? { mchid: f.mchid } : {}),
        counts: JSON.parse(f.counts ?? '{}') as Record<string, number>,
        at: Number(f.at),
      };
    });
  }
}
