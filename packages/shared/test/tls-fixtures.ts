import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import { join } from 'node:path';

/**
 * TEST-ONLY certificates, minted fresh by the `openssl` CLI into a temp dir for each test file and deleted
 * afterwards (nothing private is ever committed, nothing expires in the repo): a CA, a server certificate for
 * 127.0.0.1 and two client certificates, one from the CA (as WeChat issues apiclient_cert) and one from a
 * stranger CA. EC P-256 keys, because they are generated in milliseconds.
 */
export interface TlsFixtures {
  caPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  clientCertPem: string;
  clientKeyPem: string;
  /** The client certificate and key as WeChat ships them: PKCS#12 with the mch_id as passphrase. */
  clientP12: Buffer;
  clientP12Passphrase: string;
  /** A certificate the server's CA never signed. */
  strangerCertPem: string;
  strangerKeyPem: string;
  cleanup(): void;
}

export function makeTlsFixtures(clientCn: string): TlsFixtures {
  const dir = mkdtempSync(join(tmpdir(), 'mp-pay-tls-'));
  // `command` holds no spaces inside arguments; subjects (which do) come as `extra`.
  const openssl = (command: string, ...extra: string[]) =>
    execFileSync('openssl', [...command.split(' '), ...extra], { cwd: dir, stdio: 'pipe' });
  const EC = '-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';
  const ca = (name: string) =>
    openssl(
      `req -x509 ${EC} -keyout ${name}.key -out ${name}.pem -days 2`,
      '-subj',
      `/CN=${name} (test only)`,
    );
  const issue = (name: string, cn: string, issuer: string, ext = '') => {
    openssl(`req -new ${EC} -keyout ${name}.key -out ${name}.csr`, '-subj', `/CN=${cn}`);
    openssl(
      `x509 -req -in ${name}.csr -CA ${issuer}.pem -CAkey ${issuer}.key -CAcreateserial -out ${name}.pem -days 2${ext}`,
    );
  };

  ca('ca');
  ca('stranger-ca');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\n');
  issue('server', '127.0.0.1', 'ca', ' -extfile server.ext');
  issue('client', clientCn, 'ca');
  issue('stranger', clientCn, 'stranger-ca');
  const passphrase = clientCn;
  openssl(`pkcs12 -export -in client.pem -inkey client.key -out client.p12 -passout pass:${passphrase}`);

  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  return {
    caPem: read('ca.pem'),
    serverCertPem: read('server.pem'),
    serverKeyPem: read('server.key'),
    clientCertPem: read('client.pem'),
    clientKeyPem: read('client.key'),
    clientP12: readFileSync(join(dir, 'client.p12')),
    clientP12Passphrase: passphrase,
    strangerCertPem: read('stranger.pem'),
    strangerKeyPem: read('stranger.key'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Server options of a stand-in for WeChat's /secapi/ host: no certificate from our CA, no connection. */
export function mutualTlsServerOptions(tls: TlsFixtures): HttpsServerOptions {
  return {
    cert: tls.serverCertPem,
    key: tls.serverKeyPem,
    ca: tls.caPem,
    requestCert: true,
    rejectUnauthorized: true,
  };
}
