/**
 * PostgreSQL types → smelt's logical types, and how each column's COPY text
 * becomes a value the loader keeps losslessly: numeric stays text (decimal),
 * int8 stays text (bigint), timestamptz is UTC with `Z`, json/jsonb and arrays
 * (selected as `to_json(col)`) are parsed, bytea becomes bytes.
 */
import type { Client } from 'pg';
import type { LogicalType } from '../../../core/types.js';
import type { Digits } from '../../source.js';
import type { SqlColumn } from '../sql-common/plan.js';
import type { FieldKind } from './copy-text.js';

/** How a column is parsed (see copy-text.ts); `tojson` columns are selected as `to_json(col)`. */
export type PgKind = FieldKind | 'tojson';

export interface PgColumn extends SqlColumn {
  readonly kind: PgKind;
}

/** Decimals the bronze warehouse stores exactly (DECIMAL(38,9)); wider numerics land as text. */
const DECIMAL_MAX = { integerDigits: 29, scale: 9 };

interface TypeRow { full: string; cast: string; typname: string; category: string; typtype: string; basemod: number }

function mapType(t: TypeRow): { type: LogicalType; kind: PgKind; digits?: Digits } {
  if (t.category === 'A') return { type: 'json', kind: 'tojson' };
  if (t.typtype === 'c') return { type: 'json', kind: 'tojson' };
  switch (t.typname) {
    case 'bool': return { type: 'boolean', kind: 'bool' };
    case 'int2': case 'int4': return { type: 'integer', kind: 'int' };
    case 'int8': case 'oid': case 'xid8': return { type: 'bigint', kind: 'plain' };
    case 'float4': case 'float8': return { type: 'double', kind: 'float' };
    case 'numeric': {
      if (t.basemod < 4) return { type: 'varchar', kind: 'plain' }; // unconstrained: any precision, kept as exact text
      const precision = ((t.basemod - 4) >> 16) & 0xffff;
      const scale = (t.basemod - 4) & 0xffff;
      return precision - scale <= DECIMAL_MAX.integerDigits && scale <= DECIMAL_MAX.scale ? { type: 'decimal', kind: 'plain', digits: { precision, scale } } : { type: 'varchar', kind: 'plain' };
    }
    case 'date': return { type: 'date', kind: 'plain' };
    case 'timestamp': return { type: 'timestamp', kind: 'plain' };
    case 'timestamptz': return { type: 'timestamptz', kind: 'tstz' };
    case 'json': case 'jsonb': return { type: 'json', kind: 'json' };
    case 'uuid': return { type: 'uuid', kind: 'plain' };
    case 'bytea': return { type: 'blob', kind: 'bytea' };
    default: return { type: 'varchar', kind: 'text' };
  }
}

const TYPES_SQL = `
SELECT u.ord::int AS ord, format_type(u.oid, u.mod) AS full, format_type(u.oid, NULL) AS cast,
       bt.typname::text AS typname, bt.typcategory::text AS category, bt.typtype::text AS typtype,
       (CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE u.mod END)::int AS basemod
FROM unnest($1::oid[], $2::int4[]) WITH ORDINALITY AS u(oid, mod, ord)
JOIN pg_type t ON t.oid = u.oid
JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
ORDER BY u.ord`;

/** Columns with their types, from (name, type oid, type modifier) triples. */
export async function describeColumns(client: Client, cols: readonly { name: string; oid: number; mod: number }[]): Promise<PgColumn[]> {
  if (cols.length === 0) return [];
  const r = await client.query<TypeRow & { ord: number }>(TYPES_SQL, [cols.map((c) => c.oid), cols.map((c) => c.mod)]);
  return r.rows.map((t, i) => ({ name: cols[i]!.name, sourceType: t.full, castType: t.cast, ...mapType(t) }));
}

/** A table or view: its quoted name, columns and primary key; undefined when it does not exist. */
export async function describeTable(client: Client, table: string): Promise<{ relation: string; columns: PgColumn[]; key: string[] } | undefined> {
  const rel = await client.query<{ oid: number; name: string }>('SELECT c.oid::int AS oid, c.oid::regclass::text AS name FROM pg_class c WHERE c.oid = to_regclass($1)', [table]);
  const found = rel.rows[0];
  if (!found) return undefined;
  const attrs = await client.query<{ name: string; oid: number; mod: number }>(
    'SELECT attname::text AS name, atttypid::int AS oid, atttypmod AS mod FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum',
    [found.oid],
  );
  const key = await client.query<{ name: string }>(
    `SELECT a.attname::text AS name FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
     WHERE i.indrelid = $1 AND i.indisprimary ORDER BY k.ord`,
    [found.oid],
  );
  return { relation: found.name, columns: await describeColumns(client, attrs.rows), key: key.rows.map((k) => k.name) };
}

/** The parse kind of a column (to_json columns arrive as JSON text). */
export const fieldKind = (k: PgKind): FieldKind => (k === 'tojson' ? 'json' : k);

/** The text a value had in PostgreSQL (for state and literals). */
export function pgText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (v instanceof Uint8Array) return `\\x${Buffer.from(v).toString('hex')}`;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
