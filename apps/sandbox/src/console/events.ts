import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import type { SandboxContext } from '../context.ts';
import { sendJsonError } from '../http/json.ts';
import type { Refunds } from '../refunds/core.ts';
import { buildSnapshot, DEFAULT_SNAPSHOT_LIMIT } from './snapshot.ts';

/** How often the sandbox looks for changes while a console is connected, and how often it says it is alive. */
const CHECK_EVERY_MS = 250;
const HEARTBEAT_EVERY_MS = 15_000;
/** Connected consoles per sandbox: each is a browser tab; more is a leak, not a use. */
const MAX_SUBSCRIBERS = 32;

/**
 * GET /sandbox/events: Server-Sent Events for the sandbox console. Payments, notification attempts, refunds
 * and faults change the state from many places (every channel, the notifier's timers, the refund timers), so
 * instead of hooking each one, the feed compares the serialised snapshot every 250 ms while at least one
 * console is connected and sends `event: snapshot` when anything changed: a notification attempt shows within
 * a quarter of a second of being recorded. Nothing runs while no console is connected. The checks go through
 * the sandbox's TimerSet, so closing the sandbox stops them (and server.closeAllConnections ends the streams).
 */
export class ConsoleFeed {
  readonly #subscribers = new Set<PassThrough>();
  #last = '';
  #lastSentAt = 0;
  #running = false;

  constructor(
    private readonly sandbox: SandboxContext,
    private readonly refunds: Refunds,
  ) {}

  get subscribers(): number {
    return this.#subscribers.size;
  }

  route() {
    return (ctx: Context): void => {
      if (this.#subscribers.size >= MAX_SUBSCRIBERS) {
        return sendJsonError(ctx, 503, 'TOO_MANY_CONSOLES', `at most ${MAX_SUBSCRIBERS} consoles at once`);
      }
      const stream = new PassThrough();
      ctx.req.socket.setTimeout(0);
      ctx.req.socket.setNoDelay(true);
      ctx.status = 200;
      ctx.set('Content-Type', 'text/event-stream; charset=utf-8');
      ctx.set('Cache-Control', 'no-cache, no-transform');
      ctx.set('Connection', 'keep-alive');
      ctx.set('X-Content-Type-Options', 'nosniff');
      ctx.body = stream;
      // The first event is the current state, so a console never waits for a change to show anything.
      const first = this.serialise();
      stream.write(`retry: 1000\nevent: snapshot\ndata: ${first}\n\n`);
      this.#subscribers.add(stream);
      const leave = () => {
        this.#subscribers.delete(stream);
        stream.end();
      };
      ctx.req.once('close', leave);
      stream.once('error', leave);
      this.#last = first;
      this.#lastSentAt = Date.now();
      this.start();
    };
  }

  private serialise(): string {
    return JSON.stringify(buildSnapshot(this.sandbox, this.refunds, DEFAULT_SNAPSHOT_LIMIT));
  }

  private start(): void {
    if (this.#running) return;
    this.#running = true;
    const tick = () => {
      if (this.#subscribers.size === 0 || this.sandbox.timers.closed) {
        this.#running = false;
        return;
      }
      const now = Date.now();
      const next = this.serialise();
      if (next !== this.#last) {
        this.#last = next;
        this.#lastSentAt = now;
        this.broadcast(`event: snapshot\ndata: ${next}\n\n`);
      } else if (now - this.#lastSentAt >= HEARTBEAT_EVERY_MS) {
        this.#lastSentAt = now;
        this.broadcast(': still here\n\n');
      }
      this.sandbox.timers.after(CHECK_EVERY_MS, tick);
    };
    this.sandbox.timers.after(CHECK_EVERY_MS, tick);
  }

  private broadcast(chunk: string): void {
    for (const stream of this.#subscribers) stream.write(chunk);
  }
}
