/**
 * PostgreSQL values → smelt's JSON-safe row values, matching what the DuckDB
 * adapter returns so that the same model gives the same JSON on both engines:
 *
 * - int2/int4 → number; int8 → number when safe, else string
 * - numeric → number when it fits losslessly (≤ 15 significant digits), else the exact string
 * - float4/float8 → number (NaN/±Infinity included, as DuckDB does)
 * - date → 'YYYY-MM-DD'; timestamp → 'YYYY-MM-DD HH:MM:SS[.ffffff]'; timestamptz → the same
 *   plus the offset ('…+00'), in the session time zone (the machine's, as DuckDB)
 * - json/jsonb → the JSON text (DuckDB returns JSON columns as text); jsonb's text is
 *   compacted (no spaces between tokens), as DuckDB's JSON functions print it
 * - bytea → DuckDB's BLOB text form (printable ASCII as is, other bytes as \xHH)
 * - interval → { months, days, micros } (micros as a string), DuckDB's JSON form
 * - arrays → JS arrays of normalized elements; anything else → PostgreSQL's text
 *
 * Rows arrive as text (every type parser is the identity) and are converted here.
 */
import type { LogicalType } from '../../../core/types.js';

/** Built-in type OIDs we handle specially. */
export const OID = {
  bool: 16, bytea: 17, char: 18, name: 19, int8: 20, int2: 21, int4: 23, text: 25, oid: 26,
  json: 114, xml: 142, float4: 700, float8: 701, unknown: 705, money: 790, bpchar: 1042, varchar: 1043,
  date: 1082, time: 1083, timestamp: 1114, timestamptz: 1184, interval: 1186, timetz: 1266,
  bit: 1560, varbit: 1562, numeric: 1700, uuid: 2950, jsonb: 3802, record: 2249,
} as const;

/** What we know about a type: how to name it, its logical type, how to read its text. */
export interface PgTypeInfo {
  /** Name for display and DDL (`INTEGER`, `NUMERIC`, `my_enum`); typmods are added by typeName(). */
  readonly name: string;
  /** The OID whose value handling applies (the type itself, or a domain's base type). */
  readonly base: number;
  /** For arrays: the element type. */
  readonly elem?: number;
  /** Enum labels read as text. */
  readonly isEnum?: boolean;
}

const B = (name: string, oid: number): [number, PgTypeInfo] => [oid, { name, base: oid }];

/** Built-in scalar types, named as DuckDB would name the equivalent (PostgreSQL accepts these spellings). */
const BUILTIN = new Map<number, PgTypeInfo>([
  B('BOOLEAN', OID.bool), B('BYTEA', OID.bytea), B('"CHAR"', OID.char), B('NAME', OID.name), B('BIGINT', OID.int8),
  B('SMALLINT', OID.int2), B('INTEGER', OID.int4), B('TEXT', OID.text), B('OID', OID.oid), B('JSON', OID.json),
  B('XML', OID.xml), B('REAL', OID.float4), B('DOUBLE PRECISION', OID.float8), B('TEXT', OID.unknown), B('MONEY', OID.money),
  B('CHAR', OID.bpchar), B('VARCHAR', OID.varchar), B('DATE', OID.date), B('TIME', OID.time), B('TIMESTAMP', OID.timestamp),
  B('TIMESTAMP WITH TIME ZONE', OID.timestamptz), B('INTERVAL', OID.interval), B('TIME WITH TIME ZONE', OID.timetz),
  B('BIT', OID.bit), B('BIT VARYING', OID.varbit), B('NUMERIC', OID.numeric), B('UUID', OID.uuid), B('JSONB', OID.jsonb),
  B('RECORD', OID.record),
]);

/** Built-in array types → element type. */
const BUILTIN_ARRAYS: [number, number][] = [
  [1000, OID.bool], [1001, OID.bytea], [1002, OID.char], [1003, OID.name], [1005, OID.int2], [1007, OID.int4], [1009, OID.text],
  [1028, OID.oid], [1014, OID.bpchar], [1015, OID.varchar], [1016, OID.int8], [1021, OID.float4], [1022, OID.float8],
  [1115, OID.timestamp], [1182, OID.date], [1183, OID.time], [1185, OID.timestamptz], [1187, OID.interval], [1231, OID.numeric],
  [1270, OID.timetz], [2951, OID.uuid], [199, OID.json], [3807, OID.jsonb], [143, OID.xml], [791, OID.money],
];
for (const [arr, elem] of BUILTIN_ARRAYS) BUILTIN.set(arr, { name: `${BUILTIN.get(elem)!.name}[]`, base: arr, elem });

