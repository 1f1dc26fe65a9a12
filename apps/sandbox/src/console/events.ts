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
 * What the sandbox holds for one console that is not reading (a background tab on a busy sandbox, a hung
 * client): past this the console is skipped until its stream drains, then gets the latest state, and a console
 * that stays stuck that long is disconnected (EventSource reconnects and starts from a fresh snapshot).
 */
const MAX_BUFFERED_BYTES = 1024 * 1024;
const STALL_MS = 30_000;

export interface ConsoleFeedOptions {
  checkEveryMs?: number;
  heartbeatEveryMs?: number;
  maxBufferedBytes?: number;
  stallMs?: number;
}

/** One connected console: what it was last sent, so each gets exactly the changes it has not seen. */
interface Subscriber {
  stream: PassThrough;
  /** The response's socket: ending the stream alone would leave the connection (and its buffers) open. */
  socket: Context['req']['socket'];
  /** The snapshot it last received, without the clock's reading (see serialise). */
  seen: string;
  sentAt: number;
  /** Set while its buffer is over the limit: since when. */
  stalledSince?: number;
}

/** What a console can see of one subscriber, for tests and for nothing else. */
export interface SubscriberState {
  buffered: number;
  stalled: boolean;
}

/**
 * GET /sandbox/events: Server-Sent Events for the sandbox console. Payments, notification attempts, refunds
 * and faults change the state from many places (every channel, the notifier's timers, the refund timers), so
 * instead of hooking each one, the feed compares the serialised snapshot every 250 ms while at least one
 * console is connected and sends `event: snapshot` to each console whose last snapshot differs: a notification
 * attempt shows within a quarter of a second of being recorded, an idle sandbox sends nothing but a small
 * `event: clock` every 15 s. The clock's reading is left out of the comparison (it changes every millisecond;
 * the page keeps its clock running itself); its offset is in it, so moving the clock is a change. Nothing runs
 * while no console is connected. The checks go through the sandbox's TimerSet, so closing the sandbox stops
 * them (and server.closeAllConnections ends the streams).
 */
export class ConsoleFeed {
  readonly #subscribers = new Set<Subscriber>();
  #running = false;
  readonly #checkEveryMs: number;
  readonly #heartbeatEveryMs: number;
  readonly #maxBufferedBytes: number;
  readonly #stallMs: number;

  constructor(
    private readonly sandbox: SandboxContext,
    private readonly refunds: Refunds,
    options: ConsoleFeedOptions = {},
  ) {
    this.#checkEveryMs = options.checkEveryMs ?? CHECK_EVERY_MS;
    this.#heartbeatEveryMs = options.heartbeatEveryMs ?? HEARTBEAT_EVERY_MS;
    this.#maxBufferedBytes = options.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
    this.#stallMs = options.stallMs ?? STALL_MS;
  }

  get subscribers(): number {
    return this.#subscribers.size;
  }

  /** Each connected console's buffer, for tests. */
  states(): SubscriberState[] {
    return [...this.#subscribers].map(({ stream, socket, stalledSince }) => ({
      buffered: stream.writableLength + stream.readableLength + socket.writableLength,
      stalled: stalledSince !== undefined,
    }));
  }

  route() {
    return (ctx: Context): void => {
      if (this.#subscribers.size >= MAX_SUBSCRIBERS) {
        return sendJsonError(ctx, 503, 'TOO_MANY_CONSOLES', `at most ${MAX_SUBSCRIBERS} consoles at once`);
      }
      // write() answers false once this much is waiting: the stall signal (see MAX_BUFFERED_BYTES).
      const stream = new PassThrough({ writableHighWaterMark: this.#maxBufferedBytes });
      ctx.req.socket.setTimeout(0);
      ctx.req.socket.setNoDelay(true);
      ctx.status = 200;
      ctx.set('Content-Type', 'text/event-stream; charset=utf-8');
      ctx.set('Cache-Control', 'no-cache, no-transform');
      ctx.set('Connection', 'keep-alive');
      ctx.set('X-Content-Type-Options', 'nosniff');
      ctx.body = stream;
      // The first event is the current state, for this console only: the others keep what they were sent,
      // so a change made just before it connected still reaches them at the next check.
      const { seen, data } = this.serialise();
      const subscriber: Subscriber = { stream, socket: ctx.req.socket, seen, sentAt: Date.now() };
      this.#subscribers.add(subscriber);
      const leave = () => {
        this.#subscribers.delete(subscriber);
        stream.destroy();
      };
      ctx.req.once('close', leave);
      stream.once('error', leave);
      stream.once('close', leave);
      this.send(subscriber, `retry: 1000\nevent: snapshot\ndata: ${data}\n\n`, Date.now());
      this.start();
    };
  }

  /**
   * The snapshot as sent (`data`) and as compared (`seen`: the same without the clock's reading, which would
   * make every check a change). Serialised once: the clock is spliced in front of the rest.
   */
  private serialise(): { seen: string; data: string; clock: string } {
    const { clock, ...rest } = buildSnapshot(this.sandbox, this.refunds, DEFAULT_SNAPSHOT_LIMIT);
    const body = JSON.stringify(rest);
    const clockJson = JSON.stringify(clock);
    return {
      seen: `${clock.offset_ms}${body}`,
      data: `{"clock":${clockJson},${body.slice(1)}`,
      clock: clockJson,
    };
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
      for (const subscriber of this.#subscribers) {
        if (subscriber.stalledSince !== undefined) {
          // Still not drained: nothing more for it; stuck too long, it goes (and reconnects if it can).
          if (now - subscriber.stalledSince >= this.#stallMs) this.drop(subscriber);
          continue;
        }
        if (subscriber.seen !== next.seen) {
          subscriber.seen = next.seen;
          this.send(subscriber, `event: snapshot\ndata: ${next.data}\n\n`, now);
        } else if (now - subscriber.sentAt >= this.#heartbeatEveryMs) {
          this.send(subscriber, `event: clock\ndata: ${next.clock}\n\n`, now);
        }
      }
      this.sandbox.timers.after(this.#checkEveryMs, tick);
    };
    this.sandbox.timers.after(this.#checkEveryMs, tick);
  }

  /**
   * Writes to one console. A full buffer (write() false: more than maxBufferedBytes waiting) stalls it: it is
   * skipped until 'drain', and the next check then sends it the latest snapshot if it changed meanwhile, so a
   * slow console gets fewer snapshots, never a growing queue of them.
   */
  private send(subscriber: Subscriber, chunk: string, now: number): void {
    const { stream } = subscriber;
    if (stream.destroyed) return;
    subscriber.sentAt = now;
    if (stream.write(chunk)) return;
    subscriber.stalledSince = now;
    stream.once('drain', () => {
      subscriber.stalledSince = undefined;
    });
  }

  private drop(subscriber: Subscriber): void {
    this.#subscribers.delete(subscriber);
    subscriber.stream.destroy();
    subscriber.socket.destroy();
  }
}
