/**
 * Kafka message → SourceRecord. The value becomes the record (per
 * value_format); partition, offset, key, headers and timestamp become its
 * position, which the bronze writer lands as `_smelt_partition`,
 * `_smelt_offset`, `_smelt_key`, `_smelt_headers` and `_smelt_timestamp`.
 */
import type { SourceRecord, StreamColumn } from '../../source.js';
import type { KafkaConfig } from './config.js';
import type { FetchedMessage } from './kafka-client.js';

export const POSITION_FIELDS: readonly StreamColumn[] = [
  { name: 'partition', type: 'integer' },
  { name: 'offset', type: 'bigint' },
  { name: 'key', type: 'varchar' },
  { name: 'headers', type: 'json' },
  { name: 'timestamp', type: 'timestamptz' },
];

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 text, or `base64:<…>` for bytes that are not valid UTF-8. */
export function bytesText(b: Buffer | string | null | undefined): string | null {
  if (b === null || b === undefined) return null;
  if (typeof b === 'string') return b;
  try {
    return utf8.decode(b);
  } catch {
    return `base64:${b.toString('base64')}`;
  }
}

export function headersJson(h: FetchedMessage['headers']): Record<string, string | null | (string | null)[]> | null {
  if (!h) return null;
  // for…in rather than Object.keys: most messages have no header, and then nothing is allocated.
  let out: Record<string, string | null | (string | null)[]> | null = null;
  for (const k in h) {
    if (!Object.hasOwn(h, k)) continue;
    const v = h[k];
    out ??= {};
    out[k] = Array.isArray(v) ? v.map((x) => bytesText(x)) : bytesText(v ?? null);
  }
  return out;
}

// Timestamps of one partition are close together: the ISO text of the minute last seen is kept, and a
// timestamp within it is that text plus its seconds and milliseconds (toISOString per message was
// most of the cost of writing a Kafka batch's lines file).
let minute = -1;
let minuteIso = '';

/** `YYYY-MM-DDTHH:MM:` of minute `m` (ms since the epoch / 60,000), as toISOString writes it; the last one is kept. */
export function isoMinute(m: number): string {
  if (m !== minute) {
    minute = m;
    minuteIso = new Date(m * 60_000).toISOString().slice(0, 17);
  }
  return minuteIso;
}

/** Latest timestamp toISOString writes as `YYYY-…Z` (later years get a sign and six digits). */
export const LAST_4_DIGIT_YEAR = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** A message timestamp (ms since the epoch) as ISO 8601 text, exactly as `Date.toISOString()` writes it; null when there is none. */
export function timestampOf(ms: number): string | null {
  if (!Number.isFinite(ms) || ms < 0 || ms > 8.64e15) return null;
  if (!Number.isInteger(ms) || ms > LAST_4_DIGIT_YEAR) return new Date(ms).toISOString();
  const m = Math.floor(ms / 60_000);
  const rest = ms - m * 60_000;
  const sec = Math.floor(rest / 1000);
  const milli = rest - sec * 1000;
  return `${isoMinute(m)}${sec < 10 ? '0' : ''}${sec}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

export function positionOf(partition: number, m: FetchedMessage): Record<string, unknown> {
  return { partition, offset: m.offset, key: bytesText(m.key), headers: headersJson(m.headers), timestamp: timestampOf(m.timestamp) };
}

export function toSourceRecord(partition: number, m: FetchedMessage, format: KafkaConfig['value_format']): SourceRecord {
  const position = positionOf(partition, m);
  const v = m.value;
  switch (format) {
    case 'json':
      // A tombstone (null value) lands as a row with only its key and metadata.
      if (v === null) return { data: {}, position };
      // Raw bytes: the normalizer parses them and dead-letters malformed JSON, invalid UTF-8 and oversized values.
      return { raw: v, position };
    case 'string': {
      if (v === null) return { data: { value: null }, position };
      try {
        return { data: { value: utf8.decode(v) }, position };
      } catch {
        return { raw: v, error: 'invalid UTF-8', position };
      }
    }
    case 'bytes':
      return { data: { value: v === null ? null : v.toString('base64') }, position };
  }
}

/** A dead letter for offsets that retention removed before smelt read them. */
export function gapRecord(partition: number, from: bigint, to: bigint): SourceRecord {
  return {
    raw: '',
    error: `offsets ${from}..${to - 1n} of partition ${partition} were deleted by the topic's retention before smelt read them (${to - from} records lost)`,
    position: { partition, offset: Number(from), key: null, headers: null, timestamp: null },
  };
}
