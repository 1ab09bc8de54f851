/**
 * The type rules of typed landing: the type a value implies for a new column, whether a value fits
 * an existing column's type without a lossy or surprising conversion, and the form a bulk load takes.
 * `duckdb-json-lines.ts` mirrors these rules in SQL (and its test holds the two together).
 */
import type { LogicalType } from '../core/types.js';
import { stringifyWithBigInts } from './exact-json.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const NUMERIC = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/** Bronze's decimal is DECIMAL(38, 9): 29 digits before the point. A larger value fails the whole load in DuckDB. */
const DECIMAL_LIMIT = 1e29;
const DECIMAL_LIMIT_N = 10n ** 29n;
/** …and 9 after it: DuckDB and PostgreSQL would round a value with more places, silently. */
const DECIMAL_SCALE = 9;

/**
 * The places after the point numeric text needs to be held exactly: `1.50` → 1, `12e-3` → 3,
 * `120e-10` → 9, `1.5e2` → 0. Counted from the digits, so no value is rounded to count them.
 */
export function decimalPlaces(text: string): number {
  const m = /^[-+]?(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?$/.exec(text);
  if (!m) return 0;
  const all = m[1]! + (m[2] ?? '');
  const significant = all.replace(/0+$/, '');
  if (!/[1-9]/.test(significant)) return 0; // zero, however it is written
  return Math.max(0, (m[2]?.length ?? 0) - Number(m[3] ?? 0) - (all.length - significant.length));
}

/** Within DECIMAL(38, 9): 29 digits before the point, 9 after it. */
const decimalTextFits = (v: string) => Math.abs(Number(v)) < DECIMAL_LIMIT && decimalPlaces(v) <= DECIMAL_SCALE;

export function inferValueType(v: unknown): LogicalType {
  if (typeof v === 'boolean') return 'boolean';
  // An integer JSON held past 2^63 (parsed exactly as BigInt) fits a decimal, and past that only a double.
  if (typeof v === 'bigint') return v >= INT64_MIN && v <= INT64_MAX ? 'bigint' : (v < 0n ? -v : v) < DECIMAL_LIMIT_N ? 'decimal' : 'double';
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) < 2 ** 63 ? 'bigint' : 'double';
  if (v instanceof Date) return 'timestamptz';
  if (v instanceof Uint8Array) return 'blob';
  if (typeof v === 'object') return 'json';
  return 'varchar';
}

/**
 * Text that starts with a real calendar day (`2024-02-29`, not `2024-02-30`). Date.parse rolls an
 * impossible day over into the next month, and the warehouse would refuse it for the whole batch.
 */
function isCalendarDate(v: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(v);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  return mo >= 1 && mo <= 12 && d >= 1 && d <= (mo === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(mo) ? 30 : 31);
}

/**
 * Timestamp text as Date.parse reads it: a `T` between date and time, and an offset of hours alone
 * (`+00`, `-05`, as PostgreSQL writes timestamptz) given its minutes, which Date.parse requires
 * and the warehouses do not.
 */
const isoForParse = (v: string) => v.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00');

/**
 * Does `v` fit a column of type `t` without a lossy or surprising conversion? `declared`: the source
 * declares the column's type, and text is then its wire form (PostgreSQL's int8 and numeric, dates).
 * A column inferred from JSON takes no text for a number: `"01234"` would land as 1234, so such a
 * value goes to a variant column (or a dead letter) and the change is recorded.
 */
export function fits(v: unknown, t: LogicalType, declared = true): boolean {
  if (!declared && typeof v === 'string' && t !== 'varchar' && t !== 'json') return false;
  switch (t) {
    case 'boolean': return typeof v === 'boolean';
    case 'integer': return (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= 2147483647) || (typeof v === 'bigint' && v <= 2147483647n && v >= -2147483648n);
    case 'bigint': return (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 2 ** 63) || (typeof v === 'bigint' && v >= INT64_MIN && v <= INT64_MAX) || (typeof v === 'string' && /^-?\d{1,19}$/.test(v) && BigInt(v) <= INT64_MAX && BigInt(v) >= INT64_MIN);
    case 'double': return typeof v === 'number' || (typeof v === 'string' && NUMERIC.test(v));
    // A number by its shortest text (String(1.5e-10) is "1.5e-10"): the digits it was written with.
    case 'decimal': return (typeof v === 'number' && Number.isFinite(v) && decimalTextFits(String(v))) || (typeof v === 'bigint' && (v < 0n ? -v : v) < DECIMAL_LIMIT_N) || (typeof v === 'string' && NUMERIC.test(v) && decimalTextFits(v));
    case 'date': case 'timestamp': case 'timestamptz':
      return v instanceof Date || (typeof v === 'string' && isCalendarDate(v) && !Number.isNaN(Date.parse(v.length === 10 ? v : isoForParse(v))));
    case 'uuid': return typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v);
    case 'blob': return v instanceof Uint8Array;
    case 'json': return true;
    case 'varchar': return typeof v === 'string';
    default: return true;
  }
}

/**
 * Why a value of the right kind still does not fit `t`, for a dead letter's reason: the limit it
 * passes and what to declare instead. Empty when it is simply of another kind.
 */
export function misfitHint(v: unknown, t: LogicalType): string {
  if (t !== 'decimal' || !(typeof v === 'number' || (typeof v === 'string' && NUMERIC.test(v)))) return '';
  const text = String(v);
  if (decimalPlaces(text) > DECIMAL_SCALE) return ` (${decimalPlaces(text)} places after the point; a decimal column holds ${DECIMAL_SCALE} and would round it: declare it double or varchar)`;
  if (Math.abs(Number(text)) >= DECIMAL_LIMIT) return ' (more than 29 digits before the point: declare it double or varchar)';
  return '';
}

/** Converts a fitting value into what a bulk load accepts (text for most, JSON text for objects). */
export function toLoadValue(v: unknown, t: LogicalType): unknown {
  if (v === null || v === undefined) return null;
  if (t === 'json') return typeof v === 'string' ? JSON.stringify(v) : toJsonText(v);
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  return v;
}

/** A database row with bytes in it (bytea, BLOB): their own toJSON writes `{"type":"Buffer","data":[…]}`. */
const holdsBytes = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).some((x) => x instanceof Uint8Array);

/** Bytes as base64 (as typed landing stores them). `this[k]` is the value before its toJSON. */
function bytesReplacer(this: Record<string, unknown>, k: string, x: unknown): unknown {
  const raw = this[k];
  return raw instanceof Uint8Array ? Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') : x;
}

/**
 * JSON text of a value; a replacer only when needed (bytes), as it makes JSON.stringify several
 * times slower. A BigInt (an integer JSON held past 2^53, a database's int8) is written as its
 * digits, a JSON number.
 */
function toJsonText(v: unknown): string {
  try {
    return holdsBytes(v) ? JSON.stringify(v, bytesReplacer) : JSON.stringify(v);
  } catch (e) {
    if (!(e instanceof TypeError) || !/BigInt/i.test(e.message)) throw e;
    return stringifyWithBigInts(v, bytesReplacer);
  }
}
