import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { BillFormatError } from './types.ts';

/** A bill line longer than this is not a bill (a row is a few hundred bytes); it caps memory on hostile input. */
export const MAX_BILL_LINE_BYTES = 64 * 1024;

/**
 * Bytes → lines, streaming: optional gunzip (`tar_type=GZIP` bills are one gzip member of the text), UTF-8
 * decoding across chunk boundaries, `\n` or `\r\n` line ends, the UTF-8 BOM some bills start with dropped.
 * A trailing empty line is not yielded.
 */
export async function* billLines(
  source: AsyncIterable<Uint8Array>,
  options: { gzip?: boolean } = {},
): AsyncGenerator<string> {
  const input = Readable.from(source, { objectMode: false });
  const stream: AsyncIterable<Buffer> = options.gzip ? input.pipe(createGunzip()) : input;
  if (options.gzip) input.on('error', (err) => (stream as Readable).destroy(err));
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let pending = '';
  let first = true;
  let lineNo = 0;
  const emit = (line: string): string => {
    lineNo += 1;
    let out = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (first) {
      out = out.replace(/^\uFEFF/, '');
      first = false;
    }
    return out;
  };
  for await (const chunk of stream) {
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      throw new BillFormatError(lineNo + 1, 'not UTF-8 text');
    }
    const parts = (pending + text).split('\n');
    pending = parts.pop() ?? '';
    for (const part of parts) yield emit(part);
    if (pending.length > MAX_BILL_LINE_BYTES) throw new BillFormatError(lineNo + 1, 'line too long');
  }
  try {
    pending += decoder.decode();
  } catch {
    throw new BillFormatError(lineNo + 1, 'not UTF-8 text');
  }
  if (pending !== '') yield emit(pending);
}
