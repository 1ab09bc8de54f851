/**
 * Rows for COPY … FROM STDIN, encoded straight into ~256 KB buffers, in COPY's binary format
 * where every value has an exact binary form and in its text format otherwise.
 *
 * Why binary: PostgreSQL's text COPY scans every byte for delimiters and escapes and runs each
 * type's text input function (timestamps, integers); the binary format is length-prefixed
 * fields in the types' wire forms. On a Kafka bronze table (jsonb payload, two timestamptz,
 * integers, text) the server spent about a quarter less CPU per row (bench/postgres-warehouse.mjs),
 * and the client has nothing to escape. jsonb still arrives as JSON text (version byte 1 + text),
 * so the server checks it as before.
 *
 * Exactness first: a value is encoded in binary only when its binary form is exactly what the
 * text form would have stored (integers in range, doubles, booleans, text, JSON, uuids, dates,
 * timestamps with an explicit offset or `Z`, bytes). The first value that has none ends the
 * binary COPY after the rows before it, and the rest of the load goes out as text in a second
 * COPY in the same transaction (`RowCursor` keeps the place). Tables with other column types
 * (numeric, intervals, arrays) load as text from the start.
 */
import { copyField } from './postgres-values.js';

/** COPY data goes out in chunks of about this many bytes (plus room for the row that crosses it). */
export const CHUNK_BYTES = 1 << 18;
const CHUNK_SLACK = 1 << 16;

/** The rows of a bulk load, batch by batch, with the place kept between two COPY statements. */
export class RowCursor {
  private readonly it: AsyncIterator<readonly unknown[][]> | Iterator<readonly unknown[][]>;
  batch: readonly unknown[][] = [];
  /** Index in `batch` of the next row to send. */
  i = 0;
  done = false;

  constructor(batches: AsyncIterable<readonly unknown[][]> | Iterable<readonly unknown[][]>) {
    this.it = Symbol.asyncIterator in batches ? batches[Symbol.asyncIterator]() : (batches as Iterable<readonly unknown[][]>)[Symbol.iterator]();
  }

  /** True while rows are left (`batch[i]` is the next one); pulls the next batch when this one is sent. */
  async fill(): Promise<boolean> {
    while (this.i >= this.batch.length) {
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        return false;
      }
      this.batch = r.value;
      this.i = 0;
    }
    return true;
  }
}

/** A growing output buffer; chunks are handed out between rows. */
class Out {
  buf = Buffer.allocUnsafe(CHUNK_BYTES + CHUNK_SLACK);
  at = 0;

