import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/mp-pay.js', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real executable (bin/mp-pay.js → tsx → src/main.ts) as a child process. */
export function runCli(
  args: string[],
  options: { stdin?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { env: options.env ?? { PATH: process.env.PATH ?? '' }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code =
          err && typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(options.stdin ?? '');
  });
}

export interface Scratch {
  dir: string;
  file(name: string, content: string | Buffer): string;
  remove(): void;
}

export function scratch(): Scratch {
  const dir = mkdtempSync(join(tmpdir(), 'mp-pay-cli-'));
  return {
    dir,
    file(name, content) {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface MerchantMaterial {
  keyPath: string;
  certPath: string;
  serial: string;
  p12Path: string;
}

/**
 * A throwaway merchant key and API certificate made by the openssl CLI (TEST ONLY, deleted with the scratch
 * dir), with the validity asked for: `openssl ca -selfsign` takes explicit start and end dates, so an expired
 * certificate is really expired, not simulated by moving a clock. The .p12's passphrase is the mch_id.
 */
export function makeMerchant(
  s: Scratch,
  name: string,
  serial: string,
  start: string,
  end: string,
): MerchantMaterial {
  const dir = join(s.dir, name);
  execFileSync('mkdir', ['-p', dir]);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  writeFileSync(
    join(dir, 'ca.cnf'),
    '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n',
  );
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), `${serial}\n`);
  openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'apiclient_key.pem');
  openssl('req', '-new', '-key', 'apiclient_key.pem', '-subj', '/CN=1900000109', '-out', 'r.csr');
  openssl(
    'ca',
    '-batch',
    '-config',
    'ca.cnf',
    '-selfsign',
    '-keyfile',
    'apiclient_key.pem',
    '-in',
    'r.csr',
    '-out',
    'apiclient_cert.pem',
    '-startdate',
    start,
    '-enddate',
    end,
    '-notext',
  );
  openssl(
    'pkcs12',
    '-export',
    '-in',
    'apiclient_cert.pem',
    '-inkey',
    'apiclient_key.pem',
    '-out',
    'apiclient_cert.p12',
    '-passout',
    'pass:1900000109',
  );
  return {
    keyPath: join(dir, 'apiclient_key.pem'),
    certPath: join(dir, 'apiclient_cert.pem'),
    serial,
    p12Path: join(dir, 'apiclient_cert.p12'),
  };
}
