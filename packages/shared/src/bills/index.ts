/**
 * @mp-pay/shared/bills: WeChat Pay trade bills (对账单) for APIv2 `downloadbill` and APIv3 `tradebill`: the
 * published text format (parse, streaming, and print), exact yuan ⇄ fen, the SHA1 check of v3 bill files and the
 * typed "no bill / not yet" codes. The clients' download calls live on WechatPayV2Client / WechatPayV3Client.
 * Node only. Facts: docs/protocol.md §8 "Bills".
 */
export * from './types.ts';
export { yuanToFen, fenToYuan, feeToMicroYuan, microYuanToFee } from './amount.ts';
export { billColumns, type BillColumn } from './columns.ts';
export { parseBillLines, type BillEntry } from './parse.ts';
export { billLines, MAX_BILL_LINE_BYTES } from './lines.ts';
export { formatBill, billSummaryOf, rowInBill } from './format.ts';
export { billSha1, checkBillHash } from './hash.ts';
export { billErrorCodeOf, isBillDate, type BillErrorCode } from './errors.ts';
