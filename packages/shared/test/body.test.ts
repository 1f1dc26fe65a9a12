import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BodyTooLargeError, readCappedBody, WechatError } from '../src/core/index.ts';

async function* chunks(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const part of parts) yield Buffer.from(part);
}

describe('readCappedBody', () => {
  it('reads a Node stream, a fetch body and any async iterable of bytes', async () => {
    expect(
      (await readCappedBody(Readable.from([Buffer.from('ab'), Buffer.from('中')]), { limit: 5 })).toString(),
    ).toBe('ab中');
    const res = new Response('hello');
    expect((await readCappedBody(res.body as AsyncIterable<Uint8Array>, { limit: 5 })).toString()).toBe(
      'hello',
    );
    expect((await readCappedBody(chunks('x', 'y'), { limit: 2 })).toString()).toBe('xy');
    expect(await readCappedBody(null, { limit: 0 })).toEqual(Buffer.alloc(0));
  });

  it('refuses a body over the limit while reading, with a typed error', async () => {
    const error = await readCappedBody(chunks('12345', '6'), { limit: 5 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BodyTooLargeError);
    expect(error).toBeInstanceOf(WechatError);
    expect(error).toMatchObject({
      code: 'TOO_LARGE',
      limit: 5,
      retryable: false,
      message: 'body exceeds 5 bytes',
    });
  });

  it('refuses on the declared length before reading a byte, and names the body as asked', async () => {
    let pulled = false;
    const source = (async function* () {
      pulled = true;
      yield Buffer.from('x');
    })();
    await expect(
      readCappedBody(source, { limit: 10, declaredLength: '11', label: 'request body' }),
    ).rejects.toThrow('request body exceeds 10 bytes');
    expect(pulled).toBe(false);
  });

  it('does not trust a declared length that is too small, and ignores an empty one', async () => {
    await expect(readCappedBody(chunks('123456'), { limit: 5, declaredLength: 2 })).rejects.toBeInstanceOf(
      BodyTooLargeError,
    );
    expect((await readCappedBody(chunks('12'), { limit: 5, declaredLength: '' })).toString()).toBe('12');
  });

  it('cancels a fetch body it stops reading', async () => {
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new Uint8Array(4));
      },
      cancel() {
        cancelled = true;
      },
    });
    await expect(
      readCappedBody(stream as unknown as AsyncIterable<Uint8Array>, { limit: 10 }),
    ).rejects.toThrow(BodyTooLargeError);
    expect(cancelled).toBe(true);
  });
});
