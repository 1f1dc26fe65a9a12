import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '@mp-pay/sandbox';
import { decryptV3Resource, signedMessageFromHeadersV3, V3KeySet, verifyV3 } from '@mp-pay/shared/v3';
import { SANDBOX_DEMO_V3 } from '@mp-pay/shared/wechatpay';
import { runTrigger, type TriggerReport } from '../src/trigger.ts';
import { runCli } from './helpers.ts';

/**
 * The merchant's notify_url: a real HTTP server that verifies each v3 notification with the shared verifier and
 * decrypts it with the APIv3 key, as the server does. `mode` makes it a careless merchant on purpose, so the
 * trigger's verdict is seen to fail when it should.
 */
class Merchant {
  mode: 'careful' | 'accepts-anything' | 'not-idempotent' = 'careful';
  readonly arrived: { path: string; eventType?: string; verified: boolean; at: number }[] = [];
  readonly #seen = new Set<string>();
  readonly keys = new V3KeySet().addPublicKey(
    SANDBOX_DEMO_V3.platformPublicKeyId,
    SANDBOX_DEMO_V3.platformPublicKey,
  );
  server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void read(req).then((body) => {
        const verdict = this.check(req, body);
        this.arrived.push({
          path: req.url ?? '',
          eventType: verdict.eventType,
          verified: verdict.ok,
          at: Date.now(),
        });
        let status = verdict.ok ? 204 : 401;
        if (this.mode === 'accepts-anything') status = 204;
        if (this.mode === 'not-idempotent' && verdict.ok && verdict.id) {
          if (this.#seen.has(verdict.id)) status = 500;
          this.#seen.add(verdict.id);
        }
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(status === 204 ? undefined : JSON.stringify({ code: 'FAIL', message: 'rejected' }));
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  check(req: IncomingMessage, body: Buffer): { ok: boolean; id?: string; eventType?: string } {
    try {
      if (!verifyV3(signedMessageFromHeadersV3(req.headers, body), this.keys)) return { ok: false };
      const event = JSON.parse(body.toString('utf8')) as { id: string; event_type: string; resource: never };
      decryptV3Resource(event.resource, SANDBOX_DEMO_V3.apiV3Key);
      return { ok: true, id: event.id, eventType: event.event_type };
    } catch {
      return { ok: false };
    }
  }

  close = () => new Promise<void>((r) => this.server.close(() => r()));
}

function read(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

let sandbox: RunningSandbox;
const merchant = new Merchant();

beforeAll(async () => {
  sandbox = await startSandbox({
    port: 0,
    timeScale: 1000,
    closeMinAgeMs: 0,
    refundDelayMs: 50,
    refundMinIntervalMs: 0,
  });
  await merchant.start();
});
afterAll(async () => {
  await sandbox?.close();
  await merchant.close();
});

const trigger = (scenario: string, extra: { holdMs?: number; count?: number } = {}): Promise<TriggerReport> =>
  runTrigger(scenario, {
    sandbox: sandbox.url,
    notifyUrl: `${merchant.url}/wechatpay/v3/notify`,
    refundNotifyUrl: `${merchant.url}/wechatpay/v3/refund-notify`,
    amountFen: 100,
    count: extra.count ?? 2,
    holdMs: extra.holdMs ?? 1500,
    timeoutMs: 15_000,
    settings: {},
  });

describe('trigger against a real sandbox and a real notify_url', () => {
  it('payment-success: acknowledged', async () => {
    merchant.mode = 'careful';
    const r = await trigger('payment-success');
    expect(r.problems).toEqual([]);
    expect(r.state).toBe('SUCCESS');
    expect(merchant.arrived.at(-1)).toMatchObject({ eventType: 'TRANSACTION.SUCCESS', verified: true });
  });

  it('payment-failure: PAYERROR and no notification', async () => {
    const before = merchant.arrived.length;
    const r = await trigger('payment-failure');
    expect(r.ok).toBe(true);
    expect(r.state).toBe('PAYERROR');
    expect(merchant.arrived.length).toBe(before);
  });

  it('duplicate-notification: a careful merchant acknowledges every copy; one that refuses repeats is caught', async () => {
    merchant.mode = 'careful';
    const ok = await trigger('duplicate-notification', { count: 2 });
    expect(ok.problems).toEqual([]);
    expect(ok.notifications?.filter((n) => n.kind === 'duplicate')).toHaveLength(2);
    merchant.mode = 'not-idempotent';
    const bad = await trigger('duplicate-notification', { count: 2 });
    expect(bad.ok).toBe(false);
    expect(bad.problems[0]).toContain('a duplicate was not acknowledged');
  });

  it('signtest, stale-timestamp, tampered-body, tampered-ciphertext: rejected by a careful merchant', async () => {
    merchant.mode = 'careful';
    for (const scenario of ['signtest', 'stale-timestamp', 'tampered-body', 'tampered-ciphertext']) {
      const r = await trigger(scenario);
      expect(r.problems, scenario).toEqual([]);
      expect(r.notifications?.map((n) => `${n.kind}:${n.outcome}`).slice(0, 2), scenario).toEqual([
        `forged-${scenario === 'tampered-body' ? 'bad-sign' : scenario}:rejected`,
        'genuine:acknowledged',
      ]);
    }
  });

  it('a merchant that acknowledges anything is caught accepting the SIGNTEST probe', async () => {
    merchant.mode = 'accepts-anything';
    const r = await trigger('signtest');
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toContain('ACKNOWLEDGED the signtest notification');
  });

  it('refund-success / abnormal / closed: the refund ends that way and its notification is acknowledged', async () => {
    merchant.mode = 'careful';
    for (const [scenario, status] of [
      ['refund-success', 'SUCCESS'],
      ['refund-abnormal', 'ABNORMAL'],
      ['refund-closed', 'CLOSED'],
    ] as const) {
      const r = await trigger(scenario);
      expect(r.problems, scenario).toEqual([]);
      expect(r.refund?.status).toBe(status);
      expect(merchant.arrived.at(-1)?.eventType, scenario).toBe(`REFUND.${status}`);
    }
  });

  it('out-of-order: the refund notification reaches the merchant before the payment notification', async () => {
    merchant.mode = 'careful';
    const from = merchant.arrived.length;
    const r = await trigger('out-of-order', { holdMs: 1500 });
    expect(r.problems).toEqual([]);
    expect(r.firstArrived).toBe('refund');
    expect(merchant.arrived.slice(from).map((a) => a.eventType)).toEqual([
      'REFUND.SUCCESS',
      'TRANSACTION.SUCCESS',
    ]);
  });
});

describe('mp-pay trigger (child process)', () => {
  it('exit 0 with --json against the sandbox; exit 3 when the sandbox is not there; exit 2 for an unknown scenario', async () => {
    merchant.mode = 'careful';
    const ok = await runCli([
      'trigger',
      'signtest',
      '--sandbox',
      sandbox.url,
      '--notify-url',
      `${merchant.url}/n`,
      '--json',
    ]);
    expect(ok.code).toBe(0);
    expect((JSON.parse(ok.stdout) as TriggerReport).ok).toBe(true);
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const closedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const down = await runCli(['trigger', 'payment-success', '--sandbox', `http://127.0.0.1:${closedPort}`]);
    expect(down.code).toBe(3);
    expect(down.stdout).toContain('ECONNREFUSED');
    const unknown = await runCli(['trigger', 'meteor-strike']);
    expect(unknown.code).toBe(2);
  }, 60_000);
});
