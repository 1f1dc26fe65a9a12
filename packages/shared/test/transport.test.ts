import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpTransport, WechatError, WechatTransportError } from '../src/core/index.ts';
import { startFakeWechat } from './fake-wechat.ts';
import { makeTlsFixtures, mutualTlsServerOptions, type TlsFixtures } from './tls-fixtures.ts';

const MCHID = '1900000109';
const base = { timeoutMs: 2000, maxBytes: 1024 } as const;

describe('HttpTransport over plain HTTP', () => {
  let fake: Awaited<ReturnType<typeof startFakeWechat>>;
  const transport = new HttpTransport();
  beforeAll(async () => {
    fake = await startFakeWechat();
  });
  afterAll(async () => {
    transport.close();
    await fake.close();
  });

  it('sends method, headers and body; returns status, lower-case headers and text, whatever the status', async () => {
    fake.setHandler((req, res) => {
      res.statusCode = 418;
      res.setHeader('Request-ID', 'rid-1');
      res.setHeader('Set-Cookie', ['a=1', 'b=2']);
      res.end(`${req.method} ${req.url} ${req.headers['x-test']} ${req.body}`);
    });
    const reply = await transport.request({
      ...base,
      method: 'POST',
      url: `${fake.url}/echo?q=1`,
      headers: { 'x-test': 'yes' },
      body: '中文',
    });
    expect(reply).toMatchObject({ status: 418, text: 'POST /echo?q=1 yes 中文' });
    expect(reply.headers['request-id']).toBe('rid-1');
    expect(reply.headers['set-cookie']).toBe('a=1, b=2');
    expect(fake.received.at(-1)?.headers['content-length']).toBe(String(Buffer.byteLength('中文')));
  });

  it('maps a slow reply to TIMEOUT, a refused connection to NETWORK, both retryable WechatErrors', async () => {
    fake.setHandler((_req, res) => {
      res.write('partial');
      // …and never ends: the deadline covers the body too.
    });
    const slow = await transport
      .request({ ...base, method: 'GET', url: fake.url, timeoutMs: 100 })
      .catch((e: unknown) => e);
    expect(slow).toBeInstanceOf(WechatTransportError);
    expect(slow).toBeInstanceOf(WechatError);
    expect(slow).toMatchObject({ code: 'TIMEOUT', retryable: true });

    const refused = await transport
      .request({ ...base, method: 'GET', url: 'http://127.0.0.1:1/secret?token=s3cr3t' })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'NETWORK', retryable: true });
    expect((refused as Error).message).not.toContain('s3cr3t');
  });

  it('caps the reply, declared or streamed', async () => {
    fake.setHandler((_req, res) => res.end('x'.repeat(2000)));
    await expect(transport.request({ ...base, method: 'GET', url: fake.url })).rejects.toMatchObject({
      code: 'TOO_LARGE',
      httpStatus: 200,
    });
    fake.setHandler((_req, res) => {
      // Chunked, no content-length: only counting while reading catches it.
      for (let i = 0; i < 20; i++) res.write('y'.repeat(100));
      res.end();
    });
    await expect(transport.request({ ...base, method: 'GET', url: fake.url })).rejects.toMatchObject({
      code: 'TOO_LARGE',
    });
  });

  it('refuses a URL that is not http(s)', async () => {
    await expect(transport.request({ ...base, method: 'GET', url: 'ftp://127.0.0.1/' })).rejects.toThrow(
      TypeError,
    );
  });
});

describe('HttpTransport client certificates (mutual TLS)', () => {
  let tls: TlsFixtures;
  let fake: Awaited<ReturnType<typeof startFakeWechat>>;
  beforeAll(async () => {
    tls = makeTlsFixtures(MCHID);
    fake = await startFakeWechat(mutualTlsServerOptions(tls));
    fake.setHandler((req, res) => res.end(`hello ${req.clientCertCn}`));
  });
  afterAll(async () => {
    await fake.close();
    tls.cleanup();
  });

  const get = (transport: HttpTransport) =>
    transport.request({ ...base, method: 'GET', url: fake.url }).finally(() => transport.close());

  it('presents a PKCS#12 certificate (apiclient_cert.p12 with its passphrase)', async () => {
    const transport = new HttpTransport({
      clientCertificate: { pfx: tls.clientP12, passphrase: tls.clientP12Passphrase },
      ca: tls.caPem,
    });
    expect(transport.hasClientCertificate).toBe(true);
    await expect(get(transport)).resolves.toMatchObject({ status: 200, text: `hello ${MCHID}` });
  });

  it('presents a PEM certificate and key', async () => {
    const transport = new HttpTransport({
      clientCertificate: { cert: tls.clientCertPem, key: Buffer.from(tls.clientKeyPem) },
      ca: tls.caPem,
    });
    await expect(get(transport)).resolves.toMatchObject({ text: `hello ${MCHID}` });
  });

  it('is refused by the server without a certificate, or with one from another CA', async () => {
    const none = new HttpTransport({ ca: tls.caPem });
    expect(none.hasClientCertificate).toBe(false);
    await expect(get(none)).rejects.toMatchObject({ name: 'WechatTransportError', code: 'NETWORK' });
    const stranger = new HttpTransport({
      clientCertificate: { cert: tls.strangerCertPem, key: tls.strangerKeyPem },
      ca: tls.caPem,
    });
    await expect(get(stranger)).rejects.toMatchObject({ code: 'NETWORK' });
  });

  it('refuses a server certificate it does not trust', async () => {
    const transport = new HttpTransport({
      clientCertificate: { pfx: tls.clientP12, passphrase: tls.clientP12Passphrase },
    });
    await expect(get(transport)).rejects.toMatchObject({ code: 'NETWORK' });
  });

  it('fails at construction, with a fix-it message and without the passphrase, on a bad certificate', () => {
    const wrong = () =>
      new HttpTransport({ clientCertificate: { pfx: tls.clientP12, passphrase: 'not-the-mch-id' } });
    expect(wrong).toThrow(TypeError);
    expect(wrong).toThrow(/wrong passphrase/);
    expect(wrong).not.toThrow(/not-the-mch-id/);
    expect(() => new HttpTransport({ clientCertificate: { pfx: Buffer.alloc(0) } })).toThrow(/empty/);
    expect(
      () => new HttpTransport({ clientCertificate: { cert: tls.clientCertPem, key: tls.strangerKeyPem } }),
    ).toThrow(/could not load the client certificate/);
  });
});