export const builtinType = (oid: number): PgTypeInfo | undefined => BUILTIN.get(oid);

/** The type's name with its modifier, e.g. `NUMERIC(10,2)`, `VARCHAR(20)`, `TIMESTAMP(3)`, `INTEGER[]`. */
export function typeName(info: PgTypeInfo | undefined, typmod: number, oid: number): string {
  if (!info) return `UNKNOWN(${oid})`;
  if (info.elem !== undefined) return info.name;
  if (typmod < 0) return info.name;
  switch (info.base) {
    case OID.numeric: {
      const m = typmod - 4;
      const scale = ((m & 0x7ff) ^ 1024) - 1024; // 11-bit signed since PostgreSQL 15
      return `${info.name}(${(m >> 16) & 0xffff},${scale})`;
    }
    case OID.varchar: case OID.bpchar:
      return `${info.name}(${typmod - 4})`;
    case OID.timestamp: case OID.time: return `${info.name}(${typmod})`;
    case OID.timestamptz: return `TIMESTAMP(${typmod}) WITH TIME ZONE`;
    case OID.timetz: return `TIME(${typmod}) WITH TIME ZONE`;
    case OID.bit: case OID.varbit: return `${info.name}(${typmod})`;
    default: return info.name;
  }
}

/** smelt's engine-neutral type for a PostgreSQL type. */
export function logicalTypeOf(info: PgTypeInfo | undefined): LogicalType {
  if (!info) return 'other';
  if (info.elem !== undefined) return 'other';
  if (info.isEnum) return 'varchar';
  switch (info.base) {
    case OID.bool: return 'boolean';
    case OID.int2: case OID.int4: return 'integer';
    case OID.int8: case OID.oid: return 'bigint';
    case OID.float4: case OID.float8: return 'double';
    case OID.numeric: return 'decimal';
    case OID.text: case OID.varchar: case OID.bpchar: case OID.name: case OID.char: case OID.unknown: return 'varchar';
    case OID.date: return 'date';
    case OID.timestamp: return 'timestamp';
    case OID.timestamptz: return 'timestamptz';
    case OID.json: case OID.jsonb: return 'json';
    case OID.uuid: return 'uuid';
    case OID.bytea: return 'blob';
    default: return 'other';
  }
}

/** Number of digits that matter: no sign, point, leading zeros or trailing fractional zeros. */
function significantDigits(v: string): number {
  let s = v.replace(/^[-+]/, '');
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s.replace('.', '').replace(/^0+/, '').length;
}

/**
 * numeric → number when lossless. A declared NUMERIC(p,s) uses exactly DuckDB's
 * DECIMAL rule (all printed digits count), so equal column types give equal JSON;
 * an unconstrained numeric (SUM, AVG…) counts significant digits only.
 */
export function numericValue(v: string, declared: boolean): number | string {
  const n = Number(v);
  if (!Number.isFinite(n)) return v;
  const digits = declared ? v.replace(/[-.]/g, '').replace(/^0+/, '').length : significantDigits(v);
  return digits <= 15 ? n : v;
}

/** jsonb prints `{"a": 1, "b": [1, 2]}`; DuckDB's JSON text is `{"a":1,"b":[1,2]}`. Drops whitespace outside strings, losslessly. */
export function compactJson(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      out += ch;
      if (ch === '\\') out += text[++i] ?? '';
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
      out += ch;
    } else if (ch !== ' ' && ch !== '\n' && ch !== '\t' && ch !== '\r') out += ch;
  }
  return out;
}

