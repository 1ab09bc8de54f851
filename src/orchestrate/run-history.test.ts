import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWarehouse } from '../storage/registry.js';
import type { Warehouse } from '../storage/warehouse.js';
import { withConnection } from '../storage/warehouse.js';
import type { RunResults } from '../transform/run/results.js';
import { listRecordedRuns, recordRun, RUN_STEPS } from './run-history.js';

const run = (id: string, startedAt: string, steps: number): RunResults => ({
  runId: id,
  command: 'build',
  project: 'p',
  target: 'dev',
  startedAt,
  finishedAt: startedAt,
  durationMs: 12.5,
  results: Array.from({ length: steps }, (_, i) => ({
    id: `model.m${i}`,
    kind: 'model' as const,
    name: `m${i}`,
    status: i === 0 ? ('error' as const) : ('success' as const),
    message: i === 0 ? "it's broken" : `table silver.m${i}`,
    rowsAffected: i,
    error: i === 0 ? { message: 'Binder Error: "x" not found', location: { file: 'models/m0.sql', line: 3 } } : undefined,
    startedAt,
    durationMs: 1,
  })),
  summary: { pass: steps - 1, warn: 0, error: 1, skip: 0, total: steps },
});

describe('run history in the warehouse', () => {
  let wh: Warehouse;
  beforeAll(async () => {
    wh = await openWarehouse({ type: 'duckdb', path: ':memory:' }, { projectDir: process.cwd() });
  });
  afterAll(() => wh.close());

  it('is empty before the first run', async () => {
    expect(await listRecordedRuns(wh)).toEqual([]);
  });

  it('keeps each run whole, newest first, and one row per step', async () => {
    const a = run('a', '2026-01-01T10:00:00.000Z', 3);
    const b = run('b', '2026-01-02T10:00:00.000Z', 1200); // more steps than one INSERT holds
    await recordRun(wh, a);
    await recordRun(wh, b);
    expect(await listRecordedRuns(wh)).toEqual([b, a]);
    expect(await listRecordedRuns(wh, 1)).toEqual([b]);
    const counts = await withConnection(wh, (c) => c.execute(`SELECT run_id, count(*) AS n, count(error) AS errors FROM ${wh.dialect.relation(RUN_STEPS)} GROUP BY 1 ORDER BY 1`));
    expect(counts.rows).toEqual([{ run_id: 'a', n: 3, errors: 1 }, { run_id: 'b', n: 1200, errors: 1 }]);
  });
});
