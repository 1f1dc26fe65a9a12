import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  encryptV3Resource,
  openCertificateDownloadV3,
  PlatformCertificates,
  V3KeySet,
  WechatPayV3BadMessageError,
  WechatPayV3Client,
  WechatPayV3DecryptError,
  WechatPayV3Error,
  WechatPayV3SignatureError,
} from '../../src/v3/index.ts';
import { SANDBOX_DEMO_V3 as D } from '../../src/wechatpay/demo-v3.ts';
import { startFakeWechat } from '../fake-wechat.ts';
import { replyV3, type V3ReplyOptions } from './fake-v3.ts';
import { NEXT_PLATFORM } from './test-keys.ts';

const HOUR = 3_600_000;
const NEXT_EXPIRY = new Date(new X509Certificate(NEXT_PLATFORM.certificate).validTo).getTime();

let fake: Awaited<ReturnType<typeof startFakeWechat>>;
beforeAll(async () => {
  fake = await startFakeWechat();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.received.length = 0;
});

function entry(pem: string, serial: string, apiV3Key: string = D.apiV3Key) {
  return {
    serial_no: serial,
    effective_time: '2026-12-01T08:00:00+08:00',
    expire_time: '2046-11-26T08:00:00+08:00',
    encrypt_certificate: encryptV3Resource(pem, apiV3Key, { associatedData: 'certificate' }),
  };
}

/** GET /v3/certificates as WeChat answers it: both certificates, signed by the one named in Wechatpay-Serial. */
function serveCertificates(options: V3ReplyOptions & { entries?: unknown[]; clock?: () => number } = {}) {
  const { entries, clock, ...reply } = options;
  fake.setHandler((req, res) => {
    expect(req.url).toBe('/v3/certificates');
    replyV3(
      res,
      200,
      {
        data: entries ?? [
          entry(D.platformCertificate, D.platformCertSerial),
          entry(NEXT_PLATFORM.certificate, NEXT_PLATFORM.serial),
        ],
      },
      {
        serial: D.platformCertSerial,
        privateKey: D.platformPrivateKey,
        ...(clock ? { timestamp: Math.floor(clock() / 1000) } : {}),
        ...reply,
      },
    );
  });
}

function client(keys = new V3KeySet()) {
  return new WechatPayV3Client({
    mchId: '1900000109',
    serialNo: D.mchCertSerial,
    privateKey: D.mchPrivateKey,
    keys,
    baseUrl: fake.url,
    timeoutMs: 2000,
  });
}