/** bytea hex text (`\x00ff61`) → DuckDB's BLOB text (`\x00\xFFa`). */
export function byteaValue(text: string): string {
  if (!text.startsWith('\\x')) return text; // bytea_output = escape: already text
  let out = '';
  for (let i = 2; i + 1 < text.length; i += 2) {
    const b = parseInt(text.slice(i, i + 2), 16);
    const regular = b >= 32 && b <= 126 && b !== 0x5c && b !== 0x27 && b !== 0x22;
    out += regular ? String.fromCharCode(b) : `\\x${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** `1 year 2 mons 3 days 04:05:06.5` (IntervalStyle postgres) → DuckDB's `{ months, days, micros }`. */
export function intervalValue(text: string): { months: number; days: number; micros: string } | string {
  let months = 0;
  let days = 0;
  let micros = 0n;
  let rest = text.trim();
  const unit = /^([+-]?\d+) (years|year|mons|mon|days|day)\s*/;
  for (let m = unit.exec(rest); m; m = unit.exec(rest)) {
    const n = Number(m[1]);
    if (m[2]!.startsWith('year')) months += n * 12;
    else if (m[2]!.startsWith('mon')) months += n;
    else days += n;
    rest = rest.slice(m[0].length);
  }
  if (rest) {
    const t = /^([+-])?(\d+):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(rest);
    if (!t) return text;
    const us = ((BigInt(t[2]!) * 60n + BigInt(t[3]!)) * 60n + BigInt(t[4]!)) * 1_000_000n + BigInt((t[5] ?? '').padEnd(6, '0') || '0');
    micros = t[1] === '-' ? -us : us;
  }
  return { months, days, micros: micros.toString() };
}

/**
 * Parses an array literal (`{1,2}`, `{"a b",NULL,"x\\"y"}`, `{{1,2},{3,4}}`,
 * `[0:1]={1,2}`) into nested arrays; `convert` turns each element's text (or null).
 */
export function parseArray(text: string, convert: (entry: string | null) => unknown): unknown[] {
  let i = text.startsWith('[') ? text.indexOf('=') + 1 : 0; // skip explicit bounds
  const parseLevel = (): unknown[] => {
    const out: unknown[] = [];
    i++; // '{'
    while (i < text.length) {
      const ch = text[i];
      if (ch === '}') {
        i++;
        return out;
      }
      if (ch === ',') {
        i++;
        continue;
      }
      if (ch === '{') {
        out.push(parseLevel());
        continue;
      }
      if (ch === '"') {
        let s = '';
        i++;
        while (i < text.length && text[i] !== '"') {
          if (text[i] === '\\') i++;
          s += text[i++];
        }
        i++; // closing quote
        out.push(convert(s));
        continue;
      }
      let j = i;
      while (j < text.length && text[j] !== ',' && text[j] !== '}') j++;
      const raw = text.slice(i, j).trim();
      out.push(raw === 'NULL' ? convert(null) : convert(raw));
      i = j;
    }
    return out;
  };
  return parseLevel();
}

/** Looks up a type's info (from the built-in table or the warehouse's catalog cache). */
export type TypeLookup = (oid: number) => PgTypeInfo | undefined;

/** Converts one value's text to its JSON-safe form. `typmod` tells a declared NUMERIC(p,s) from a computed one. */
export function normalizeValue(text: string | null, oid: number, typmod: number, lookup: TypeLookup): unknown {
  if (text === null || text === undefined) return null;
  const info = lookup(oid);
  if (!info) return text;
  if (info.elem !== undefined) {
    const elem = info.elem;
    return parseArray(text, (entry) => normalizeValue(entry, elem, -1, lookup));
  }
  switch (info.base) {
    case OID.bool: return text === 't' || text === 'true';
    case OID.int2: case OID.int4: case OID.oid: return Number(text);
    case OID.int8: {
      const n = Number(text);
      return Number.isSafeInteger(n) ? n : text;
    }
    case OID.float4: case OID.float8: return Number(text);
    case OID.numeric: return numericValue(text, typmod >= 0);
    case OID.jsonb: return compactJson(text);
    case OID.bytea: return byteaValue(text);
    case OID.interval: return intervalValue(text);
    default: return text;
  }
}

/** Identity type parsers: every value arrives as PostgreSQL's text and is normalized by us. */
export const rawTypes = { getTypeParser: () => (v: string) => v } as const;

/** Characters COPY's text format gives a meaning: they are escaped with a backslash. */
const COPY_SPECIAL = /[\\\n\r\t]/;
const COPY_SPECIAL_ALL = /[\\\n\r\t]/g;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const escapeCopy = (c: string) => COPY_ESCAPES[c]!;

/**
 * One field for COPY … FROM STDIN in the text format (tab-separated, `\N` for NULL, so an
 * empty string stays distinct from NULL). Only backslash, newline, carriage return and tab
 * need escaping, and a value without them (nearly every value, JSON included) goes out as
 * it is: CSV's quoting doubled every `"` of a JSON payload, which dominated load profiles.
 * Backslashes are always doubled, so `\.` in a value never ends the data early.
 */
export function copyField(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  let s: string;
  if (typeof v === 'string') s = v;
  else if (typeof v === 'number') return String(v); // NaN, Infinity and -Infinity are what PostgreSQL reads too
  else if (typeof v === 'boolean') return v ? 'true' : 'false';
  else if (typeof v === 'bigint') return v.toString();
  else if (v instanceof Date) return v.toISOString();
  // bytea's hex input `\x…`, with its backslash escaped for the text format.
  else if (v instanceof Uint8Array) return `\\\\x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
  else s = JSON.stringify(v);
  return COPY_SPECIAL.test(s) ? s.replace(COPY_SPECIAL_ALL, escapeCopy) : s;
}
