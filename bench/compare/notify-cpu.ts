/**
 * Server CPU per notification, this revision against another one, in the same run: both servers run side by side
 * on the same Redis (own prefixes) and the same sandbox, their pending orders are placed through the public HTTP
 * API (so no revision-specific seeding code is needed), and then each receives signed notifications for its own
 * distinct pending orders, the contenders alternating round by round. The figure is the server process's CPU time
 * divided by the notifications it answered, as in the main table.
 */
import { API_ROUTES, type CreateOrderResponse } from '@mp-pay/shared/api';
import { SANDBOX_DEMO } from '@mp-pay/shared/wechatpay';
import { measureCpu } from '../lib/cpu.ts';
import { postBodies } from '../lib/load.ts';
import { signedNotification } from '../lib/notification.ts';
import { signInBuyers } from '../load/orders-bench.ts';

export interface CompareContender {
  name: string;
  serverUrl: string;
  pid: number | undefined;
}

export interface CpuPerRequest {
  /** Median over the rounds, µs of server CPU per notification. */
  medianUs: number;
  rounds: number[];
  requests: number;
  errors: number;
}

/** Places `count` pending orders through POST /api/orders, `connections` at a time; returns what WeChat will pay. */
async function placeOrders(
  serverUrl: string,
  tokens: string[],
  count: number,
  connections: number,
): Promise<{ outTradeNo: string; totalFen: number }[]> {
  const placed: { outTradeNo: string; totalFen: number }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const res = await fetch(`${serverUrl}${API_ROUTES.orders}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${tokens[i % tokens.length] as string}`,
        },
        body: JSON.stringify({ items: [{ productId: 'green-tea', quantity: 1 + (i % 3) }] }),
      });
      const text = await res.text();
      if (res.status !== 201)
        throw new Error(`placing a bench order failed: ${res.status} ${text.slice(0, 200)}`);
      const { order } = JSON.parse(text) as CreateOrderResponse;
      placed.push({ outTradeNo: order.outTradeNo, totalFen: order.totalFen });
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  return placed;
}

export async function compareNotifyCpu(options: {
  contenders: CompareContender[];
  sandboxUrl: string;
  ordersPerRound: number;
  rounds: number;
  connections: number;
  log: (message: string) => void;
}): Promise<Record<string, CpuPerRequest>> {
  const tokens = new Map<string, string[]>();
  for (const c of options.contenders) {
    tokens.set(c.name, await signInBuyers(c.serverUrl, options.sandboxUrl, SANDBOX_DEMO.appId, 20));
  }
  const perRound = new Map<string, number[]>(options.contenders.map((c) => [c.name, []]));
  const totals = new Map<string, { requests: number; errors: number }>(
    options.contenders.map((c) => [c.name, { requests: 0, errors: 0 }]),
  );
  let serial = 0;
  // Round 0 warms each server up (JIT, connections) and is not counted.
  for (let round = 0; round <= options.rounds; round++) {
    for (const c of options.contenders) {
      const orders = await placeOrders(c.serverUrl, tokens.get(c.name) ?? [], options.ordersPerRound, 16);
      const bodies = orders.map(
        (o) =>
          signedNotification({
            outTradeNo: o.outTradeNo,
            totalFee: o.totalFen,
            transactionId: `42000${String(++serial).padStart(23, '0')}`,
          }).xml,
      );
      const url = `${c.serverUrl}/wechatpay/notify`;
      const { result, cores } = await measureCpu({ server: c.pid }, () =>
        postBodies({ url, bodies, connections: options.connections }),
      );
      if (round === 0) continue;
      // cores × seconds ÷ requests = cores ÷ (requests per second).
      perRound.get(c.name)?.push(((cores.server ?? 0) * 1e6) / Math.max(result.rps, 1));
      const t = totals.get(c.name);
      if (t) {
        t.requests += result.requests;
        t.errors += result.errors;
      }
      options.log(
        `compare: ${c.name} round ${round}: ${Math.round(perRound.get(c.name)?.at(-1) ?? 0)} µs/request`,
      );
    }
  }
  const out: Record<string, CpuPerRequest> = {};
  for (const c of options.contenders) {
    const rounds = perRound.get(c.name) ?? [];
    const sorted = [...rounds].sort((a, b) => a - b);
    out[c.name] = {
      medianUs: sorted[Math.floor(sorted.length / 2)] ?? 0,
      rounds,
      requests: totals.get(c.name)?.requests ?? 0,
      errors: totals.get(c.name)?.errors ?? 0,
    };
  }
  return out;
}
