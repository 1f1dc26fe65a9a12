import { feeToMicroYuan, yuanToFen } from './amount.ts';
import { COLUMN_BY_NAME, SUMMARY_COLUMNS, SUMMARY_FIRST, type BillColumn } from './columns.ts';
import { BillFormatError, type BillColumns, type BillRow, type BillSummary } from './types.ts';

export type BillEntry =
  { kind: 'row'; row: BillRow } | { kind: 'summary'; summary: BillSummary; columns: BillColumns };

/**
 * Older bills name some columns differently (企业红包 before 代金券, 子商户号 for 特约商户号, 总交易额 …); they
 * mean the same fields. docs/protocol.md §8 "Bills".
 */
const ALIASES: Readonly<Record<string, string>> = {
  子商户号: '特约商户号',
  企业红包金额: '代金券金额',
  企业红包退款金额: '充值券退款金额',
  总交易额: '应结订单总金额',
  总退款金额: '退款总金额',
  总企业红包退款金额: '充值券退款总金额',
  总代金券或立减优惠退款金额: '充值券退款总金额',
};

/** Columns every bill has; the refund and current-set columns depend on the bill type and age. */
const REQUIRED = ['交易时间', '商户号', '微信订单号', '商户订单号', '交易状态', '应结订单金额', '手续费'];

const MAX_FIELDS = 64;

/**
 * Streaming bill parser: header line, backtick-prefixed data lines, summary header, summary line. Every field
 * of a data line starts with a backtick (WeChat's guard against spreadsheets eating leading zeros), so fields
 * are split on ",`" and a plain comma inside 商品名称 / 商户数据包 stays in its field. Blank lines are skipped.
 * Yields the rows, then the summary once; throws BillFormatError naming the line otherwise.
 */
export async function* parseBillLines(
  lines: AsyncIterable<string> | Iterable<string>,
): AsyncGenerator<BillEntry> {
  let lineNo = 0;
  let header: BillColumn[] | undefined;
  let summaryHeader: (typeof SUMMARY_COLUMNS)[number][] | undefined;
  let done = false;
  let columns: BillColumns = 'legacy';
  for await (const raw of lines) {
    lineNo += 1;
    const line = lineNo === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (line.trim() === '') continue;
    if (done) throw new BillFormatError(lineNo, 'text after the summary line');
    if (!header) {
      header = parseHeader(line, lineNo);
      columns = header.some((column) => column.key === 'totalFen') ? 'current' : 'legacy';
      continue;
    }
    if (summaryHeader) {
      yield { kind: 'summary', summary: parseSummary(summaryHeader, line, lineNo), columns };
      done = true;
      continue;
    }
    if (line.startsWith(SUMMARY_FIRST)) {
      summaryHeader = parseSummaryHeader(line, lineNo);
      continue;
    }
    yield { kind: 'row', row: parseRow(header, line, lineNo) };
  }
  if (!header) throw new BillFormatError(0, 'empty bill (no header line)');
  if (!done) throw new BillFormatError(0, summaryHeader ? 'summary line missing' : 'summary missing');
}

function names(line: string): string[] {
  return line.split(',').map((name) => {
    const trimmed = name.trim();
    return ALIASES[trimmed] ?? trimmed;
  });
}

function parseHeader(line: string, lineNo: number): BillColumn[] {
  if (line.startsWith('`')) throw new BillFormatError(lineNo, 'expected the header line, got data');
  const found = names(line);
  if (found.length > MAX_FIELDS) throw new BillFormatError(lineNo, 'too many columns');
  const header = found.map((name) => {
    const column = COLUMN_BY_NAME.get(name);
    if (!column) throw new BillFormatError(lineNo, `unknown column ${JSON.stringify(name.slice(0, 20))}`);
    return column;
  });
  if (new Set(found).size !== found.length) throw new BillFormatError(lineNo, 'a column appears twice');
  const missing = REQUIRED.filter((name) => !found.includes(name));
  if (missing.length) throw new BillFormatError(lineNo, `header lacks ${missing.join(', ')}`);
  return header;
}

/** Splits a data or summary line into its backtick-prefixed fields. */
function fields(line: string, lineNo: number): string[] {
  if (!line.startsWith('`')) throw new BillFormatError(lineNo, 'data field without the leading backtick');
  return line.slice(1).split(',`');
}

function emptyRow(): BillRow {
  return {
    tradeTime: '',
    appId: '',
    mchId: '',
    subMchId: '',
    deviceInfo: '',
    transactionId: '',
    outTradeNo: '',
    openid: '',
    tradeType: '',
    tradeState: '',
    bank: '',
    currency: '',
    settlementTotalFen: 0,
    couponFen: 0,
    refundId: '',
    outRefundNo: '',
    refundFen: 0,
    couponRefundFen: 0,
    refundType: '',
    refundStatus: '',
    body: '',
    attach: '',
    fee: '',
    rate: '',
  };
}

function parseRow(header: BillColumn[], line: string, lineNo: number): BillRow {
  const values = fields(line, lineNo);
  if (values.length !== header.length) {
    throw new BillFormatError(lineNo, `${values.length} fields where the header has ${header.length}`);
  }
  const row = emptyRow();
  header.forEach((column, index) => {
    const value = values[index] ?? '';
    if (column.kind === 'text') {
      row[column.key] = value;
      return;
    }
    try {
      row[column.key] = value === '' ? 0 : yuanToFen(value);
    } catch (err) {
      throw new BillFormatError(lineNo, `${column.name}: ${(err as Error).message}`);
    }
  });
  if (!/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(row.tradeTime)) {
    throw new BillFormatError(lineNo, `交易时间 is not yyyy-MM-dd HH:mm:ss`);
  }
  if (row.fee !== '') {
    try {
      feeToMicroYuan(row.fee);
    } catch (err) {
      throw new BillFormatError(lineNo, `手续费: ${(err as Error).message}`);
    }
  }
  return row;
}

function parseSummaryHeader(line: string, lineNo: number): (typeof SUMMARY_COLUMNS)[number][] {
  return names(line).map((name) => {
    const column = SUMMARY_COLUMNS.find((candidate) => candidate.name === name);
    if (!column)
      throw new BillFormatError(lineNo, `unknown summary column ${JSON.stringify(name.slice(0, 20))}`);
    return column;
  });
}

function parseSummary(header: (typeof SUMMARY_COLUMNS)[number][], line: string, lineNo: number): BillSummary {
  const values = fields(line, lineNo);
  if (values.length !== header.length) {
    throw new BillFormatError(
      lineNo,
      `${values.length} summary fields where the header has ${header.length}`,
    );
  }
  const summary: BillSummary = {
    count: 0,
    settlementTotalFen: 0,
    refundTotalFen: 0,
    couponRefundTotalFen: 0,
    fee: '0.00000',
  };
  header.forEach((column, index) => {
    const value = values[index] ?? '';
    try {
      if (column.kind === 'count') {
        if (!/^\d{1,12}$/.test(value)) throw new RangeError(`not a count: ${JSON.stringify(value)}`);
        summary.count = Number(value);
      } else if (column.kind === 'fee') {
        feeToMicroYuan(value);
        summary.fee = value;
      } else {
        (summary as unknown as Record<string, number>)[column.key] = yuanToFen(value);
      }
    } catch (err) {
      throw new BillFormatError(lineNo, `${column.name}: ${(err as Error).message}`);
    }
  });
  return summary;
}
