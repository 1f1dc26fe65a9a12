import {
  WechatPayV3Error,
  WechatPayV3OrderClosedError,
  WechatPayV3OrderNotExistError,
  WechatPayV3OrderPaidError,
  type WechatPayV3ErrorOptions,
} from './errors.ts';

type V3ErrorClass = new (
  code: string,
  message: string,
  options?: WechatPayV3ErrorOptions,
) => WechatPayV3Error;

/**
 * WeChat's `code` → class. The order codes come in two spellings across the v3 pages and the v2 heritage
 * (`ORDER_NOT_EXIST` on the query page, `ORDERNOTEXIST` in v2; a `400 ORDER_CLOSED` is reported on the developer
 * community; `ORDERPAID` is the close-order answer for a paid order), so both spellings map to one class.
 * docs/protocol.md §7 "Errors".
 */
const CLASS_BY_CODE: Readonly<Record<string, V3ErrorClass>> = {
  ORDER_NOT_EXIST: WechatPayV3OrderNotExistError,
  ORDER_NOT_EXISTS: WechatPayV3OrderNotExistError,
  ORDERNOTEXIST: WechatPayV3OrderNotExistError,
  ORDERPAID: WechatPayV3OrderPaidError,
  ORDER_PAID: WechatPayV3OrderPaidError,
  ORDER_CLOSED: WechatPayV3OrderClosedError,
  ORDERCLOSED: WechatPayV3OrderClosedError,
};

/**
 * The one mapping from a non-2xx reply (`{"code", "message", "detail"?}`) to an error. A body that is not that
 * shape (a proxy's HTML page, an empty 502) still yields a WechatPayV3Error, coded `HTTP_<status>`.
 */
export function errorFromV3Reply(
  status: number,
  text: string,
  requestId: string | undefined,
  path: string,
): WechatPayV3Error {
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  const body = isRecord(parsed) ? parsed : {};
  const code = typeof body.code === 'string' && body.code ? body.code : `HTTP_${status}`;
  const said = typeof body.message === 'string' && body.message ? body.message : `HTTP ${status}`;
  const cls = CLASS_BY_CODE[code] ?? WechatPayV3Error;
  return new cls(code, `WeChat Pay ${code} for ${path}: ${said}`, {
    httpStatus: status,
    rawBody: text,
    requestId,
    detail: body.detail,
  });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
