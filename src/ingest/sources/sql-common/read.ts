/**
 * The read loop both database sources run: the planned SELECTs one after the
 * other, rows into records with their positions, records into batches of at
 * most `batchSize`, each with the state that holds once it is committed.
 * Drivers only turn a SELECT into chunks of converted rows, and stop pulling
 * from the server while a batch is being loaded (bounded memory).
 */
import { AbortedError } from '../../../core/errors.js';
import type { ReadOptions, RecordBatch, SourceRecord } from '../../source.js';
import { parseState, planRead, type FullState, type IncrementalState, type ResolvedStream, type SqlColumn, type SqlSyntax } from './plan.js';

export interface RowDriver extends SqlSyntax {
  /** Runs a SELECT; yields chunks of rows as `{ column: value }` objects (values converted). */
  rows(sql: string, signal?: AbortSignal): AsyncIterable<Record<string, unknown>[]>;
  /** The text form of a value, for the state and the cursor position. */
  text(v: unknown, c: SqlColumn): string;
}

/** A function building `{ col: values[i] }` objects with one fixed shape (fast, monomorphic). */
export function rowBuilder(names: readonly string[]): (values: readonly unknown[]) => Record<string, unknown> {
  if (names.some((n) => n === '__proto__') || new Set(names).size !== names.length) {
    return (values) => {
      const o: Record<string, unknown> = Object.create(null);
      names.forEach((n, i) => { if (!(n in o)) o[n] = values[i]; });
      return o;
    };
  }
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('v', `return {${names.map((n, i) => `${JSON.stringify(n)}: v[${i}]`).join(', ')}};`) as (values: readonly unknown[]) => Record<string, unknown>;
}

const aborted = (signal?: AbortSignal) => {
  if (signal?.aborted) throw new AbortedError('cancelled');
};

export async function* readStream(r: ResolvedStream, opts: ReadOptions, driver: RowDriver): AsyncIterable<RecordBatch> {
  const full = r.spec.mode === 'full';
  const start = parseState(opts.state, r);
  const steps = planRead(r, start, driver);
  const cursor = r.cursor;
  const size = Math.max(1, opts.batchSize);
  let state: IncrementalState | FullState | undefined = full ? { mode: 'full', rows: 0 } : start;
  let rows = 0;
  let batch: SourceRecord[] = [];
  // A full read replaces the stream's earlier rows, in the first batch's transaction.
  let supersedes: Record<string, unknown> | undefined = full ? { mode: 'full' } : undefined;
  const flush = (): RecordBatch => {
    const out: RecordBatch = { records: batch, state: full ? { mode: 'full', rows } : state, ...(supersedes ? { supersedes } : {}) };
    supersedes = undefined;
    batch = [];
    return out;
  };
  aborted(opts.signal);
  for (const step of steps) {
    for await (const chunk of driver.rows(step.sql, opts.signal)) {
      aborted(opts.signal);
      for (const data of chunk) {
        let position: Record<string, unknown>;
        if (full) {
          position = { mode: 'full', row: ++rows };
        } else {
          const c = driver.text(data[cursor!.name], cursor!);
          position = { cursor: c };
          if (step.advances) state = { cursor: c, key: r.tieBreak.map((k) => driver.text(data[k.name], k)) };
        }
        batch.push({ data, position });
        if (batch.length >= size) {
          yield flush();
          aborted(opts.signal);
        }
      }
    }
  }
  // A full read of an empty table still clears the stream's earlier rows.
  if (batch.length || supersedes) yield flush();
}
