import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../src/errors.ts';
import { connectRedis } from '../src/store/redis/redis-store.ts';

const options = { prefix: 'unused:', commandTimeoutMs: 1000 };

async function failure(url: string): Promise<Error> {
  try {
    const redis = await connectRedis({ ...options, url });
    redis.disconnect();
  } catch (err) {
    return err as Error;
  }
  throw new Error(`expected connecting to ${url} to fail`);
}

describe('connectRedis at startup', () => {
  it('names the real cause of a refused login instead of "Connection is closed", without the password', async () => {
    // The test Redis has no ACL user by this name, so it answers WRONGPASS.
    const err = await failure('redis://mp-pay-nobody:pw-hunter2-secret@127.0.0.1:6379');
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err.message).toMatch(/WRONGPASS/);
    expect(err.message).toMatch(/fix REDIS_URL/);
    expect(err.message).not.toContain('pw-hunter2-secret');
  });

  it('says the connection was refused when nothing listens', async () => {
    const err = await failure('redis://127.0.0.1:1');
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err.message).toMatch(/127\.0\.0\.1:1 \(connect ECONNREFUSED/);
  });
});