  ensure(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  take(): Buffer {
    const chunk = this.buf.subarray(0, this.at);
    this.buf = Buffer.allocUnsafe(CHUNK_BYTES + CHUNK_SLACK);
    this.at = 0;
    return chunk;
  }

  int16(v: number): void {
    this.buf.writeInt16BE(v, this.at);
    this.at += 2;
  }

  int32(v: number): void {
    this.buf.writeInt32BE(v, this.at);
    this.at += 4;
  }

  /** A field of UTF-8 text (after `prefix` bytes, e.g. jsonb's version byte). */
  text(s: string, prefix?: number): void {
    this.ensure(5 + s.length * 3);
    const start = this.at;
    this.at += 4;
    if (prefix !== undefined) this.buf[this.at++] = prefix;
    this.at += this.buf.write(s, this.at);
    this.buf.writeInt32BE(this.at - start - 4, start);
  }

  bytes(b: Uint8Array): void {
    this.ensure(4 + b.byteLength);
    this.int32(b.byteLength);
    this.buf.set(b, this.at);
    this.at += b.byteLength;
  }

  /** An int64 field from a safe integer: two's complement in two halves, no BigInt. */
  int64(v: number): void {
    this.ensure(12);
    this.int32(8);
    const hi = Math.floor(v / 0x1_0000_0000);
    this.buf.writeInt32BE(hi, this.at);
    this.buf.writeUInt32BE(v - hi * 0x1_0000_0000, this.at + 4);
    this.at += 8;
  }
}

/** Writes one non-null value as a binary field, or returns false when it has no exact binary form. */
type Encoder = (v: unknown, out: Out) => boolean;

const INT = /^-?\d{1,19}$/;
const NUMERIC = /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(?:(Z)|([+-])(\d{2})(?::?(\d{2}))?)?$/;
/** 2000-01-01, PostgreSQL's epoch for dates and timestamps, in days since 1970-01-01. */
const PG_EPOCH_DAYS = 10_957;

/** Days since 1970-01-01 of a proleptic Gregorian date, or undefined when the date does not exist. */
function civilDays(y: number, m: number, d: number): number | undefined {
  if (y < 1 || m < 1 || m > 12 || d < 1) return undefined;
  const dim = m === 2 ? (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28) : [31, 0, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
  if (d > dim) return undefined;
  // Howard Hinnant's days_from_civil.
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/**
 * Microseconds since 2000-01-01 UTC of an ISO 8601 timestamp, or undefined when it is not one
 * of the plain forms, is out of range, or (`zoned`) has no offset: PostgreSQL would read such a
 * value in the session's time zone, so it goes out as text.
 */
export function timestampMicros(s: string, zoned: boolean): number | undefined {
  const m = TIMESTAMP.exec(s);
  if (!m) return undefined;
  const hasOffset = m[8] !== undefined || m[9] !== undefined;
  if (zoned !== hasOffset) return undefined; // without a zone, an offset would be ignored by PostgreSQL: keep text's meaning
  const days = civilDays(Number(m[1]), Number(m[2]), Number(m[3]));
  const h = Number(m[4]);
  const mi = Number(m[5]);
  const sec = m[6] === undefined ? 0 : Number(m[6]);
  if (days === undefined || h > 23 || mi > 59 || sec > 59) return undefined;
  let offset = 0;
  if (m[9] !== undefined) {
    const oh = Number(m[10]);
    const om = m[11] === undefined ? 0 : Number(m[11]);
    if (oh > 15 || om > 59) return undefined;
    offset = (m[9] === '-' ? -1 : 1) * (oh * 3600 + om * 60);
  }
  const frac = m[7] === undefined ? 0 : Number(m[7].padEnd(6, '0'));
  const seconds = (days - PG_EPOCH_DAYS) * 86_400 + h * 3600 + mi * 60 + sec - offset;
  const micros = seconds * 1_000_000 + frac;
  return Number.isSafeInteger(micros) ? micros : undefined;
}

/** The text a value stands for in a text column: what text COPY would have stored. */
function textOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return undefined;
  return JSON.stringify(v);
}

function intEncoder(bytes: 2 | 4 | 8): Encoder {
  const max = bytes === 2 ? 32_767 : bytes === 4 ? 2_147_483_647 : Number.MAX_SAFE_INTEGER;
  const big = 2n ** BigInt(bytes * 8 - 1);
  return (v, out) => {
    let n: number | bigint;
    if (typeof v === 'number') {
      if (!Number.isInteger(v) || Math.abs(v) > max) return false;
      n = v;
    } else if (typeof v === 'bigint') n = v;
    else if (typeof v === 'string' && INT.test(v)) n = v.length <= 15 ? Number(v) : BigInt(v); // up to 15 digits: exact as a double
    else return false;
    if (typeof n === 'bigint') {
      if (n >= big || n < -big) return false;
      if (bytes === 8) {
        out.ensure(12);
        out.int32(8);
        out.buf.writeBigInt64BE(n, out.at);
        out.at += 8;
        return true;
      }
      n = Number(n);
    }
    if (bytes === 8) {
      out.int64(n);
      return true;
    }
    out.ensure(4 + bytes);
    out.int32(bytes);
    if (bytes === 2) out.int16(n);
    else out.int32(n);
    return true;
  };
}

const float8: Encoder = (v, out) => {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && (NUMERIC.test(v) || /^(-?Infinity|NaN)$/.test(v))) n = Number(v);
  else return false;
  out.ensure(12);
  out.int32(8);
  out.buf.writeDoubleBE(n === 0 ? 0 : n, out.at); // -0 is stored as 0, as its text form "0" was
  out.at += 8;
  return true;
};

const bool: Encoder = (v, out) => {
  if (typeof v !== 'boolean') return false;
  out.ensure(5);
  out.int32(1);
  out.buf[out.at++] = v ? 1 : 0;
  return true;
};

const text: Encoder = (v, out) => {
  const s = textOf(v);
  if (s === undefined) return false;
  out.text(s);
  return true;
};

const jsonb: Encoder = (v, out) => {
  const s = textOf(v);
  if (s === undefined) return false;
  out.text(s, 1);
  return true;
};

const uuid: Encoder = (v, out) => {
  if (typeof v !== 'string' || !UUID.test(v)) return false;
  out.bytes(Buffer.from(v.replace(/-/g, ''), 'hex'));
  return true;
};

const date: Encoder = (v, out) => {
  const m = typeof v === 'string' ? DATE.exec(v) : null;
  const days = m ? civilDays(Number(m[1]), Number(m[2]), Number(m[3])) : undefined;
  if (days === undefined) return false;
  out.ensure(8);
  out.int32(4);
  out.int32(days - PG_EPOCH_DAYS);
  return true;
};

const timestamp = (zoned: boolean): Encoder => {
  // Bronze rows repeat timestamps (a batch's load time, a producer burst's): the last one is kept.
  let lastText: string | undefined;
  let lastMicros: number | undefined;
  return (v, out) => {
    let micros: number | undefined;
    if (typeof v === 'string') {
      if (v !== lastText) {
        lastText = v;
        lastMicros = timestampMicros(v, zoned);
      }
      micros = lastMicros;
    } else if (v instanceof Date) micros = zoned && !Number.isNaN(v.getTime()) ? (v.getTime() - PG_EPOCH_DAYS * 86_400_000) * 1000 : undefined;
    if (micros === undefined) return false;
    out.int64(micros);
    return true;
  };
};

/** Blob columns take bytes, or base64 text (normalize's toLoadValue). */
const bytea: Encoder = (v, out) => {
  if (v instanceof Uint8Array) out.bytes(v);
  else if (typeof v === 'string') out.bytes(Buffer.from(v, 'base64'));
  else return false;
  return true;
};

/** Encoder factories by type OID (pg_type), called once per column: a timestamp encoder keeps its column's last value. */
const ENCODERS: ReadonlyMap<number, () => Encoder> = new Map<number, () => Encoder>([
  [16, () => bool], [21, () => intEncoder(2)], [23, () => intEncoder(4)], [20, () => intEncoder(8)], [701, () => float8],
  [25, () => text], [1043, () => text], [114, () => text], [3802, () => jsonb],
  [2950, () => uuid], [1082, () => date], [1114, () => timestamp(false)], [1184, () => timestamp(true)],
]);

/**
 * Binary encoders for columns of these type OIDs (`blob`: the column takes base64 text as bytea),
 * or undefined when one has no binary form here: the load then goes out as text.
 */
export function binaryEncoders(oids: readonly number[], blob: readonly boolean[]): Encoder[] | undefined {
  const out: Encoder[] = [];
  for (let i = 0; i < oids.length; i++) {
    const e = oids[i] === 17 ? (blob[i] ? bytea : undefined) : ENCODERS.get(oids[i]!)?.();
    if (!e) return undefined;
    out.push(e);
  }
  return out;
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * COPY binary data for the cursor's rows until it ends, or until a value has no binary form:
 * that row stays in the cursor for a text COPY. `sent.rows` counts the rows encoded.
 */
export async function* binaryChunks(cur: RowCursor, encoders: readonly Encoder[], sent: { rows: number }): AsyncGenerator<Buffer> {
  const out = new Out();
  out.buf.set(SIGNATURE, 0);
  out.at = SIGNATURE.length;
  out.int32(0); // flags
  out.int32(0); // header extension length
  const width = encoders.length;
  outer: while (await cur.fill()) {
    const batch = cur.batch;
    for (; cur.i < batch.length; cur.i++) {
      const row = batch[cur.i]!;
      const start = out.at;
      out.ensure(2 + width * 4);
      out.int16(width);
      for (let c = 0; c < width; c++) {
        const v = row[c];
        if (v === null || v === undefined) {
          out.ensure(4);
          out.int32(-1);
        } else if (!encoders[c]!(v, out)) {
          out.at = start;
          break outer;
        }
      }
      sent.rows++;
      if (out.at >= CHUNK_BYTES) yield out.take();
    }
  }
  out.ensure(2);
  out.int16(-1); // end of data
  yield out.take();
}

/** COPY text data (tab-separated, `\N` for NULL) for the rest of the cursor's rows. */
export async function* textChunks(cur: RowCursor, width: number, blob: readonly boolean[], sent: { rows: number }): AsyncGenerator<Buffer> {
  const anyBlob = blob.includes(true);
  const out = new Out();
  while (await cur.fill()) {
    const batch = cur.batch;
    for (; cur.i < batch.length; cur.i++) {
      const row = batch[cur.i]!;
      for (let i = 0; i < width; i++) {
        const v = row[i];
        // Blob values arrive as base64 text (normalize's toLoadValue), or as bytes.
        const f = copyField(anyBlob && blob[i] && typeof v === 'string' ? Buffer.from(v, 'base64') : v);
        // A UTF-16 unit takes at most 3 bytes of UTF-8; one more for the separator.
        out.ensure(f.length * 3 + 1);
        out.at += out.buf.write(f, out.at);
        out.buf[out.at++] = i === width - 1 ? 0x0a : 0x09; // newline ends the row, tab separates fields
      }
      sent.rows++;
      if (out.at >= CHUNK_BYTES) yield out.take();
    }
  }
  if (out.at > 0) yield out.take();
}
