/**
 * The console's Server-Sent Events feed (src/console/events.ts) with its limits turned down, on its own port
 * beside a sandbox that shares its state: the clock heartbeat of an idle sandbox, and what happens to a console
 * that never reads (it is stalled at the buffer limit, skipped, then disconnected; the sandbox's memory for it
 * stays bounded while the state keeps changing, and a console that reads still gets every change).
 */
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.ts';
import { SANDBOX_DEFAULTS, validateSandboxConfig } from '../src/config.ts';
import { ConsoleFeed } from '../src/console/events.ts';
import { createContext, type SandboxContext } from '../src/context.ts';
import { Notifier } from '../src/notifier.ts';
import { Refunds } from '../src/refunds/core.ts';
import type { RunningSandbox } from '../src/index.ts';
import {
  DEMO,
  eventually,
  NotifyReceiver,
  pay,
  placeOrder,
  postJson,
  SseParser,
  type SseEvent,
} from './helpers.ts';

const MAX_BUFFERED = 256 * 1024;
const STALL_MS = 1500;

let sandbox: SandboxContext;
let sb: RunningSandbox;
let receiver: NotifyReceiver;
let feed: ConsoleFeed;
let feedUrl: string;
const servers: Server[] = [];

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  const config = validateSandboxConfig({ ...SANDBOX_DEFAULTS, port: 0, tlsPort: 0, timeScale: 100_000 });
  sandbox = createContext(config);
  const notifier = new Notifier(sandbox);
  const url = await listen(createServer(createApp(sandbox, notifier).callback()));
  sandbox.endpoints.url = url;
  sb = { url, tlsUrl: '', config, close: async () => {} };
  feed = new ConsoleFeed(sandbox, new Refunds(sandbox, notifier), {
    checkEveryMs: 50,
    heartbeatEveryMs: 300,
    maxBufferedBytes: MAX_BUFFERED,
    stallMs: STALL_MS,
  });
  const feedApp = new Koa();
  feedApp.silent = true; // a dropped console ends its response early: expected here
  feedApp.use(feed.route());
  feedUrl = await listen(createServer(feedApp.callback()));
  receiver = await NotifyReceiver.start();
});

afterAll(async () => {
  sandbox.timers.cancelAll();
  sandbox.shutdown.abort();
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await receiver.close();
});

type Event = SseEvent;

/** Reads a Server-Sent Events stream in the background, keeping every event with data. */
function follow(body: ReadableStream<Uint8Array>): { events: Event[]; stop: () => Promise<void> } {
  const reader = body.getReader();
  const parser = new SseParser();
  const events: Event[] = [];
  const done = (async () => {
    for (;;) {
      const chunk = await reader.read().catch(() => ({ done: true as const, value: undefined }));
      if (chunk.done) return;
      events.push(...parser.push(chunk.value));
    }
  })();
  return {
    events,
    stop: async () => {
      await reader.cancel().catch(() => {});
      await done;
    },
  };
}

async function open(): Promise<{ events: Event[]; stop: () => Promise<void> }> {
  const abort = new AbortController();
  const res = await fetch(`${feedUrl}/`, { signal: abort.signal });
  expect(res.status).toBe(200);
  const followed = follow(res.body as ReadableStream<Uint8Array>);
  return {
    events: followed.events,
    stop: async () => {
      abort.abort();
      await followed.stop();
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('an idle sandbox', () => {
  it('sends one snapshot, then only the clock at each heartbeat', async () => {
    const client = await open();
    try {
      await sleep(1600);
      const kinds = client.events.map((e) => e.event);
      expect(kinds[0]).toBe('snapshot');
      expect(kinds.filter((k) => k === 'snapshot')).toHaveLength(1);
      // heartbeatEveryMs 300: about five in 1.6 s, each the sandbox clock.
      const clocks = client.events.filter((e) => e.event === 'clock');
      expect(clocks.length).toBeGreaterThanOrEqual(3);
      const clock = JSON.parse(clocks.at(-1)?.data ?? '{}') as { now: string; offset_ms: number };
      expect(Math.abs(Date.parse(clock.now) - Date.now())).toBeLessThan(2000);
      expect(clock.offset_ms).toBe(0);
    } finally {
      await client.stop();
    }
  });
});

describe('a console that never reads', () => {
  it('is stalled at the buffer limit, skipped, then disconnected, while a reading console gets every change', async () => {
    // A big state: 30 paid orders whose merchant rejects every notification with 4 KiB of text, so each
    // snapshot is megabytes (every attempt keeps its request and reply) and loopback's buffers fill fast.
    receiver.reply = () => ({ status: 500, body: 'x'.repeat(4096) });
    const orders = await Promise.all(Array.from({ length: 30 }, () => placeOrder(sb, receiver.url)));
    for (const order of orders) expect((await pay(sb, order)).status).toBe(200);
    const size = await eventually(async () => {
      const text = await (await fetch(`${sb.url}/sandbox/snapshot`)).text();
      return text.length > 2_000_000 ? text.length : undefined;
    }, 20_000);

    const reading = await open();
    // The stuck console: a raw connection that asks for the feed and never reads a byte.
    const stuck: Socket = connect(Number(new URL(feedUrl).port), '127.0.0.1');
    stuck.pause();
    stuck.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n');
    try {
      await eventually(() => (feed.subscribers === 2 ? true : undefined));
      // Twenty changes: without backpressure the stuck console would be sent 20 snapshots (40 MB and more).
      let mostBuffered = 0;
      let stalledSeen = false;
      for (let i = 1; i <= 20; i++) {
        const set = await postJson(`${sb.url}/sandbox/faults`, {
          mch_id: DEMO.mchId,
          faults: { notifyDelayMs: i },
        });
        expect(set.status).toBe(200);
        await sleep(120);
        for (const state of feed.states()) {
          mostBuffered = Math.max(mostBuffered, state.buffered);
          stalledSeen ||= state.stalled;
        }
      }
      expect(stalledSeen).toBe(true);
      // At most what was in flight when it stalled (a snapshot in each of the stream's two sides and the
      // socket's): the limit and a few snapshots, not one per change.
      expect(mostBuffered).toBeLessThan(MAX_BUFFERED + 5 * size);
      // Stuck for stallMs: disconnected, its buffers freed; the reading console stays.
      await eventually(() => (feed.subscribers === 1 ? true : undefined), STALL_MS + 3000);
      expect(feed.states()[0]?.stalled).toBe(false);
      // The reading console got the last change.
      await eventually(() =>
        reading.events.some(
          (e) =>
            e.event === 'snapshot' &&
            (JSON.parse(e.data) as { faults: { merchants: Record<string, { notifyDelayMs?: number }> } })
              .faults.merchants[DEMO.mchId]?.notifyDelayMs === 20,
        )
          ? true
          : undefined,
      );
    } finally {
      stuck.destroy();
      await reading.stop();
      await fetch(`${sb.url}/sandbox/faults`, { method: 'DELETE' });
    }
  }, 60_000);
});
