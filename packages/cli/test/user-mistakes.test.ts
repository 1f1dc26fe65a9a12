import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '@mp-pay/sandbox';
import { canonicalString, signV2 } from '@mp-pay/shared/v2';
import { miniProgramPayParamsV3, signResponseV3 } from '@mp-pay/shared/v3';
import { SANDBOX_DEMO, SANDBOX_DEMO_V3 } from '@mp-pay/shared/wechatpay';
import { run } from '../src/cli.ts';
import { looksLikeKeyMaterial } from '../src/config.ts';
import { runCli, scratch, type CliRun, type Scratch } from './helpers.ts';

/**
 * The mistakes users make on the command line itself — a key pasted where its path belongs, a garbage key file,
 * an unknown merchant, a query string pasted raw, a wrong --api-version, hostile values — each made for real,
 * through the same `run` the executable calls (and through the executable for the exit codes and streams).
 */
let s: Scratch;
beforeAll(() => {
  s = scratch();
});
afterAll(() => s.remove());

/** In-process run with captured streams; the environment is empty (the CLI reads it only with --env). */
async function cli(args: string[], stdin = ''): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    stdin: () => stdin,
    environment: {},
    cwd: s.dir,
  });
  return { code, stdout, stderr };
}

const merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PRIVATE_PEM = merchant.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PUBLIC_PEM = merchant.publicKey.export({ type: 'spki', format: 'pem' }).toString();
/** The private key as people paste it out of the PEM: the base64 body, no header, no newlines. */
const BARE_KEY = PRIVATE_PEM.replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, '');
/** Base64 of a .p12-sized blob, as `base64 apiclient_cert.p12` prints it. */
const BARE_P12 = Buffer.from(PRIVATE_PEM + PUBLIC_PEM).toString('base64');

