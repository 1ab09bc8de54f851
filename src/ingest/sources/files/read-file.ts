/**
 * Record readers for one file: CSV, NDJSON, JSON and Parquet. Each yields
 * records with their line (or row) number; rows that cannot be parsed are
 * yielded as bad records with a reason, never thrown, so one bad row cannot
 * stop the file.
 */
import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { type FileHandle, open, readFile } from 'node:fs/promises';
import { parse } from 'csv-parse';
import { normalizeName } from '../../bronze-names.js';
import type { DeclarableType, FilesStreamConfig } from './config.js';
import { readParquetRows } from './parquet.js';

export interface FileRecord {
  readonly line: number;
  readonly data?: Record<string, unknown>;
  readonly raw?: string | Uint8Array;
  readonly error?: string;
}

export function formatOf(path: string, cfg: FilesStreamConfig): 'csv' | 'ndjson' | 'json' | 'parquet' {
  if (cfg.format) return cfg.format;
  if (/\.(ndjson|jsonl)$/i.test(path)) return 'ndjson';
  if (/\.json$/i.test(path)) return 'json';
  if (/\.parquet$/i.test(path)) return 'parquet';
  return 'csv';
}

/** A CSV cell that cannot be read as its column's declared type. */
class CellError {
  constructor(readonly message: string) {}
}
type CellReader = (cell: string) => unknown;

const TRUE = new Set(['true', 't', 'yes', 'y', '1']);
const FALSE = new Set(['false', 'f', 'no', 'n', '0']);

/**
 * How a CSV cell of a declared type is read. Text stays text where the loader takes the type's
 * text form and checks it (numbers, decimals, dates, uuids: value-types.ts `fits`); spaces around a
 * value are dropped. Booleans, integers and JSON have no text form there, so they are read here.
 */
function cellReader(type: DeclarableType | undefined): CellReader | undefined {
  switch (type) {
    case undefined: case 'varchar': return undefined;
    case 'boolean': return (c) => {
      const k = c.trim().toLowerCase();
      return TRUE.has(k) ? true : FALSE.has(k) ? false : new CellError(`got ${JSON.stringify(c.slice(0, 80))} (expected true/false, t/f, yes/no or 1/0)`);
    };
    case 'integer': return (c) => {
      const t = c.trim();
      return /^[-+]?\d{1,10}$/.test(t) && Math.abs(Number(t)) <= 2147483647 ? Number(t) : new CellError(`got ${JSON.stringify(c.slice(0, 80))} (expected a whole number within ±2147483647)`);
    };
    case 'json': return (c) => {
      try {
        return JSON.parse(c);
      } catch (e) {
        return new CellError(`not JSON (${(e as Error).message})`);
      }
    };
    default: return (c) => c.trim();
  }
}

/** The declared column a CSV header names: as written, or under the name bronze gives it (`CustomerID` → `customer_id`). */
function declaredName(h: string, cfg: FilesStreamConfig): string | undefined {
  if (!cfg.columns) return undefined;
  if (h in cfg.columns) return h;
  const n = normalizeName(h);
  return Object.keys(cfg.columns).find((k) => normalizeName(k) === n);
}