describe('openCertificateDownloadV3 (bootstrap)', () => {
  it('decrypts every certificate and verifies the reply with the one named by Wechatpay-Serial', async () => {
    serveCertificates();
    const download = await client().downloadCertificates();
    expect(download.signed.serial).toBe(D.platformCertSerial);
    const certs = openCertificateDownloadV3(download, D.apiV3Key);
    expect(certs.map((c) => c.serialNo)).toEqual([D.platformCertSerial, NEXT_PLATFORM.serial]);
    expect(certs[0]?.pem).toBe(D.platformCertificate);
  });

  it('refuses a list signed by a key it does not contain and we do not know', async () => {
    serveCertificates({
      serial: NEXT_PLATFORM.serial,
      privateKey: NEXT_PLATFORM.privateKey,
      entries: [entry(D.platformCertificate, D.platformCertSerial)],
    });
    const download = await client().downloadCertificates();
    expect(() => openCertificateDownloadV3(download, D.apiV3Key)).toThrow(
      expect.objectContaining({ name: 'WechatPayV3SignatureError', reason: 'UNKNOWN_SERIAL' }),
    );
    // …but accepts it when that key is already trusted (a rotation signed by the previous certificate).
    const known = new V3KeySet();
    known.addCertificate(NEXT_PLATFORM.certificate);
    expect(openCertificateDownloadV3(download, D.apiV3Key, { keys: known })).toHaveLength(1);
  });

  it('refuses a list whose signature does not verify with the named certificate', async () => {
    serveCertificates({ privateKey: NEXT_PLATFORM.privateKey });
    const download = await client().downloadCertificates();
    const err = (() => {
      try {
        openCertificateDownloadV3(download, D.apiV3Key);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(WechatPayV3SignatureError);
    expect(err).toMatchObject({ reason: 'BAD_SIGNATURE' });
  });

  it('refuses certificates encrypted with another APIv3 key (the step that makes bootstrapping safe)', async () => {
    serveCertificates({ entries: [entry(D.platformCertificate, D.platformCertSerial, 'Q'.repeat(32))] });
    const download = await client().downloadCertificates();
    expect(() => openCertificateDownloadV3(download, D.apiV3Key)).toThrow(WechatPayV3DecryptError);
  });

  it('refuses an entry whose serial_no is not its certificate’s', async () => {
    serveCertificates({ entries: [entry(D.platformCertificate, NEXT_PLATFORM.serial)] });
    const download = await client().downloadCertificates();
    expect(() => openCertificateDownloadV3(download, D.apiV3Key)).toThrow(WechatPayV3BadMessageError);
  });

  it('public-key merchants get 404 from the endpoint', async () => {
    fake.setHandler((_req, res) =>
      replyV3(res, 404, { code: 'RESOURCE_NOT_EXISTS', message: '无可用的平台证书' }, { unsigned: true }),
    );
    const err = await client()
      .downloadCertificates()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WechatPayV3Error);
    expect(err).toMatchObject({ httpStatus: 404, code: 'RESOURCE_NOT_EXISTS', retryable: false });
  });
});

describe('PlatformCertificates', () => {
  it('loads into the client key set, so later replies signed by a certificate verify', async () => {
    const c = client();
    const platform = new PlatformCertificates({ client: c, apiV3Key: D.apiV3Key });
    serveCertificates();
    expect(await platform.refreshIfDue()).toBe(true);
    expect(c.keys.serials().sort()).toEqual([D.platformCertSerial, NEXT_PLATFORM.serial].sort());
    fake.setHandler((_req, res) =>
      replyV3(res, 200, { ok: 1 }, { serial: NEXT_PLATFORM.serial, privateKey: NEXT_PLATFORM.privateKey }),
    );
    expect(await c.request('GET', '/v3/x')).toEqual({ ok: 1 });
  });

  it('refreshes when first used, every interval, near the earliest expiry (spaced), and prunes expired', async () => {
    let now = Date.now();
    const keys = new V3KeySet();
    const platform = new PlatformCertificates({ client: client(keys), apiV3Key: D.apiV3Key });
    serveCertificates({ clock: () => now });
    const downloads = () => fake.received.length;

    expect(platform.nextRefreshAt()).toBeUndefined();
    expect(await platform.refreshIfDue(now)).toBe(true);
    expect(downloads()).toBe(1);
    expect(platform.nextRefreshAt()).toBe(now + 12 * HOUR);

    now += HOUR;
    expect(await platform.refreshIfDue(now)).toBe(false);
    now += 11 * HOUR;
    expect(await platform.refreshIfDue(now)).toBe(true);
    expect(downloads()).toBe(2);

    // Within 24 h of the next certificate's expiry: due now, then no more than every 5 minutes.
    now = NEXT_EXPIRY - 2 * HOUR;
    expect(platform.isDue(now)).toBe(true);
    expect(await platform.refreshIfDue(now)).toBe(true);
    expect(await platform.refreshIfDue(now + 60_000)).toBe(false);
    expect(await platform.refreshIfDue(now + 5 * 60_000)).toBe(true);
    expect(downloads()).toBe(4);

    // Past its expiry the listed certificate is dropped; the long-lived one remains.
    now = NEXT_EXPIRY + 1000;
    await platform.refresh(now);
    expect(keys.serials()).toEqual([D.platformCertSerial]);
  });

  it('concurrent callers share one download', async () => {
    const platform = new PlatformCertificates({ client: client(), apiV3Key: D.apiV3Key });
    serveCertificates();
    const results = await Promise.all([platform.refreshIfDue(), platform.refreshIfDue(), platform.refresh()]);
    expect(results.slice(0, 2)).toEqual([true, true]);
    expect(fake.received).toHaveLength(1);
  });

  it('a failed download leaves the key set as it was and stays due', async () => {
    const keys = new V3KeySet();
    const platform = new PlatformCertificates({ client: client(keys), apiV3Key: D.apiV3Key });
    serveCertificates({ privateKey: NEXT_PLATFORM.privateKey });
    await expect(platform.refreshIfDue()).rejects.toThrow(WechatPayV3SignatureError);
    expect(keys.size).toBe(0);
    expect(platform.isDue()).toBe(true);
  });
});