describe('key material pasted where a path belongs is never printed', () => {
  it('doctor keys --private-key <base64>: a finding naming the flag, the key nowhere in the output', async () => {
    const r = await cli(['doctor', 'keys', '--private-key', BARE_KEY]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      '--private-key: looks like key material, not a path: pass a file path or the PEM with its header',
    );
    // Not even a recognisable slice of it.
    for (const out of [r.stdout, r.stderr]) expect(out).not.toContain(BARE_KEY.slice(40, 80));
  });

  it('doctor keys --p12 <base64> --json: the finding id, the value not in the JSON', async () => {
    const r = await cli(['doctor', 'keys', '--p12', BARE_P12, '--json']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as { findings: { id: string; message: string }[] };
    expect(doc.findings.map((f) => f.id)).toContain('key-material-not-path');
    expect(r.stdout).not.toContain(BARE_P12.slice(40, 80));
  });

  it('an .env file with the key inline without header: named by file and variable only', async () => {
    const env = s.file('bare.env', `WECHATPAY_PRIVATE_KEY=${BARE_KEY}\n`);
    const r = await cli(['doctor', 'keys', '--env-file', env]);
    expect(r.stdout).toContain(`${env} (WECHATPAY_PRIVATE_KEY): looks like key material`);
    expect(r.stdout).not.toContain(BARE_KEY.slice(40, 80));
  });

  it('paysign and trigger: a usage error on stderr that names the flag, not the key (child process)', async () => {
    const pay = miniProgramPayParamsV3({
      appId: SANDBOX_DEMO.appId,
      prepayId: 'wx201410272009395522657a690389285100',
      privateKey: PRIVATE_PEM,
    });
    const paysign = await runCli(['doctor', 'paysign', JSON.stringify(pay), '--private-key', BARE_KEY]);
    expect(paysign.code).toBe(2);
    expect(paysign.stderr).toContain('--private-key: looks like key material, not a path');
    const trigger = await runCli(['trigger', 'payment-success', '--private-key', BARE_KEY, '--json']);
    expect(trigger.code).toBe(2);
    for (const r of [paysign, trigger])
      for (const out of [r.stdout, r.stderr]) expect(out).not.toContain(BARE_KEY.slice(40, 80));
    expect(JSON.parse(trigger.stdout)).toMatchObject({ ok: false, exitCode: 2, error: 'USAGE' });
  }, 60_000);

  it('a path that does not exist is named by its flag, and is not taken for key material', async () => {
    const r = await cli(['doctor', 'keys', '--cert', 'certs/apiclient_cert.pem']);
    expect(r.stdout).toContain('cannot read the file given by --cert: ENOENT');
    expect(r.stdout).not.toContain('looks like key material');
  });
});

describe('key files that do not load are findings (exit 1), with --json output', () => {
  const notificationFiles = () => {
    const body = JSON.stringify({ id: 'EV-1', event_type: 'TRANSACTION.SUCCESS', summary: '支付成功' });
    const headers = signResponseV3(body, {
      privateKey: SANDBOX_DEMO_V3.platformPrivateKey,
      serial: SANDBOX_DEMO_V3.platformPublicKeyId,
      timestamp: Math.floor(Date.now() / 1000),
    });
    return { headers: s.file('h.json', JSON.stringify(headers)), body: s.file('b.json', body), raw: headers };
  };

  it('doctor v3 with a garbage --public-key, a private key as --public-key, a garbage --platform-cert', async () => {
    const n = notificationFiles();
    const base = ['doctor', 'v3', '--headers', n.headers, '--body', n.body, '--json'];
    const id = ['--public-key-id', SANDBOX_DEMO_V3.platformPublicKeyId];
    const garbage = await cli([...base, ...id, '--public-key', s.file('garbage.pem', 'hello')]);
    expect(garbage.code).toBe(1);
    const doc = JSON.parse(garbage.stdout) as { findings: { id: string; message: string }[] };
    expect(doc.findings[0]).toMatchObject({ id: 'key-unreadable' });
    expect(doc.findings[0]?.message).toMatch(/^--public-key is not a PEM public key/);
    const swapped = await cli([...base, ...id, '--public-key', s.file('priv.pem', PRIVATE_PEM)]);
    expect(swapped.code).toBe(1);
    expect(swapped.stdout).toContain('--public-key is a private key');
    const cert = await cli([...base, '--platform-cert', s.file('cert.pem', 'not a cert')]);
    expect(cert.code).toBe(1);
    expect(cert.stdout).toContain('--platform-cert #1 is not a PEM certificate');
  });

  it('doctor paysign (RSA) with a garbage --cert, or a public key as --private-key', async () => {
    const pay = JSON.stringify(
      miniProgramPayParamsV3({ appId: SANDBOX_DEMO.appId, prepayId: 'wx2014', privateKey: PRIVATE_PEM }),
    );
    const cert = await cli(['doctor', 'paysign', pay, '--cert', s.file('bad-cert.pem', 'junk'), '--json']);
    expect(cert.code).toBe(1);
    expect((JSON.parse(cert.stdout) as { findings: { id: string }[] }).findings.map((f) => f.id)).toContain(
      'cert-unreadable',
    );
    const publicAsPrivate = await cli([
      'doctor',
      'paysign',
      pay,
      '--private-key',
      s.file('pub.pem', PUBLIC_PEM),
    ]);
    expect(publicAsPrivate.code).toBe(1);
    expect(publicAsPrivate.stdout).toContain('[private-key-is-public]');
    // With the right key next to it, the sign is still checked.
    const both = await cli([
      'doctor',
      'paysign',
      pay,
      '--appid',
      SANDBOX_DEMO.appId,
      '--private-key',
      s.file('pub2.pem', PUBLIC_PEM),
      '--cert',
      s.file('pub3.pem', PUBLIC_PEM),
    ]);
    expect(both.stdout).toContain('Verifies:    with the merchant certificate (--cert)');
  });

  it('trigger with a public key as --private-key: a usage error (exit 2), JSON document under --json', async () => {
    const r = await cli([
      'trigger',
      'payment-success',
      '--private-key',
      s.file('pub4.pem', PUBLIC_PEM),
      '--json',
    ]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, exitCode: 2, error: 'USAGE' });
    expect(r.stderr).toContain(
      '--private-key is not a PEM private key (apiclient_key.pem): it holds a public key',
    );
  });
});

