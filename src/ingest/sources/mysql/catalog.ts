/**
 * MySQL / MariaDB column types → smelt's logical types, from the result-set
 * metadata of `SELECT … LIMIT 0` (the same for tables and queries; MariaDB's
 * extended metadata marks its JSON and UUID columns). Values come from mysql2
 * with dates, BIGINT and DECIMAL as strings and JSON unparsed, and are finished
 * here: TINYINT(1) and BIT(1) → boolean, TIMESTAMP → UTC with `Z`, JSON parsed.
 */
import type { FieldPacket } from 'mysql2';
import type { LogicalType } from '../../../core/types.js';
import type { SqlColumn } from '../sql-common/plan.js';

export type MyKind = 'same' | 'bool' | 'bit1' | 'bits' | 'tstz' | 'json';

export interface MyColumn extends SqlColumn {
  readonly kind: MyKind;
}

const UNSIGNED = 32;
const BINARY_CHARSET = 63;

/** Decimals the bronze warehouse stores exactly (DECIMAL(38,9)); wider ones land as text. */
const fitsDecimal = (precision: number, scale: number) => precision - scale <= 29 && scale <= 9;

export function mapField(f: FieldPacket, catalogType?: string): MyColumn {
  const t = f.columnType ?? f.type ?? 253;
  const flags = typeof f.flags === 'number' ? f.flags : 0;
  const unsigned = (flags & UNSIGNED) !== 0;
  const len = f.columnLength ?? 0;
  const binary = f.characterSet === BINARY_CHARSET;
  const col = (type: LogicalType, kind: MyKind, sourceType: string): MyColumn => ({ name: f.name, type, kind, sourceType: catalogType ?? sourceType, castType: sourceType });
  if (f.extendedFormat === 'json') return col('json', 'json', 'json');
  if (f.extendedTypeName === 'uuid') return col('uuid', 'same', 'uuid');
  switch (t) {
    case 1: return len === 1 ? col('boolean', 'bool', 'tinyint(1)') : col('integer', 'same', `tinyint${unsigned ? ' unsigned' : ''}`);
    case 2: return col('integer', 'same', `smallint${unsigned ? ' unsigned' : ''}`);
    case 9: return col('integer', 'same', `mediumint${unsigned ? ' unsigned' : ''}`);
    case 3: return unsigned ? col('bigint', 'same', 'int unsigned') : col('integer', 'same', 'int');
    case 8: return unsigned ? col('decimal', 'same', 'bigint unsigned') : col('bigint', 'same', 'bigint');
    case 4: return col('double', 'same', 'float');
    case 5: return col('double', 'same', 'double');
    case 0: case 246: {
      const scale = f.decimals ?? 0;
      const precision = len - (scale > 0 ? 1 : 0) - (unsigned ? 0 : 1);
      return col(fitsDecimal(precision, scale) ? 'decimal' : 'varchar', 'same', `decimal(${precision},${scale})`);
    }
    case 7: return col('timestamptz', 'tstz', 'timestamp');
    case 12: return col('timestamp', 'same', 'datetime');
    case 10: case 14: return col('date', 'same', 'date');
    case 11: return col('varchar', 'same', 'time');
    case 13: return col('integer', 'same', 'year');
    case 245: return col('json', 'json', 'json');
    case 16: return len === 1 ? col('boolean', 'bit1', 'bit(1)') : col('bigint', 'bits', `bit(${len})`);
    case 247: return col('varchar', 'same', 'enum');
    case 248: return col('varchar', 'same', 'set');
    case 255: return col('json', 'same', 'geometry');
    case 249: case 250: case 251: case 252: return binary ? col('blob', 'same', 'blob') : col('varchar', 'same', 'text');
    default: return binary ? col('blob', 'same', 'varbinary') : col('varchar', 'same', 'varchar');
  }
}

export type Convert = (v: unknown) => unknown;

const same: Convert = (v) => v;

export function converter(kind: MyKind): Convert {
  switch (kind) {
    case 'bool': return (v) => (v === null ? null : Number(v) !== 0);
    case 'bit1': return (v) => (v === null ? null : (v as Buffer)[0] !== 0);
    case 'bits': return (v) => (v === null ? null : BigInt(`0x${(v as Buffer).toString('hex') || '0'}`).toString());
    case 'tstz': return (v) => (typeof v === 'string' && /^\d{4}-/.test(v) && !v.startsWith('0000-') ? `${v}Z` : v);
    case 'json': return (v) => (typeof v === 'string' ? JSON.parse(v) : v);
    default: return same;
  }
}
