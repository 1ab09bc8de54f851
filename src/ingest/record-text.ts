/**
 * A record's text on its way into normalize: the bounded payload kept with a dead letter, the size
 * and UTF-8 checks, the JSON parse, the unparsed pass-through for warehouses that check JSON
 * themselves, and the NUL check for warehouses whose text cannot hold it.
 */
import { isUtf8 } from 'node:buffer';
import type { LogicalType } from '../core/types.js';
import { exactJson, isJsonSpace } from './exact-json.js';
import type { SourceRecord } from './source.js';

/** Bytes of a raw payload kept with a dead letter. */
export const PAYLOAD_BOUND = 16 * 1024;

export function payloadText(r: SourceRecord): string {
  let text: string;
  if (r.raw instanceof Uint8Array) text = isUtf8(r.raw) ? Buffer.from(r.raw).toString('utf8') : shownBytes(r.raw);
  else if (typeof r.raw === 'string') text = r.raw;
  else text = JSON.stringify(r.data ?? null, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) ?? '';
  return text.length > PAYLOAD_BOUND ? `${text.slice(0, PAYLOAD_BOUND)}…[truncated ${text.length - PAYLOAD_BOUND} chars]` : text;
}

/** Length of the well-formed UTF-8 sequence at `i` (Unicode's table 3-7: no overlong form, no surrogate, nothing past U+10FFFF), or 0. */
function utf8SequenceAt(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const [lo, hi] = c === 0xe0 ? [0xa0, 0xbf] : c === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const [lo, hi] = c === 0xf0 ? [0x90, 0xbf] : c === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/**
 * Bytes that are not all UTF-8, as text a dead letter can keep: the well-formed stretches decoded,
 * every other byte written `\xNN`. Decoded as UTF-8, those bytes would all read U+FFFD, and whoever
 * looks into the dead letter could not tell a Latin-1 `é` (`\xE9`) from a cut-off character.
 */
export function shownBytes(b: Uint8Array): string {
  let out = '';
  let run = 0;
  for (let i = 0; i < b.length;) {
    const n = utf8SequenceAt(b, i);
    if (n) {
      i += n;
      continue;
    }
    out += Buffer.from(b.buffer, b.byteOffset + run, i - run).toString('utf8') + `\\x${b[i]!.toString(16).toUpperCase().padStart(2, '0')}`;
    run = ++i;
  }
  return out + Buffer.from(b.buffer, b.byteOffset + run, b.length - run).toString('utf8');
}

/** A raw record's text, or why it has none: too large, or not UTF-8. */
function recordText(raw: string | Uint8Array, maxBytes: number): { text: string } | { error: string } {
  // A string's UTF-8 form is at most 3 bytes per UTF-16 unit: most records need no count.
  const size = typeof raw === 'string' ? (raw.length * 3 <= maxBytes ? 0 : Buffer.byteLength(raw)) : raw.byteLength;
  if (size > maxBytes) return { error: `record of ${size} bytes exceeds max_record_bytes (${maxBytes})` };
  if (typeof raw === 'string') return { text: raw };
  if (!isUtf8(raw)) return { error: 'invalid UTF-8' };
  const text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
  // A leading byte order mark is not part of the record (as TextDecoder reads it).
  return { text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text };
}

/**
 * Parses raw text/bytes as a JSON object (with the text it parsed). Returns an error string on
 * failure. `exact`: numbers must keep their value (typed landing); raw landing keeps the text.
 */
export function parseRecord(r: SourceRecord, maxBytes: number, exact = true): { data?: Record<string, unknown>; text?: string; error?: string } {
  if (r.error) return { error: r.error };
  if (r.data) return { data: r.data };
  if (r.raw === undefined) return { error: 'empty record' };
  const t = recordText(r.raw, maxBytes);
  if ('error' in t) return t;
  try {
    const v = JSON.parse(t.text);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return { error: `expected a JSON object, got ${Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v}` };
    if (!exact) return { data: v, text: t.text };
    const x = exactJson(t.text, v);
    return 'error' in x ? x : { data: x.value as Record<string, unknown>, text: t.text };
  } catch (e) {
    return { error: `malformed JSON: ${(e as Error).message}` };
  }
}

/**
 * A raw record's JSON text, handed on unparsed, when it passes the cheap checks: within
 * max_record_bytes, valid UTF-8, `{…}` on the outside, no `\u0000`. The warehouse then checks
 * the JSON itself as it loads it (`validatesJson`); a batch it refuses is normalized again,
 * parsed (BronzeWriter.load). Undefined sends the record down the parsing path.
 */
export function passText(r: SourceRecord, maxBytes: number, rejectsNul: boolean): string | undefined {
  if (r.error || r.data || r.raw === undefined) return undefined;
  const t = recordText(r.raw, maxBytes);
  if ('error' in t) return undefined;
  const text = t.text;
  let a = 0;
  let b = text.length - 1;
  while (a <= b && isJsonSpace(text.charCodeAt(a))) a++;
  while (b > a && isJsonSpace(text.charCodeAt(b))) b--;
  if (text.charCodeAt(a) !== 0x7b || text.charCodeAt(b) !== 0x7d) return undefined;
  if (rejectsNul && text.includes('\\u0000')) return undefined;
  return text;
}

/** `\u0000` in JSON text (not an escaped backslash followed by `u0000`). */
const JSON_NUL = /(?<!\\)(?:\\\\)*\\u0000/;

/** Why a row cannot be stored where text holds no NUL, or undefined. */
export function nulError(row: readonly unknown[], columns: readonly { name: string; type: LogicalType }[]): string | undefined {
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (typeof v !== 'string') continue;
    const t = columns[i]?.type;
    if (t === 'json' ? JSON_NUL.test(v) : v.includes('\0')) {
      return `column '${columns[i]?.name}' holds the NUL character (\\u0000), which the warehouse cannot store in ${t === 'json' ? 'JSON' : 'text'}`;
    }
  }
  return undefined;
}

/** A JSON escape: `\uXXXX` (with its code unit) or a one-character escape such as `\\`, which must not start one. */
const JSON_ESCAPE = /\\(?:u([0-9a-fA-F]{4})|[^u])/g;

/**
 * Why a JSON text (one JSON.parse accepted) holds a string that is not Unicode text: an escaped
 * UTF-16 surrogate without its pair, such as `"\ud800"`. Undefined when there is none.
 */
export function unpairedSurrogateError(text: string): string | undefined {
  if (!/\\u[dD][89a-fA-F]/.test(text)) return undefined; // the usual record: no surrogate escape at all
  let high: string | undefined;
  let end = -1;
  for (const m of text.matchAll(JSON_ESCAPE)) {
    const unit = m[1] === undefined ? -1 : parseInt(m[1], 16);
    const low = unit >= 0xdc00 && unit <= 0xdfff;
    if (high !== undefined && !(low && m.index === end)) break;
    if (high !== undefined) high = undefined;
    else if (low) return unpaired(m[1]!);
    else if (unit >= 0xd800 && unit <= 0xdbff) high = m[1];
    end = m.index + m[0].length;
  }
  return high === undefined ? undefined : unpaired(high);
}

const unpaired = (unit: string) =>
  `unpaired surrogate escape \\u${unit} in a JSON string: not Unicode text, and the warehouse's JSON type refuses it`;
