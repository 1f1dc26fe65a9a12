/**
 * Writes a bill in WeChat's exact text format (docs/protocol.md §8 "Bills"), gzip-compressed as `tar_type=GZIP`
 * delivers it, one row at a time: @mp-pay/shared/bills `formatBill` builds the whole text in memory, which is
 * fine for the sandbox's bills and not for a million rows. The bytes are formatBill's (checked by
 * `checkWriter`, which compares the two on a sample and parses the result back).
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { createGzip, gunzipSync, gzipSync } from 'node:zlib';
import {
  billColumns,
  billLines,
  billSummaryOf,
  fenToYuan,
  formatBill,
  parseBillLines,
  type BillRow,
  type BillSummary,
} from '@mp-pay/shared/bills';
// Not re-exported by the package index; the summary's printed names and kinds.
import { SUMMARY_COLUMNS } from '../../packages/shared/src/bills/columns.ts';

const COLUMNS = billColumns('ALL', 'current');
const CRLF = '\r\n';

const header = (): string => COLUMNS.map((column) => column.name).join(',') + CRLF;

function rowLine(row: BillRow): string {
  let line = '';
  for (let c = 0; c < COLUMNS.length; c++) {
    const column = COLUMNS[c]!;
    const value = column.kind === 'text' ? (row[column.key] ?? '') : fenToYuan(row[column.key] ?? 0);
    line += (c === 0 ? '`' : ',`') + value;
  }
  return line + CRLF;
}

function summaryLines(summary: BillSummary): string {
  const columns = SUMMARY_COLUMNS.slice(0, 7);
  const values = columns.map((column) => {
    const value = summary[column.key];
    if (column.kind === 'count' || column.kind === 'fee') return String(value);
    return fenToYuan(Number(value ?? 0));
  });
  return columns.map((column) => column.name).join(',') + CRLF + values.map((v) => '`' + v).join(',') + CRLF;
}

/** The bill as chunks of text, rows batched into ~1 MB strings. */
function* billText(rows: Iterable<BillRow>, summary: BillSummary): Generator<string> {
  yield header();
  let chunk = '';
  for (const row of rows) {
    chunk += rowLine(row);
    if (chunk.length >= 1 << 20) {
      yield chunk;
      chunk = '';
    }
  }
  yield chunk;
  yield summaryLines(summary);
}

/**
 * Writes the ALL bill of `rows()` to `path`, gzip-compressed; the rows are produced twice (the summary first,
 * then the lines), never held. Returns the compressed and text sizes.
 */
export async function writeGzipBill(
  path: string,
  rows: () => Iterable<BillRow>,
): Promise<{ gzipBytes: number; textBytes: number }> {
  const summary = billSummaryOf(rows());
  const gzip = createGzip({ level: 6 });
  const out = createWriteStream(path);
  const done = once(out, 'finish');
  gzip.pipe(out);
  let textBytes = 0;
  for (const text of billText(rows(), summary)) {
    const bytes = Buffer.from(text, 'utf8');
    textBytes += bytes.length;
    if (!gzip.write(bytes)) await once(gzip, 'drain');
  }
  gzip.end();
  await done;
  return { gzipBytes: out.bytesWritten, textBytes };
}

/**
 * The writer's bytes equal formatBill's for the same rows, and parseBillLines (through billLines, gzip) reads
 * back exactly those rows and summary. Throws otherwise.
 */
export async function checkWriter(sample: BillRow[]): Promise<void> {
  const ours = [...billText(sample, billSummaryOf(sample))].join('');
  const theirs = formatBill(sample, { type: 'ALL' });
  if (ours !== theirs) throw new Error('bill writer: bytes differ from formatBill');
  const gz = gzipSync(Buffer.from(ours, 'utf8'));
  if (gunzipSync(gz).toString('utf8') !== theirs) throw new Error('bill writer: gzip round trip differs');
  async function* chunks() {
    for (let i = 0; i < gz.length; i += 4096) yield gz.subarray(i, i + 4096);
  }
  const rows: BillRow[] = [];
  let summary: BillSummary | undefined;
  for await (const entry of parseBillLines(billLines(chunks(), { gzip: true }))) {
    if (entry.kind === 'row') rows.push(entry.row);
    else summary = entry.summary;
  }
  if (!isDeepStrictEqual(rows, sample)) {
    throw new Error('bill writer: parseBillLines does not read the rows back identically');
  }
  if (!isDeepStrictEqual(summary, billSummaryOf(sample))) {
    throw new Error('bill writer: parseBillLines does not read the summary back identically');
  }
}
