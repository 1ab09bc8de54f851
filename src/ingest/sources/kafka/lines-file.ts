/**
 * A batch of JSON messages as one lines file for the warehouse to parse itself
 * (`RecordBatch.lines`, `JsonLinesChunk.lineFields`): per message, its position fields
 * (partition, offset, key, headers, timestamp) as JSON texts each followed by the byte 0x01,
 * then the value's bytes as they came, then `\n`. This exists because building a record per
 * message and handing each value to DuckDB one call at a time was most of a Kafka ingest.
 *
 * The file holds the values unparsed, so the warehouse sees what the record path would have
 * parsed, and where it would read a line otherwise, it refuses the batch and the loader takes
 * the records instead (duckdb-json-lines.ts). A message whose value a line cannot hold as it is
 * (a line end inside, anything but `{` first) keeps the whole batch on the record path here.
 */
import { writeFileSync } from 'node:fs';
import type { Taken } from './kafka-client.js';
import { bytesText, headersJson, isoMinute, LAST_4_DIGIT_YEAR, POSITION_FIELDS, timestampOf } from './records.js';

/** The position fields each line carries, in line order. */
export const LINE_FIELDS: readonly string[] = POSITION_FIELDS.map((f) => f.name);

/** A tombstone (null value) lands as a row of NULL data columns, as the record path's `{}` does. */
const EMPTY = Buffer.from('{}');

/** The value fits a line as it is: a JSON object's text with no line end inside. */
function fitsLine(v: Buffer): boolean {
  return v.length > 1 && v[0] === 0x7b && v.indexOf(0x0a) < 0 && v.indexOf(0x0d) < 0;
}

/** JSON text of a position value (its fields are numbers, text, or a JSON object of text). */
function fieldText(v: unknown): string {
  return v === null || v === undefined ? 'null' : typeof v === 'number' ? String(v) : JSON.stringify(v);
}

const NO_KEY_NO_HEADERS = Buffer.from('null\x01null\x01"', 'latin1');
/** The bytes of isoMinute(minute), the minute last written (timestamps of a batch are close together). */
let minute = -1;
const minuteText = Buffer.alloc(17);

/** Writes integer `n` (0 ≤ n < 2^53) as decimal digits at `at`; returns the end. */
function writeDigits(buf: Buffer, at: number, n: number): number {
  let len = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) len++;
  for (let i = at + len - 1; i >= at; i--) {
    buf[i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
  return at + len;
}

/** Writes `0 ≤ n < 10^width` with leading zeros. */
function writePadded(buf: Buffer, at: number, n: number, width: number): number {
  for (let i = at + width - 1; i >= at; i--) {
    buf[i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
  return at + width;
}

/**
 * The usual message's prefix (no key, no header, a timestamp of a 4-digit year) written byte by
 * byte, the same bytes as the general path's text: no string per message to build, encode and
 * collect (that was most of writing a batch's lines file).
 */
function writeUsualPrefix(buf: Buffer, at: number, partition: number, offset: number, ts: number): number {
  at = writeDigits(buf, at, partition);
  buf[at++] = 0x01;
  at = writeDigits(buf, at, offset);
  buf[at++] = 0x01;
  buf.set(NO_KEY_NO_HEADERS, at);
  at += NO_KEY_NO_HEADERS.length;
  const m = Math.floor(ts / 60_000);
  if (m !== minute) {
    minute = m;
    minuteText.write(isoMinute(m), 'latin1');
  }
  buf.set(minuteText, at);
  at += 17;
  const rest = ts - m * 60_000;
  at = writePadded(buf, at, Math.floor(rest / 1000), 2);
  buf[at++] = 0x2e; // .
  at = writePadded(buf, at, rest % 1000, 3);
  buf[at++] = 0x5a; // Z
  buf[at++] = 0x22; // "
  buf[at++] = 0x01;
  return at;
}

/** Room for the usual prefix: 10 digits of partition, 16 of offset, the nulls, the timestamp, separators. */
const USUAL_PREFIX_MAX = 10 + 1 + 16 + 1 + NO_KEY_NO_HEADERS.length + 17 + 9;

/**
 * Writes the messages as a lines file at `path`; false (and nothing written) when some value
 * does not fit a line, so the batch goes as records.
 */
export function writeLinesFile(path: string, taken: readonly Taken[]): boolean {
  let bytes = 0;
  for (const { m } of taken) {
    if (m.value !== null && !fitsLine(m.value)) return false;
    bytes += (m.value ?? EMPTY).length;
  }
  let buf = Buffer.allocUnsafe(bytes + taken.length * 64);
  let at = 0;
  const grow = (need: number) => {
    const grown = Buffer.allocUnsafe(Math.max(buf.length * 2, at + need));
    grown.set(buf.subarray(0, at));
    buf = grown;
  };
  for (const { partition, m } of taken) {
    const value = m.value ?? EMPTY;
    const t = m.timestamp;
    // Null without a header, and then nothing is allocated.
    const headers = headersJson(m.headers);
    if (m.key === null && headers === null && Number.isInteger(t) && t >= 0 && t <= LAST_4_DIGIT_YEAR && m.offset >= 0 && m.offset <= Number.MAX_SAFE_INTEGER) {
      if (at + USUAL_PREFIX_MAX + value.length + 1 > buf.length) grow(USUAL_PREFIX_MAX + value.length + 1);
      at = writeUsualPrefix(buf, at, partition, m.offset, t);
      buf.set(value, at);
      at += value.length;
      buf[at++] = 0x0a;
      continue;
    }
    // The fields of positionOf, without an object per message.
    const key = m.key === null ? null : bytesText(m.key);
    const ts = timestampOf(t);
    const prefix = `${partition}\x01${m.offset}\x01${fieldText(key)}\x01${fieldText(headers)}\x01${ts === null ? 'null' : `"${ts}"`}\x01`;
    // A prefix is ASCII unless the key or a header holds other text: only then count its bytes.
    const ascii = key === null && headers === null;
    const need = (ascii ? prefix.length : Buffer.byteLength(prefix)) + value.length + 1;
    if (at + need > buf.length) grow(need);
    at += buf.write(prefix, at, ascii ? 'latin1' : 'utf8');
    // TypedArray.set, not Buffer.copy: the same memcpy without Buffer.copy's per-call checks (1M small values).
    buf.set(value, at);
    at += value.length;
    buf[at++] = 0x0a;
  }
  writeFileSync(path, buf.subarray(0, at));
  return true;
}
