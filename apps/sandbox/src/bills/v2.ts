import { gzipSync } from 'node:zlib';
import type { Context } from 'koa';
import { BILL_TYPES, isBillDate, type BillType } from '@mp-pay/shared/bills';
import { buildXml } from '@mp-pay/shared/wechatpay';
import type { SandboxContext } from '../context.ts';
import { screen } from '../pay/request.ts';
import { sendXml } from '../http/xml-reply.ts';
import type { Refunds } from '../refunds/core.ts';
import { billAvailability } from './calendar.ts';
import { billRows, billText } from './rows.ts';

/**
 * POST /pay/downloadbill (docs/protocol.md §8 "Bills"): the merchant's bill of one Beijing day as text (gzip with
 * tar_type=GZIP), unsigned. Failures are unsigned XML, return_code FAIL, WeChat's English return_msg:
 *   missing parameter (20001)   no bill_date
 *   data format error (20001)   bill_date is not a yyyyMMdd day
 *   invalid bill_type (20001)   not ALL / SUCCESS / REFUND
 *   invalid tar_type (20001)    not GZIP
 *   invalid bill_date (20001)   a future day, or older than three months
 *   Bill Creating               today, or yesterday before 10:00 Beijing
 *   No Bill Exist (20002)       no row of that type that day
 *   SIGN ERROR                  the signature does not verify
 * Only 20002 is a documented error_code; 20001 for the parameter faults is the sandbox's choice.
 */
function fail(message: string, errorCode?: string): string {
  return buildXml({
    return_code: 'FAIL',
    return_msg: message,
    ...(errorCode ? { error_code: errorCode } : {}),
  });
}

type BillReply = { bill: Buffer; gzip: boolean };

export function downloadBillRoute(sandbox: SandboxContext, refunds: Refunds) {
  return async (ctx: Context): Promise<void> => {
    const result = await screen<string | BillReply>(
      ctx,
      sandbox,
      [],
      (req) => {
        const { bill_date: date, bill_type: type = 'ALL', tar_type: tar } = req.raw;
        if (!date) return fail('missing parameter', '20001');
        if (!isBillDate(date, 'v2')) return fail('data format error', '20001');
        if (!BILL_TYPES.includes(type as BillType)) return fail('invalid bill_type', '20001');
        if (tar !== undefined && tar !== 'GZIP') return fail('invalid tar_type', '20001');
        const availability = billAvailability(date, sandbox.clock.now());
        if (availability === 'future' || availability === 'expired')
          return fail('invalid bill_date', '20001');
        if (availability === 'creating') return fail('Bill Creating');
        const text = billText(billRows(sandbox, refunds, req.account.mchId, date), type as BillType);
        if (text === undefined) return fail('No Bill Exist', '20002');
        const bytes = Buffer.from(text, 'utf8');
        return { bill: tar === 'GZIP' ? gzipSync(bytes) : bytes, gzip: tar === 'GZIP' };
      },
      { missing: () => 'missing parameter', sign: 'SIGN ERROR' },
    );
    const reply = result.reply;
    if (typeof reply === 'string') sendXml(ctx, reply);
    else {
      ctx.status = 200;
      ctx.type = reply.gzip ? 'application/x-gzip' : 'text/plain; charset=utf-8';
      ctx.body = reply.bill;
    }
    if (result.delayMs > 0) await sandbox.timers.sleep(result.delayMs);
  };
}
