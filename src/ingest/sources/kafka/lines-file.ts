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
import { bytesText, headersJson, POSITION_FIELDS, timestampOf } from './records.js';

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
  for (const { partition, m } of taken) {
    // The fields of positionOf, without an object per message.
    const key = m.key === null ? null : bytesText(m.key);
    const headers = headersJson(m.headers);
    const ts = timestampOf(m.timestamp);
    const prefix = `${partition}\x01${m.offset}\x01${fieldText(key)}\x01${fieldText(headers)}\x01${ts === null ? 'null' : `"${ts}"`}\x01`;
    const value = m.value ?? EMPTY;
    // A prefix is ASCII unless the key or a header holds other text: only then count its bytes.
    const ascii = key === null && headers === null;
    const need = (ascii ? prefix.length : Buffer.byteLength(prefix)) + value.length + 1;
    if (at + need > buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(buf.length * 2, at + need));
      grown.set(buf.subarray(0, at));
      buf = grown;
    }
    at += buf.write(prefix, at, ascii ? 'latin1' : 'utf8');
    // TypedArray.set, not Buffer.copy: the same memcpy without Buffer.copy's per-call checks (1M small values).
    buf.set(value, at);
    at += value.length;
    buf[at++] = 0x0a;
  }
  writeFileSync(path, buf.subarray(0, at));
  return true;
}
