/**
 * Every line the server writes goes through pino (nothing else writes to stdout). LOG_FORMAT picks the output:
 * `json` (the default outside development: one JSON object per line, for log collectors) or `pretty`
 * (pino-pretty, for people; loaded only then, so JSON mode never pays for it).
 *
 * Secrets never reach the output, in two layers:
 *  1. redaction of every field name that can carry one (key, secret, session_key, tokens, authorization),
 *     at the top level and nested, so a careless `log.info({ session })` prints `[redacted]`;
 *  2. a last-resort scrub of the configured API key and app secret from every written line, in case one
 *     hides inside a message string (e.g. an error quoting a URL).
 * test/logging.test.ts proves it on a full payment flow.
 */
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';
import type { ServerConfig } from './config.ts';

export type { Logger };

const SECRET_FIELDS = [
  'key',
  'apiKey',
  'apiV3Key',
  'privateKey',
  'secret',
  'appSecret',
  'sessionKey',
  'session_key',
  'token',
  'accessToken',
  'access_token',
  'authorization',
  'Authorization',
  'paySign',
  'sign',
];

const REDACT_PATHS = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((f) => `*.${f}`),
  ...SECRET_FIELDS.map((f) => `*.*.${f}`),
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
];

/**
 * `stream`: where the lines go (default stdout); tests capture them. In pretty mode the lines are prettified
 * in-process, synchronously, into the same destination (a development setting: no worker thread to ship).
 */
export function createLogger(config: ServerConfig, stream?: DestinationStream): Logger {
  // The APIv3 key, and every line of the merchant's private key, are scrubbed like the v2 key and the secret.
  const privateKeyLines = config.wechatpay.v3.privateKey
    .split('\n')
    .filter((line) => line.length >= 16 && !line.startsWith('-----'));
  const secrets = [
    config.wechatpay.key,
    config.wechat.secret,
    config.wechatpay.v3.apiV3Key,
    ...privateKeyLines,
  ].filter((s) => s.length >= 8);
  return pino(
    {
      level: config.logLevel,
      base: { service: 'mp-pay-server' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      hooks: {
        streamWrite: (line) => secrets.reduce((out, secret) => out.replaceAll(secret, '[redacted]'), line),
      },
    },
    config.logFormat === 'pretty' ? prettyStream(stream) : stream,
  );
}

function prettyStream(destination: DestinationStream | undefined): DestinationStream {
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  return pretty({
    destination: destination ?? 1,
    sync: true,
    colorize: destination === undefined ? pretty.isColorSupported : false,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
  });
}