async function* readCsv(path: string, cfg: FilesStreamConfig): AsyncIterable<FileRecord> {
  const skipped: FileRecord[] = [];
  const parser = createReadStream(path).pipe(
    parse({
      delimiter: cfg.delimiter,
      // Explicit: auto-detection takes the first line's ending, so later CRLF/LF lines merged or kept a stray \r.
      record_delimiter: ['\r\n', '\n', '\r'],
      // A quote inside a field is literal (`5"`, `"ab"c`): strict quoting made the parser resync inside a later
      // record and swallow the rows after it. An unclosed opening quote still runs to the end of the file.
      relax_quotes: true,
      raw: true,
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
      info: true,
      encoding: cfg.encoding === 'latin1' ? 'latin1' : 'utf8',
      skip_records_with_error: true,
      on_skip: (err: any) => {
        skipped.push({ line: err?.lines ?? 0, raw: String(err?.record ?? err?.raw ?? ''), error: `malformed CSV: ${err?.message ?? err}` });
      },
    } as any),
  );
  let header: string[] | undefined;
  /** Per column, how its text is read: by its declared type, or kept as text. */
  let cells: (CellReader | undefined)[] = [];
  /** Where the record starts in the file: the end of the one before (csv-parse counts `info.bytes` to a record's end). */
  let start = 0;
  const bytes = bytesOf(path);
  try {
  for await (const rec of parser as AsyncIterable<{ record: string[]; info: { lines: number; bytes: number } }>) {
    while (skipped.length) yield skipped.shift()!;
    const line = rec.info.lines;
    const from = start;
    start = rec.info.bytes;
    if (!header) {
      header = uniqueNames(cfg.header ? rec.record.map((h, i) => h.trim() || `col_${i + 1}`) : rec.record.map((_, i) => `col_${i + 1}`));
      cells = header.map((h) => cellReader(cfg.columns?.[declaredName(h, cfg) ?? '']));
      if (cfg.header) continue;
    }
    const raw = rec.record.join(cfg.delimiter);
    if (rec.record.length !== header.length) {
      yield { line, raw, error: `expected ${header.length} fields, got ${rec.record.length}` };
      continue;
    }
    // The decoder writes U+FFFD for bytes that are not UTF-8; the record's own bytes tell those from a
    // U+FFFD the file holds (a valid character, which lands as it is).
    if (cfg.encoding === 'utf8' && raw.includes('\uFFFD')) {
      const own = await bytes.read(from, start);
      if (!isUtf8(own)) {
        yield { line, raw: own, error: 'invalid UTF-8' };
        continue;
      }
    }
    const data: Record<string, unknown> = {};
    let error: string | undefined;
    header.forEach((h, i) => {
      const cell = rec.record[i] === '' ? null : rec.record[i]!;
      const read = cell === null ? undefined : cells[i];
      const v = read ? read(cell!) : cell;
      if (v instanceof CellError) error ??= `column '${h}' is declared ${cfg.columns![declaredName(h, cfg)!]}; ${v.message}`;
      data[h] = v;
    });
    yield error ? { line, raw, error } : { line, data };
  }
  } finally {
    await bytes.close();
  }
  while (skipped.length) yield skipped.shift()!;
}

/** A file's byte ranges, read on demand (a handle opened at the first read): rare records only. */
function bytesOf(path: string) {
  let handle: Promise<FileHandle> | undefined;
  return {
    /** Bytes `from` to `to`, without the line end that closes them. */
    async read(from: number, to: number): Promise<Uint8Array> {
      handle ??= open(path, 'r');
      const buf = Buffer.alloc(Math.max(0, to - from));
      const { bytesRead } = await (await handle).read(buf, 0, buf.length, from);
      let end = bytesRead;
      while (end > 0 && (buf[end - 1] === 0x0a || buf[end - 1] === 0x0d)) end--;
      return buf.subarray(0, end);
    },
    async close(): Promise<void> {
      if (handle) await (await handle).close();
    },
  };
}

/**
 * A header's names made unique as DuckDB's CSV reader does (`id, id` → `id, id_1`): a repeated name
 * would otherwise keep only its last column's values.
 */
export function uniqueNames(names: readonly string[]): string[] {
  const seen = new Set<string>();
  return names.map((n) => {
    let name = n;
    // Case-insensitively: warehouses fold case (DuckDB's `Id` and `id` are one column).
    for (let k = 1; seen.has(name.toLowerCase()); k++) name = `${n}_${k}`;
    seen.add(name.toLowerCase());
    return name;
  });
}

/** Not blank: some byte other than JSON whitespace (space, tab). A line of NBSP (0xA0) is a record, and a bad one. */
function hasContent(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0x20 && b[i] !== 0x09) return true;
  return false;
}

