/**
 * `COPY … TO STDOUT (FORMAT csv)` written straight into files of N records,
 * for warehouses that parse CSV themselves: the bytes are never decoded in
 * JavaScript. Record ends are found with native `indexOf` on each chunk (a
 * newline outside quotes; `""` inside a quoted field toggles twice), and only
 * the last record of each file is parsed, for the batch's state.
 */
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

export interface CsvFile {
  readonly path: string;
  readonly rows: number;
  /** The fields of the file's last record (NULL: unquoted empty). */
  readonly last: (string | null)[];
  /** Bytes of the file's longest record, without its newline (`CsvChunk.longestLine`). */
  readonly longestLine: number;
}

const QUOTE = 0x22;
const NL = 0x0a;
/** Bytes gathered before one write: the COPY stream comes in pieces of about 9 KB, and a write each cost more than the parse. */
const WRITE_BYTES = 4 << 20;

/** The fields of one CSV record (without its newline). */
export function parseCsvRecord(b: Buffer): (string | null)[] {
  const out: (string | null)[] = [];
  let i = 0;
  for (;;) {
    if (i < b.length && b[i] === QUOTE) {
      let text = '';
      let from = i + 1;
      for (;;) {
        const q = b.indexOf(QUOTE, from);
        if (q < 0) throw new Error('unterminated quoted CSV field');
        text += b.toString('utf8', from, q);
        if (b[q + 1] === QUOTE) {
          text += '"';
          from = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      out.push(text);
    } else {
      const comma = b.indexOf(0x2c, i);
      const end = comma < 0 ? b.length : comma;
      out.push(end === i ? null : b.toString('utf8', i, end));
      i = end;
    }
    if (i >= b.length) return out;
    i++; // the comma
    if (i === b.length) {
      out.push(null);
      return out;
    }
  }
}

/** Splits a CSV byte stream into files of `rowsPerFile` records in `dir`, yielding each once it is closed. */
export async function* csvFiles(chunks: AsyncIterable<Buffer>, dir: string, prefix: string, rowsPerFile: number): AsyncIterable<CsvFile> {
  let seq = 0;
  let file: FileHandle | undefined;
  let path = '';
  let rows = 0;
  let inQuote = false;
  /** Pieces of the current record from earlier chunks (records rarely span chunks). */
  let pieces: Buffer[] = [];
  let piecesBytes = 0;
  let longestLine = 0;
  // Where the last complete record is: kept as references, not copied (this runs once per record).
  let lastPieces: Buffer[] = [];
  let lastChunk: Buffer = Buffer.alloc(0);
  let lastStart = 0;
  let lastEnd = 0;
  const lastRecord = () => parseCsvRecord(lastPieces.length ? Buffer.concat([...lastPieces, lastChunk.subarray(lastStart, lastEnd)]) : lastChunk.subarray(lastStart, lastEnd));
  const openNext = async () => {
    path = join(dir, `${prefix}-${String(++seq).padStart(6, '0')}.csv`);
    file = await open(path, 'w');
    rows = 0;
    longestLine = 0;
  };
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const write = async (b: Buffer, force: boolean) => {
    if (b.length) {
      pending.push(b);
      pendingBytes += b.length;
    }
    if (pendingBytes >= WRITE_BYTES || pending.length >= 1024 || (force && pendingBytes)) {
      const out = pending;
      pending = [];
      pendingBytes = 0;
      await file!.writev(out);
    }
  };
  try {
    for await (const chunk of chunks) {
      if (!file) await openNext();
      let i = 0; // scan position
      let from = 0; // start of the bytes not yet written
      let recStart = 0; // start of the current record in this chunk
      let nextQuote = chunk.indexOf(QUOTE);
      while (i < chunk.length) {
        if (inQuote) {
          const q = chunk.indexOf(QUOTE, i);
          if (q < 0) break;
          inQuote = false;
          i = q + 1;
          if (nextQuote >= 0 && nextQuote < i) nextQuote = chunk.indexOf(QUOTE, i);
          continue;
        }
        const nl = chunk.indexOf(NL, i);
        if (nextQuote >= 0 && (nl < 0 || nextQuote < nl)) {
          inQuote = true;
          i = nextQuote + 1;
          nextQuote = chunk.indexOf(QUOTE, i);
          continue;
        }
        if (nl < 0) break;
        rows++;
        longestLine = Math.max(longestLine, piecesBytes + nl - recStart);
        i = nl + 1;
        lastPieces = pieces;
        lastChunk = chunk;
        lastStart = recStart;
        lastEnd = nl;
        if (rows >= rowsPerFile) {
          const last = lastRecord();
          await write(chunk.subarray(from, i), true);
          await file!.close();
          file = undefined;
          from = i;
          yield { path, rows, last, longestLine };
          await openNext();
        }
        pieces = [];
        piecesBytes = 0;
        recStart = i;
      }
      if (from < chunk.length) await write(chunk.subarray(from), false);
      if (recStart < chunk.length) {
        pieces.push(chunk.subarray(recStart));
        piecesBytes += chunk.length - recStart;
      }
    }
    if (file) {
      await write(Buffer.alloc(0), true);
      await file.close();
      file = undefined;
      if (rows > 0) {
        if (pieces.length) throw new Error('the COPY output ended inside a record');
        yield { path, rows, last: lastRecord(), longestLine };
      } else await unlink(path).catch(() => undefined);
    }
  } finally {
    await file?.close().catch(() => undefined);
  }
}
