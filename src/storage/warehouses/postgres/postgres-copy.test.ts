/**
 * The binary COPY path stores exactly what the text path stores: each value is loaded twice, once
 * into a typed column (binary where it has an exact binary form) and once into a text column,
 * and PostgreSQL compares the typed value with its own cast of the text. Random timestamps and
 * dates cover the calendar arithmetic; the edge values cover the fallbacks to text.
 */
import { describe, expect, it } from 'vitest';
import { postgresAvailable, useTestWarehouse } from '../../../../test/postgres/pg-test-db.js';
import type { LogicalType } from '../../../core/types.js';
import type { Warehouse } from '../../warehouse.js';
import { withConnection } from '../../warehouse.js';
import { binaryEncoders, timestampMicros } from './postgres-copy.js';

const available = await postgresAvailable();

/** A deterministic PRNG (mulberry32), so a failure can be replayed. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('postgres-copy, without a server', () => {
  it('reads plain ISO timestamps, and leaves to text what PostgreSQL would read otherwise', () => {
    expect(timestampMicros('2000-01-01T00:00:00Z', true)).toBe(0);
    expect(timestampMicros('2000-01-01 00:00:01.5+01:00', true)).toBe(-3_598_500_000);
    expect(timestampMicros('1999-12-31T23:59:59.999999', false)).toBe(-1);
    expect(timestampMicros('2024-02-29 12:00', false)).toBe(762_523_200_000_000);
    for (const s of ['2024-02-30 00:00:00Z', '2023-02-29T00:00:00Z', '2024-01-01 24:00:00Z', '2024-01-01 00:00:60Z', '2024-01-01 00:00:00.1234567Z', '0000-01-01 00:00:00Z', '2024-01-01 00:00:00', 'epoch', '2024-01-01T00:00:00 PST']) {
      expect(timestampMicros(s, true), s).toBeUndefined();
    }
    expect(timestampMicros('2024-01-01 00:00:00Z', false)).toBeUndefined(); // an offset into a timestamp column: text's meaning (ignored) is kept
  });

  it('has no binary encoders for a table with a column of another type (numeric)', () => {
    expect(binaryEncoders([23, 1700], [false, false])).toBeUndefined();
    expect(binaryEncoders([23, 3802, 1184], [false, false, false])).toHaveLength(3);
    expect(binaryEncoders([17], [false])).toBeUndefined();
  });
});

describe.runIf(available)('postgres-copy on PostgreSQL: binary and text store the same values', () => {
  let wh: Warehouse;

  useTestWarehouse((_db, w) => {
    wh = w;
  }, { timezone: 'America/Sao_Paulo' });

  /** Loads each value into `v <type>` and its text form into `t text`, and returns the rows whose typed value differs from `t::type`. */
  async function mismatches(name: string, type: LogicalType, sqlType: string, values: unknown[]): Promise<unknown[]> {
    const text = (v: unknown) => (v === null ? null : typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v));
    await withConnection(wh, (c) => c.bulkLoad({ schema: 'rt', name }, {
      columns: [{ name: 'i', type: 'integer' }, { name: 'v', type, sqlType }, { name: 't', type: 'varchar' }],
      batches: [values.map((v, i) => [i, v, text(v)])],
    }));
    // Compared in the loader's own session: text without an offset is read in its time zone.
    const out = await withConnection(wh, (c) => c.execute(`SELECT i, CAST(v AS text) AS v, t FROM rt.${name} WHERE v IS DISTINCT FROM CAST(t AS ${sqlType}) ORDER BY i`));
    return out.rows as unknown[];
  }

  it('timestamptz: random instants with offsets, in a session time zone that is not UTC', async () => {
    const r = prng(1);
    const pad = (n: number, w = 2) => String(n).padStart(w, '0');
    const values: unknown[] = [];
    for (let k = 0; k < 3000; k++) {
      const y = 1720 + Math.floor(r() * 560);
      const frac = r() < 0.5 ? '' : `.${String(Math.floor(r() * 1e6)).padStart(6, '0').slice(0, 1 + Math.floor(r() * 6))}`;
      const off = ['Z', '+00', '-03:00', '+05:30', '+0845', '-11'][Math.floor(r() * 6)];
      values.push(`${y}-${pad(1 + Math.floor(r() * 12))}-${pad(1 + Math.floor(r() * 28))}${r() < 0.5 ? 'T' : ' '}${pad(Math.floor(r() * 24))}:${pad(Math.floor(r() * 60))}:${pad(Math.floor(r() * 60))}${frac}${off}`);
    }
    values.push('2024-02-29T23:59:59.999999Z', '2000-01-01T00:00:00Z', '1970-01-01 00:00:00+00', new Date(Date.UTC(2024, 5, 1, 12)), null);
    // Every one of these has a binary form, so the whole load is binary.
    expect(values.filter((v) => typeof v === 'string' && timestampMicros(v, true) === undefined)).toEqual([]);
    expect(await mismatches('tstz', 'timestamptz', 'timestamptz', values)).toEqual([]);
    // These have none (no offset, out of range): from the first of them on, the load goes out as text.
    expect(await mismatches('tstz_text', 'timestamptz', 'timestamptz', ['2024-01-01T00:00:00Z', '2024-03-10 02:30:00', '1500-01-01 00:00:00Z', '2024-01-01T00:00:00Z'])).toEqual([]);
  });

  it('timestamp and date: random wall-clock times and days, leap days included', async () => {
    const r = prng(2);
    const pad = (n: number, w = 2) => String(n).padStart(w, '0');
    const ts: unknown[] = [];
    const days: unknown[] = [];
    for (let k = 0; k < 3000; k++) {
      const y = 1720 + Math.floor(r() * 560);
      const day = `${y}-${pad(1 + Math.floor(r() * 12))}-${pad(1 + Math.floor(r() * 28))}`;
      days.push(day);
      ts.push(`${day} ${pad(Math.floor(r() * 24))}:${pad(Math.floor(r() * 60))}:${pad(Math.floor(r() * 60))}.${pad(Math.floor(r() * 1000), 3)}`);
    }
    days.push('2000-02-29', '1900-02-28', '2400-02-29', '0001-01-01', '9999-12-31', null);
    ts.push('2000-01-01 00:00:00', '1999-12-31 23:59:59.999999', null);
    expect(ts.filter((v) => typeof v === 'string' && timestampMicros(v, false) === undefined)).toEqual([]);
    expect(await mismatches('ts', 'timestamp', 'timestamp', ts)).toEqual([]);
    expect(await mismatches('d', 'date', 'date', days)).toEqual([]);
  });

  it('integers, doubles, booleans, uuids, text and JSON', async () => {
    expect(await mismatches('i4', 'integer', 'integer', [0, -1, 2147483647, -2147483648, '42', '-007', 5n, null])).toEqual([]);
    expect(await mismatches('i8', 'bigint', 'bigint', [0, -1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, '9223372036854775807', '-9223372036854775808', -4294967296, 4294967295, 123456789012345n, 1e18, null])).toEqual([]);
    expect(await mismatches('f8', 'double', 'double precision', [0, -0, 1.5, -1e-300, 1e308, Math.PI, '2.5', '1e10', '.5', 'NaN', 'Infinity', '-Infinity', Number.NaN, null])).toEqual([]);
    expect(await mismatches('b', 'boolean', 'boolean', [true, false, null])).toEqual([]);
    expect(await mismatches('u', 'uuid', 'uuid', ['123e4567-e89b-12d3-a456-426614174000', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', null])).toEqual([]);
    expect(await mismatches('s', 'varchar', 'varchar', ['', 'tab\there', 'new\nline', 'back\\slash', '\\N', 'ünïcødé ☃ 😀', 42, true, null])).toEqual([]);
    expect(await mismatches('j', 'json', 'jsonb', [{ a: [1, 'x', null] }, '{"n": 1e400}', '"str"', 3, { s: 'tab\t\\ "q"' }, null])).toEqual([]);
  });
});
