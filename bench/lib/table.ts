/** The one results table, printed to the terminal and written into RESULTS.md. */
export interface Row {
  benchmark: string;
  metric: string;
  ours: string;
  tenpay: string;
  wechatpayAxios: string;
  ratio: string;
  target: string;
  met: string;
}

const HEADERS: Row = {
  benchmark: 'benchmark',
  metric: 'metric',
  ours: 'mp-pay',
  tenpay: 'tenpay',
  wechatpayAxios: 'wechatpay-axios-plugin',
  ratio: 'mp-pay ÷ tenpay',
  target: 'target',
  met: 'met',
};
const COLUMNS = Object.keys(HEADERS) as (keyof Row)[];

export function row(partial: Partial<Row> & Pick<Row, 'benchmark' | 'metric' | 'ours'>): Row {
  return { tenpay: '', wechatpayAxios: '', ratio: '', target: '', met: '', ...partial };
}

export function renderText(rows: Row[]): string {
  const widths = COLUMNS.map((c) => Math.max(...[HEADERS, ...rows].map((r) => r[c].length)));
  const line = (r: Row) => COLUMNS.map((c, i) => r[c].padEnd(widths[i] ?? 0)).join(' │ ');
  const rule = widths.map((w) => '─'.repeat(w)).join('─┼─');
  return [line(HEADERS), rule, ...rows.map(line)].join('\n');
}

export function renderMarkdown(rows: Row[]): string {
  const cells = (r: Row) => `| ${COLUMNS.map((c) => r[c].replaceAll('|', '\\|')).join(' | ')} |`;
  return [cells(HEADERS), `|${COLUMNS.map(() => '---').join('|')}|`, ...rows.map(cells)].join('\n');
}

export const fmt = {
  int: (n: number) => Math.round(n).toLocaleString('en-US'),
  ms: (n: number) => `${n.toFixed(n < 10 ? 1 : 0)} ms`,
  ratio: (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a'),
};
