/**
 * Seeds: CSV files checked into the project. Types are inferred from the values
 * (boolean, integer, bigint, double, date, timestamp, else varchar) unless
 * declared; empty fields are NULL. Parse errors name the file and line.
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse';
import { DataFileError } from '../../core/errors.js';
import type { LogicalType } from '../../core/types.js';

export interface SeedData {
  readonly columns: { name: string; type: LogicalType; sqlType?: string }[];
  readonly rows: (string | null)[][];
}

const LOGICAL: LogicalType[] = ['boolean', 'integer', 'bigint', 'double', 'decimal', 'varchar', 'date', 'timestamp', 'timestamptz', 'json', 'uuid'];

const isBool = (v: string) => /^(true|false)$/i.test(v);
const isInt = (v: string) => /^-?\d{1,18}$/.test(v) && !/^-?0\d/.test(v);
const isNum = (v: string) => /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v) && !/^-?0\d/.test(v);
const isDate = (v: string) => /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v));
const isTs = (v: string) => /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(v) && !Number.isNaN(Date.parse(v.replace(' ', 'T')));
const isTsTz = (v: string) => /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)$/.test(v) && !Number.isNaN(Date.parse(v.replace(' ', 'T')));

/** The narrowest type every non-null value fits. */
export function inferType(values: Iterable<string | null>): LogicalType {
  const checks: [LogicalType, (v: string) => boolean][] = [
    ['boolean', isBool], ['integer', (v) => isInt(v) && Math.abs(Number(v)) <= 2147483647], ['bigint', isInt], ['double', isNum],
    ['date', isDate], ['timestamp', isTs], ['timestamptz', isTsTz],
  ];
  let candidates = checks;
  let any = false;
  for (const v of values) {
    if (v === null) continue;
    any = true;
    candidates = candidates.filter(([, ok]) => ok(v));
    if (candidates.length === 0) return 'varchar';
  }
  return any ? candidates[0]![0] : 'varchar';
}

export async function readSeed(projectDir: string, file: string, declared: Readonly<Record<string, string>>): Promise<SeedData> {
  const rows: (string | null)[][] = [];
  let header: string[] | undefined;
  const input = createReadStream(join(projectDir, file));
  const parser = input.pipe(parse({ bom: true, relax_column_count: false, skip_empty_lines: true, trim: false, info: true }));
  // pipe() does not forward the file's errors: an unopenable seed was an unhandled 'error' event
  // that killed the process mid-run. Hand it to the parser so the loop below turns it into a DataFileError.
  input.on('error', (e) => parser.destroy(e));
  try {
    for await (const rec of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!header) {
        header = rec.record.map((h) => h.trim());
        const seen = new Set<string>();
        header.forEach((h) => {
          if (!h) throw new DataFileError('empty column name in the header', { location: { file, line: 1 }, hint: 'every column needs a name in the first row' });
          if (seen.has(h.toLowerCase())) throw new DataFileError(`column '${h}' appears twice in the header`, { location: { file, line: 1 } });
          seen.add(h.toLowerCase());
        });
        continue;
      }
      rows.push(rec.record.map((v) => (v === '' ? null : v)));
    }
  } catch (e) {
    if (e instanceof DataFileError) throw e;
    const err = e as { message: string; code?: string; lines?: number };
    if (err.code === 'ENOENT' || err.code === 'EACCES') {
      throw new DataFileError(`cannot read seed: ${err.message}`, { location: { file }, hint: 'check that the file exists (not a dangling link) and is readable' });
    }
    throw new DataFileError(`invalid CSV: ${err.message.replace(/^Invalid Record Length: /, '')}`, {
      location: { file, line: err.lines },
      hint: 'every row needs as many fields as the header; quote fields that contain commas',
    });
  }
  if (!header) throw new DataFileError('the seed is empty', { location: { file }, hint: 'the first row must name the columns' });
  for (const name of Object.keys(declared)) {
    if (!header.some((h) => h.toLowerCase() === name.toLowerCase())) {
      throw new DataFileError(`column_types names '${name}', which is not a column of the seed`, { location: { file, line: 1 }, hint: `columns: ${header.join(', ')}` });
    }
  }
  const columns = header.map((name, i) => {
    const decl = Object.entries(declared).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
    if (decl) {
      const lower = decl.toLowerCase();
      return LOGICAL.includes(lower as LogicalType) ? { name, type: lower as LogicalType } : { name, type: 'other' as LogicalType, sqlType: decl };
    }
    return { name, type: inferType(rows.map((r) => r[i] ?? null)) };
  });
  return { columns, rows };
}
