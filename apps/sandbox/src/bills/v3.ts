import { gzipSync } from 'node:zlib';
import type { Context } from 'koa';
import { BILL_TYPES, billSha1, isBillDate, type BillType } from '@mp-pay/shared/bills';
import type { SandboxContext } from '../context.ts';
import { sandboxBaseUrl } from '../http/base-url.ts';
import type { Refunds } from '../refunds/core.ts';
import { paramError, sendV3, v3Error, type V3Reply } from '../v3/reply.ts';
import { screen, type V3Request } from '../v3/request.ts';
import { billAvailability } from './calendar.ts';
import { DOWNLOAD_TTL_MS } from './desk.ts';
import { billRows, billText } from './rows.ts';

/**
 * APIv3 bills (docs/protocol.md §8 "Bills"):
 *   GET /v3/bill/tradebill?bill_date=yyyy-MM-dd&bill_type=&tar_type=  signed JSON {hash_type, hash_value, download_url}
 *     400 PARAM_ERROR          bill_date missing or malformed, bill_type / tar_type unknown
 *     400 INVALID_REQUEST      a future day, or older than three months
 *     400 STATEMENT_CREATING   today, or yesterday before 10:00 Beijing
 *     400 NO_STATEMENT_EXIST   no row of that type that day
 *   GET /v3/billdownload/file?token=  the bytes hashed above, with a signed request; the 200 reply is NOT signed
 *     (as at WeChat). The token is good once, for 30 s of sandbox clock, for the merchant that asked.
 */
export function tradeBill(sandbox: SandboxContext, refunds: Refunds) {
  return (req: V3Request): V3Reply => {
    const query = req.ctx.query;
    const one = (name: string) => (typeof query[name] === 'string' ? (query[name] as string) : undefined);
    const date = one('bill_date');
    const type = one('bill_type') ?? 'ALL';
    const tar = one('tar_type');
    if (!date) return paramError('bill_date', '账单日期 bill_date 必填', 'query');
    if (!isBillDate(date, 'v3')) return paramError('bill_date', '账单日期格式应为 yyyy-MM-dd', 'query', date);
    if (!BILL_TYPES.includes(type as BillType)) {
      return paramError('bill_type', '账单类型应为 ALL、SUCCESS 或 REFUND', 'query', type);
    }
    if (tar !== undefined && tar !== 'GZIP')
      return paramError('tar_type', '压缩类型仅支持 GZIP', 'query', tar);
    const now = sandbox.clock.now();
    const day = date.replaceAll('-', '');
    const availability = billAvailability(day, now);
    if (availability === 'future' || availability === 'expired') {
      return v3Error(
        400,
        'INVALID_REQUEST',
        '账单日期超出可下载范围: bills exist for yesterday back to three months',
      );
    }
    if (availability === 'creating') {
      return v3Error(
        400,
        'STATEMENT_CREATING',
        "账单生成中: a day's bill is ready from 10:00 Beijing the next day",
      );
    }
    const text = billText(billRows(sandbox, refunds, req.account.mchId, day), type as BillType);
    if (text === undefined) return v3Error(400, 'NO_STATEMENT_EXIST', '账单文件不存在');
    const plain = Buffer.from(text, 'utf8');
    const bytes = tar === 'GZIP' ? gzipSync(plain) : plain;
    const token = sandbox.bills.issue(
      { mchId: req.account.mchId, bytes, expiresAt: now + DOWNLOAD_TTL_MS },
      now,
    );
    return {
      status: 200,
      body: {
        hash_type: 'SHA1',
        hash_value: billSha1(bytes),
        download_url: `${sandboxBaseUrl(sandbox, req.ctx)}/v3/billdownload/file?token=${token}`,
      },
    };
  };
}

/** GET /v3/billdownload/file: checks like every v3 call, then the file, unsigned; errors are signed JSON. */
export function billDownloadRoute(sandbox: SandboxContext) {
  return async (ctx: Context): Promise<void> => {
    let file: Buffer | undefined;
    const result = await screen(ctx, sandbox, (req) => {
      const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
      const found = sandbox.bills.redeem(token, req.account.mchId, sandbox.clock.now());
      if (!found)
        return v3Error(
          400,
          'INVALID_REQUEST',
          "下载链接已失效: the token is unknown, used, expired or another merchant's",
        );
      file = found.bytes;
      if (sandbox.bills.takeCorruption(req.account.mchId)) {
        file = Buffer.from(file);
        file[file.length - 3] = (file[file.length - 3] ?? 0) ^ 0x01;
      }
      return { status: 200 };
    });
    if (file !== undefined && result.reply.status === 200) {
      ctx.status = 200;
      ctx.set('Request-ID', `${Date.now().toString(16).toUpperCase()}-BILL`);
      ctx.type = 'application/octet-stream';
      ctx.body = file;
    } else {
      const mode = sandbox.keyModes.for(result.mchId ?? sandbox.config.mchId).mode;
      sendV3(
        ctx,
        sandbox.platform,
        result.reply,
        sandbox.platform.replySerial(mode, ctx.get('Wechatpay-Serial')),
      );
    }
    if (result.delayMs > 0) await sandbox.timers.sleep(result.delayMs);
  };
}
