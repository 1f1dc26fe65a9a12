import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../src/index.ts';

let sandbox: RunningSandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 });
});
afterAll(async () => {
  await sandbox.close();
});

describe('control endpoints given a body that is not a JSON object', () => {
  // What a shell quoting slip in the README's curl walk-through sends. zod alone answered
  // "expected object, received undefined", which does not tell the user their JSON is broken.
  it.each(['/sandbox/login-codes', '/sandbox/faults', '/sandbox/clock'])('%s says so', async (path) => {
    for (const body of ['{"appid":', '[]', 'null']) {
      const res = await fetch(`${sandbox.url}${path}`, { method: 'POST', body });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        error: 'BAD_REQUEST',
        message: expect.stringMatching(/must be a JSON object/),
      });
    }
  });

  it('still names the field when the JSON object is wrong', async () => {
    const res = await fetch(`${sandbox.url}/sandbox/login-codes`, {
      method: 'POST',
      body: '{"user":"alice"}',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/appid/);
  });
});

describe('control endpoints given an oversized body', () => {
  // The shared capped reader (@mp-pay/shared/core) behind readRawBody: 413 with the limit named, declared or
  // streamed.
  it('answers 413 TOO_LARGE, whether Content-Length announces it or not', async () => {
    const big = JSON.stringify({ appid: 'x'.repeat(20_000) });
    const declared = await fetch(`${sandbox.url}/sandbox/login-codes`, { method: 'POST', body: big });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toEqual({
      error: 'TOO_LARGE',
      message: 'request body exceeds 16384 bytes',
    });
    const streamed = await fetch(`${sandbox.url}/sandbox/login-codes`, {
      method: 'POST',
      body: new Blob([big]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
  });
});