describe('trigger: the sandbox does not know the merchant or app; a malformed --sandbox', () => {
  let sandbox: RunningSandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, timeScale: 1000 });
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  it('--mchid unknown to the sandbox: exit 2 naming --mchid (UNKNOWN_MCH_ID)', async () => {
    const r = await cli([
      'trigger',
      'payment-success',
      '--sandbox',
      sandbox.url,
      '--mchid',
      '1234567890',
      '--json',
    ]);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as { exitCode: number; message: string };
    expect(doc.exitCode).toBe(2);
    expect(doc.message).toContain('UNKNOWN_MCH_ID');
    expect(doc.message).toContain('--mchid');
  });

  it('--appid unknown to the sandbox: exit 2 naming --appid (UNKNOWN_APPID)', async () => {
    const r = await cli([
      'trigger',
      'payment-success',
      '--sandbox',
      sandbox.url,
      '--appid',
      'wx0000000000000000',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('UNKNOWN_APPID');
    expect(r.stderr).toContain('--appid');
  });

  it("a --private-key that is not the merchant's: the sandbox answers SIGN_ERROR, exit 2", async () => {
    const r = await cli([
      'trigger',
      'payment-success',
      '--sandbox',
      sandbox.url,
      '--private-key',
      s.file('other-key.pem', PRIVATE_PEM),
      '--json',
    ]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ exitCode: 2, error: 'USAGE' });
    expect(r.stderr).toContain('SIGN_ERROR');
    expect(r.stderr).toContain('check --appid, --mchid, --private-key and --cert-serial');
  });

  it("--sandbox 'not a url': a usage error, not an unreachable sandbox", async () => {
    const r = await cli(['trigger', 'payment-success', '--sandbox', 'not a url', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, exitCode: 2, error: 'USAGE' });
  });

  it('a sandbox reply the CLI does not know: exit 4, and still one JSON document under --json', async () => {
    const odd = createServer((_req, res) => res.writeHead(500).end('teapot\u001b[2J'));
    await new Promise<void>((r) => odd.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(odd.address() as AddressInfo).port}`;
      const r = await cli(['trigger', 'payment-success', '--sandbox', url, '--json']);
      expect(r.code).toBe(4);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, exitCode: 4, error: 'UNEXPECTED' });
      expect(r.stderr).toContain('HTTP 500 teapot\\u001b[2J');
    } finally {
      await new Promise((r) => odd.close(r));
    }
  });

  it('an unreachable sandbox keeps exit 3, with the same JSON shape', async () => {
    const r = await cli(['trigger', 'payment-success', '--sandbox', 'http://127.0.0.1:1', '--json']);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, exitCode: 3, error: 'SANDBOX_UNREACHABLE' });
  });
});

describe('a query string pasted raw: both readings are tried', () => {
  const map = {
    appid: 'wx5ad0b0c0de5a4db0',
    mch_id: '1900000109',
    nonce_str: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
    attach: 'a+b',
    total_fee: '1',
  };

  it('attach=a+b signed as written: OK, read as written', async () => {
    const sign = signV2(map, SANDBOX_DEMO.key);
    // The map as people paste it from a log: canonicalString(map) is k=v&… with the values as they are.
    const pasted = `${canonicalString(map)}&sign=${sign}`;
    const r = await cli(['doctor', 'sign', pasted, '--key', SANDBOX_DEMO.key]);
    expect(r.stdout).toContain('Verdict: OK');
    expect(r.stdout).toContain('values as written (not URL-decoded)');
    expect(r.code).toBe(0);
    const json = await cli(['doctor', 'sign', pasted, '--key', SANDBOX_DEMO.key, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ reading: 'raw', ok: true });
  });

  it('form-encoded (a+b meaning "a b"): read decoded, as before', async () => {
    const decoded = { ...map, attach: 'a b' };
    const pasted = `${canonicalString(map)}&sign=${signV2(decoded, SANDBOX_DEMO.key)}`;
    const r = await cli(['doctor', 'sign', pasted, '--key', SANDBOX_DEMO.key, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ reading: 'decoded', ok: true });
  });
});

describe('usage errors', () => {
  it('doctor keys --api-version V3 (or anything but v2 / v3): exit 2 naming the values', async () => {
    for (const version of ['V3', 'v4', '3']) {
      const r = await cli([
        'doctor',
        'keys',
        '--appid',
        SANDBOX_DEMO.appId,
        '--api-version',
        version,
        '--json',
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--api-version must be v2 or v3');
      expect(JSON.parse(r.stdout)).toMatchObject({ exitCode: 2, error: 'USAGE' });
    }
    expect((await cli(['doctor', 'keys', '--appid', SANDBOX_DEMO.appId, '--api-version', 'v3'])).code).toBe(
      1,
    );
  });

  it("--headers '[1]' / null are not file names; numbers as header values; stdin for both refused", async () => {
    for (const headers of ['[1]', 'null']) {
      const r = await cli(['doctor', 'v3', '--headers', headers, '--body', '{}']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--headers must be a JSON object of header names');
    }
    const body = JSON.stringify({ id: 'EV-2', summary: 'ok' });
    const now = Math.floor(Date.now() / 1000);
    const signed = signResponseV3(body, {
      privateKey: SANDBOX_DEMO_V3.platformPrivateKey,
      serial: SANDBOX_DEMO_V3.platformPublicKeyId,
      timestamp: now,
    });
    // The timestamp written as a JSON number, as a hand-made headers file often has it.
    const numeric = JSON.stringify({ ...signed, 'Wechatpay-Timestamp': now });
    const r = await cli([
      'doctor',
      'v3',
      '--headers',
      numeric,
      '--body',
      s.file('body2.json', body),
      '--public-key',
      s.file('wx-pub.pem', SANDBOX_DEMO_V3.platformPublicKey),
      '--public-key-id',
      SANDBOX_DEMO_V3.platformPublicKeyId,
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('ok    signature');
    const both = await cli(['doctor', 'v3', '--headers', '-', '--body', '-'], '{}');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('cannot both be -');
  });

  it('an unknown option under --json still prints the JSON document', async () => {
    const r = await cli(['doctor', 'sign', '--bogus', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, exitCode: 2, error: 'USAGE' });
  });
});

/** The control characters (other than the line breaks of the report itself) and bidi overrides in a text. */
const rawControl = (text: string) =>
  [...text].filter((c) => (c.charCodeAt(0) < 0x20 && c !== '\n') || c === '\u202e' || c === '\u001b');

describe('untrusted values are shown escaped', () => {
  it('doctor sign / paysign: control characters in a value or the sign never reach the terminal raw', async () => {
    const map = { appid: 'wx5ad0b0c0de5a4db0', attach: 'x\u001b[2J\u001b[31mOK\nVerdict: OK\u202e' };
    const r = await cli([
      'doctor',
      'sign',
      JSON.stringify(map),
      '--key',
      SANDBOX_DEMO.key,
      '--sign',
      'AB\rCD',
    ]);
    expect(r.code).toBe(1);
    expect(rawControl(r.stdout)).toEqual([]);
    expect(r.stdout).toContain('attach=x\\u001b[2J\\u001b[31mOK\\nVerdict: OK\\u202e');
    expect(r.stdout).toContain('Given sign   AB\\rCD');
    const pay = await cli([
      'doctor',
      'paysign',
      JSON.stringify({
        appId: 'wx1',
        timeStamp: '1\u001b[1m',
        nonceStr: 'n',
        package: 'prepay_id=p',
        signType: 'MD5',
        paySign: 'x',
      }),
      '--key',
      SANDBOX_DEMO.key,
    ]);
    expect(rawControl(pay.stdout)).toEqual([]);
    expect(pay.stdout).toContain('timeStamp=1\\u001b[1m');
  });
});

describe('what counts as key material', () => {
  it('a bare key or .p12 does; paths, even long ones without an extension, do not', () => {
    expect(looksLikeKeyMaterial(BARE_KEY)).toBe(true);
    expect(looksLikeKeyMaterial(BARE_P12)).toBe(true);
    expect(
      looksLikeKeyMaterial(
        PRIVATE_PEM.replace(/-----[A-Z ]+-----/g, '')
          .trim()
          .replaceAll('\n', '\\n'),
      ),
    ).toBe(true);
    expect(
      looksLikeKeyMaterial('/home/merchant/projects/shop/secrets/wechatpay/apiclient/keyfile2026A'),
    ).toBe(false);
    expect(looksLikeKeyMaterial('secrets/wechatpay/apiclient_key.pem')).toBe(false);
    expect(looksLikeKeyMaterial('apiclient_key')).toBe(false);
  });
});
