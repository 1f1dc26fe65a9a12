/**
 * The setup of the Redis outage tests: a stack whose server runs on a private redis-server that the test can
 * crash and restart (RedisProcess), with the background worker off so only WeChat's notification retries can
 * bring a payment in, and a short Redis command timeout so a dead or hung Redis turns into FAIL quickly.
 */
import { afterAll, beforeAll } from 'vitest';
import { RedisProcess } from './redis-process.ts';
import { startStack, type Stack } from './stack.ts';

export interface OutageStack {
  /** The private Redis: usable for kill()/start() at any time. */
  readonly redis: RedisProcess;
  /** Set by the file's beforeAll: read it inside a test, not at module level. */
  readonly stack: Stack;
}

/** Starts the stack before the file's (or describe block's) tests and tears both down after them. */
export function useOutageStack(label: string): OutageStack {
  const redis = new RedisProcess();
  const handle: { redis: RedisProcess; stack?: Stack } = { redis };
  beforeAll(async () => {
    await redis.start();
    handle.stack = await startStack({
      label,
      redis: redis.url,
      // time scale 1000: WeChat's retries (15 s, 15 s, 30 s, 3 min, ...) come every few milliseconds to seconds.
      sandbox: { timeScale: 1000 },
      env: { WORKER_ENABLED: 'false', REDIS_COMMAND_TIMEOUT_MS: '500' },
    });
  });
  afterAll(async () => {
    await handle.stack?.close();
    await redis.stop();
  });
  return {
    redis,
    get stack() {
      if (!handle.stack) throw new Error('the outage stack is not started: read it inside a test');
      return handle.stack;
    },
  };
}
