import { BodyTooLargeError } from '../core/body.ts';
import type { TlsOptions } from '../core/client-certificate.ts';
import { MAX_BILL_BYTES, requestBytes } from '../bills/download.ts';
import { billErrorCodeOf, isBillDate } from '../bills/errors.ts';
import type { BillType } from '../bills/types.ts';
import {
  WechatPayError,
  WechatPayInvalidRequestError,
  WechatPaySystemError,
  WechatPayTimeoutError,
  WechatPayTransportError,
} from './errors.ts';
import type { V2Params } from './sign.ts';
import { parseXml } from './xml.ts';

export interface DownloadBillV2Request {
  /** The Beijing calendar day, 'yyyyMMdd'. */
  billDate: string;
  billType: BillType;
  tarType?: 'GZIP';
}

/**
 * `return_msg` of a failed downloadbill → our code (docs/protocol.md §8 "Bills"). Besides NO_BILL and
 * BILL_CREATING (errors.ts of bills), the request's own faults get codes of their own for the logs.
 */
const FAIL_CODES: Readonly<Record<string, string>> = {
  'invalid bill_type': 'INVALID_BILL_TYPE',
  'invalid tar_type': 'INVALID_TAR_TYPE',
  'data format error': 'DATA_FORMAT_ERROR',
  'missing parameter': 'MISSING_PARAMETER',
  'SIGN ERROR': 'SIGN_ERROR',
  'invalid bill_date': 'INVALID_BILL_DATE',
};

export interface DownloadBillV2Context {
  url: URL;
  body: (fields: V2Params) => string;
  timeoutMs: number;
  ca?: TlsOptions['ca'];
}

/** The downloadbill exchange (see WechatPayV2Client.downloadBill). */
export async function downloadBillV2(
  context: DownloadBillV2Context,
  req: DownloadBillV2Request,
  maxBytes = MAX_BILL_BYTES,
): Promise<Buffer> {
  if (!isBillDate(req.billDate, 'v2')) throw new TypeError('downloadBill: billDate must be yyyyMMdd');
  if (!['ALL', 'SUCCESS', 'REFUND'].includes(req.billType)) {
    throw new TypeError('downloadBill: billType must be ALL, SUCCESS or REFUND');
  }
  if (req.tarType !== undefined && req.tarType !== 'GZIP')
    throw new TypeError('downloadBill: tarType is GZIP');
  const path = '/pay/downloadbill';
  let reply;
  try {
    reply = await requestBytes({
      method: 'POST',
      url: context.url,
      headers: { 'content-type': 'text/xml; charset=utf-8' },
      body: context.body({ bill_date: req.billDate, bill_type: req.billType, tar_type: req.tarType }),
      timeoutMs: context.timeoutMs,
      maxBytes,
      ...(context.ca === undefined ? {} : { ca: context.ca }),
    });
  } catch (err) {
    if (err instanceof BodyTooLargeError) {
      throw new WechatPayTransportError('TOO_LARGE', `bill larger than ${maxBytes} bytes`, undefined, {
        cause: err,
      });
    }
    if ((err as Error).name === 'TimeoutError')
      throw new WechatPayTimeoutError(context.timeoutMs, { cause: err });
    throw new WechatPayTransportError('NETWORK', `could not reach WeChat Pay for ${path}`, undefined, {
      cause: err,
    });
  }
  const details = { httpStatus: reply.status, requestId: reply.headers['request-id'] };
  if (reply.status < 200 || reply.status > 299) {
    throw new WechatPayTransportError(
      'HTTP_' + reply.status,
      `WeChat Pay answered HTTP ${reply.status} for ${path}`,
      undefined,
      details,
    );
  }
  const isGzip = reply.body[0] === 0x1f && reply.body[1] === 0x8b;
  if (!isGzip && /^\s*<xml[\s>]/.test(reply.body.subarray(0, 64).toString('utf8')))
    throw failure(reply.body, details);
  return reply.body;
}

/** A downloadbill failure: unsigned XML, return_code FAIL, the reason in return_msg. */
function failure(
  body: Buffer,
  details: { httpStatus: number; requestId: string | undefined },
): WechatPayError {
  const text = body.toString('utf8');
  let raw: Record<string, string>;
  try {
    raw = parseXml(text, { maxBytes: 64 * 1024 });
  } catch (err) {
    return new WechatPayTransportError('BAD_REPLY', 'unreadable downloadbill reply', undefined, {
      ...details,
      rawBody: text.slice(0, 2048),
      cause: err,
    });
  }
  const message = raw.return_msg ?? '';
  const options = { ...details, rawBody: text };
  const billCode = billErrorCodeOf(message);
  if (billCode === 'BILL_CREATING') {
    return new WechatPaySystemError(
      'BILL_CREATING',
      `the bill is still being made: ${message}`,
      raw,
      options,
    );
  }
  if (billCode)
    return new WechatPayError(
      billCode,
      `no bill for that day: ${message} (${raw.error_code ?? ''})`,
      raw,
      options,
    );
  if (message === 'SYSTEMERROR' || raw.error_code === 'SYSTEMERROR') {
    return new WechatPaySystemError('SYSTEMERROR', `WeChat Pay failed: ${message}`, raw, options);
  }
  return new WechatPayInvalidRequestError(
    FAIL_CODES[message] ?? 'FAIL',
    `WeChat Pay refused /pay/downloadbill: ${message || 'no return_msg'}`,
    raw,
    options,
  );
}