/**
 * Lines split on the bytes themselves (`\n`, `\r\n` or a lone `\r`, as readline does) and handed on
 * undecoded, so invalid UTF-8 fails one line only; normalize decodes them. Lines are views into the
 * read chunks, not copies (a line that spans chunks is joined once). Yields the records of each read
 * chunk together: one await per chunk instead of one per line.
 */
async function* readNdjson(path: string, cfg: FilesStreamConfig): AsyncIterable<FileRecord[]> {
  let line = 0;
  let carry: Buffer[] = [];
  let afterCR = false; // the previous chunk ended with \r: a leading \n completes that line break
  const latin1 = cfg.encoding === 'latin1';
  const record = (bytes: Buffer): FileRecord => ({ line, raw: latin1 ? bytes.toString('latin1') : bytes });
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    const out: FileRecord[] = [];
    let start = afterCR && chunk[0] === 0x0a ? 1 : 0;
    afterCR = false;
    // indexOf is native and fast; the next \r is searched again only once passed (most files have none).
    let cr = chunk.indexOf(0x0d, start);
    for (;;) {
      let i = chunk.indexOf(0x0a, start);
      if (cr >= 0 && cr < start) cr = chunk.indexOf(0x0d, start);
      if (cr >= 0 && (i < 0 || cr < i)) i = cr;
      if (i < 0) break;
      const c = chunk[i];
      const part = chunk.subarray(start, i);
      const bytes = carry.length ? Buffer.concat([...carry, part]) : part;
      carry = [];
      line++;
      if (hasContent(bytes)) out.push(record(bytes));
      if (c === 0x0d) {
        if (i + 1 === chunk.length) afterCR = true;
        else if (chunk[i + 1] === 0x0a) i++;
      }
      start = i + 1;
    }
    if (start < chunk.length) carry.push(chunk.subarray(start));
    if (out.length) yield out;
  }
  if (carry.length) {
    line++;
    const bytes = Buffer.concat(carry);
    if (hasContent(bytes)) yield [record(bytes)];
  }
}

async function* readJson(path: string, cfg: FilesStreamConfig): AsyncIterable<FileRecord> {
  const bytes = await readFile(path);
  // One document: bytes that are not UTF-8 make the whole file one dead letter, as a bad line does in NDJSON
  // (decoded as it is, they would land as U+FFFD).
  const text = bytes.toString(cfg.encoding === 'latin1' ? 'latin1' : 'utf8');
  if (cfg.encoding !== 'latin1' && !isUtf8(bytes)) {
    yield { line: 1, raw: bytes, error: "invalid UTF-8 (set encoding: 'latin1' for a Latin-1 file)" };
    return;
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    yield { line: 1, raw: text, error: `malformed JSON: ${(e as Error).message}` };
    return;
  }
  const items = Array.isArray(v) ? v : [v];
  let i = 0;
  for (const item of items) {
    i++;
    if (item && typeof item === 'object' && !Array.isArray(item)) yield { line: i, data: item as Record<string, unknown> };
    else yield { line: i, raw: JSON.stringify(item), error: 'expected a JSON object' };
  }
}

async function* readParquet(path: string): AsyncIterable<FileRecord> {
  let i = 0;
  for await (const row of readParquetRows(path)) yield { line: ++i, data: row };
}

/** The file's records, in chunks (one per read for NDJSON; up to 1000 for the other formats). */
export async function* readRecordChunks(path: string, cfg: FilesStreamConfig): AsyncIterable<FileRecord[]> {
  const format = formatOf(path, cfg);
  if (format === 'ndjson') {
    yield* readNdjson(path, cfg);
    return;
  }
  let out: FileRecord[] = [];
  for await (const r of format === 'json' ? readJson(path, cfg) : format === 'parquet' ? readParquet(path) : readCsv(path, cfg)) {
    out.push(r);
    if (out.length >= 1000) {
      yield out;
      out = [];
    }
  }
  if (out.length) yield out;
}
