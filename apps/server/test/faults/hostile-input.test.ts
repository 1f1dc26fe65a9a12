/**
 * Fault suite (c): a hostile-input corpus (support/hostile-corpus.ts) against /wechatpay/notify and /api/*.
 *
 * Setup makes the state worth attacking: buyer A with a PENDING order, buyer B, a login code already used once.
 * Then every Redis key under the server's prefix is snapshotted (DUMP), the corpus is sent one request at a
 * time on fresh connections, and after each request the process must still answer /healthz. Each reply must be
 * a clear refusal: the FAIL XML on the notify route, the catalogue's JSON error (status + id) on the API, or
 * Node's own 4xx for what never reaches the application. Afterwards the snapshot must be identical: no order,
 * session, idempotency key or event was created, changed or removed.
 */
import { Redis } from 'ioredis';
import { ERRORS } from '../../src/index.ts';
import { parseXml } from '@mp-pay/shared/wechatpay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_REDIS_URL } from '../helpers/redis.ts';
import { createdOrder, json, post, signIn, startStack, type Stack } from '../helpers/stack.ts';
import { buildCorpus, type CorpusCase, type CorpusContext } from './support/hostile-corpus.ts';
import { send, sendBytes, type RawReply } from './support/http-raw.ts';
import { printCounts } from './support/report.ts';
import { diff, snapshot } from './support/snapshot.ts';

describe('fault: hostile input corpus', () => {
  let stack: Stack;
  let redis: Redis;
  let context: CorpusContext;

  beforeAll(async () => {
    stack = await startStack({
      label: 'fault-hostile',
      // Real time: login codes live their full 5 minutes, nothing expires during the run.
      sandbox: { timeScale: 1 },
      env: { WORKER_ENABLED: 'false' },
    });
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    const tokenA = await signIn(stack, 'hostile-buyer-a');
    const tokenB = await signIn(stack, 'hostile-buyer-b');
    const { order } = await createdOrder(stack.server, tokenA, [{ productId: 'green-tea', quantity: 3 }]);
    const { code: usedCode } = await json<{ code: string }>(
      await fetch(
        `${stack.sandbox.url}/sandbox/login-codes`,
        post({ appid: stack.server.config.wechat.appId, user: 'hostile-buyer-c' }),
      ),
    );
    const first = await fetch(`${stack.server.url}/api/session`, post({ code: usedCode }));
    expect(first.status).toBe(201);
    context = {
      appId: stack.server.config.wechat.appId,
      mchId: stack.server.config.wechatpay.mchId,
      key: stack.server.config.wechatpay.key,
      order: { id: order.id, outTradeNo: order.outTradeNo, totalFen: order.totalFen },
      tokenA,
      tokenB,
      usedCode,
    };
  });
  afterAll(async () => {
    redis?.disconnect();
    await stack?.close();
  });

  function clearRefusal(entry: CorpusCase, reply: RawReply): string | undefined {
    const { expect: want } = entry;
    if (reply.status !== want.status)
      return `HTTP ${reply.status}, expected ${want.status}: ${reply.body.slice(0, 200)}`;
    if (want.kind === 'notify-fail') {
      let map: Record<string, string>;
      try {
        map = parseXml(reply.body);
      } catch {
        return `reply is not the FAIL XML: ${reply.body.slice(0, 200)}`;
      }
      if (map.return_code !== 'FAIL' || !map.return_msg)
        return `reply is not a FAIL with a message: ${reply.body}`;
    } else if (want.kind === 'api-error') {
      let body: { error?: string; message?: string; requestId?: string };
      try {
        body = JSON.parse(reply.body) as typeof body;
      } catch {
        return `reply is not JSON: ${reply.body.slice(0, 200)}`;
      }
      if (body.error !== want.error) return `error id ${body.error}, expected ${want.error}`;
      if (!body.message?.startsWith(ERRORS[want.error].message)) {
        return `message does not come from the catalogue: ${body.message}`;
      }
      if (!body.requestId) return 'no requestId';
    }
    return undefined;
  }

  /**
   * Sends the corpus (one entry after the other, or all at once) and checks every reply and the process's
   * health; returns the problems found and the number of requests sent.
   */
  async function attack(corpus: CorpusCase[], all: 'sequential' | 'concurrent') {
    const problems: string[] = [];
    let requests = 0;
    const health = async (after: string) => {
      const res = await fetch(`${stack.server.url}/healthz`);
      requests++;
      if (res.status !== 200) problems.push(`${after}: /healthz answered ${res.status} afterwards`);
    };
    const one = async (entry: CorpusCase) => {
      const reply =
        'raw' in entry.request
          ? await sendBytes(stack.server.url, entry.request.raw)
          : await send(stack.server.url, entry.request);
      requests++;
      const problem = clearRefusal(entry, reply);
      if (problem) problems.push(`[${entry.category}] ${entry.name}: ${problem}`);
    };
    if (all === 'sequential') {
      for (const entry of corpus) {
        await one(entry);
        await health(`[${entry.category}] ${entry.name}`);
      }
    } else {
      await Promise.all(corpus.map(one));
      await health('the concurrent corpus');
    }
    return { problems, requests };
  }

  async function stateOf() {
    return {
      keys: await snapshot(redis, stack.prefix),
      events: (await stack.server.store.events.readEvents()).length,
    };
  }

  /** The pending order is untouched and its owner can still use it: the server is not merely up, it works. */
  async function ownerStillServed() {
    const owner = await fetch(`${stack.server.url}/api/orders/${context.order.id}`, {
      headers: { authorization: `Bearer ${context.tokenA}` },
    });
    expect(owner.status).toBe(200);
    expect(((await owner.json()) as { order: { status: string } }).order.status).toBe('PENDING');
  }

  for (const mode of ['sequential', 'concurrent'] as const) {
    it(`refuses every entry (${mode}) with a clear error, changes nothing and stays up`, async () => {
      const corpus = buildCorpus(context);
      const before = await stateOf();
      const { problems, requests } = await attack(corpus, mode);
      const after = await stateOf();
      const changes = diff(before.keys, after.keys);
      const categories = new Map<string, number>();
      for (const entry of corpus) categories.set(entry.category, (categories.get(entry.category) ?? 0) + 1);

      printCounts(`hostile input corpus, ${mode}`, {
        requests: requests + 1,
        faultsInjected: corpus.length,
        stateChangesExpected: 0,
        stateChangesObserved: changes.length + (after.events - before.events),
        ...Object.fromEntries(categories),
      });
      expect(problems).toEqual([]);
      expect(changes).toEqual([]);
      expect(after.events).toBe(before.events);
      await ownerStillServed();
    }, 60_000);
  }
});
