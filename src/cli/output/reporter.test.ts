/**
 * The run reporter as CI logs and scripts read it: dbt-style plain lines (`1 of 3 START …
 * [RUN]`, `1 of 3 OK … in 0.12s`, a final `Done. PASS=… WARN=… ERROR=… SKIP=… TOTAL=…`), failure
 * details with file:line, a code frame and the hint, `-q`, and JSON lines. Fed with events
 * directly; the end-to-end tests check the same through the real CLI.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { registerSecret } from '../../core/redact.js';
import { summarize, type RunEvent, type RunResults, type StepResult } from '../../transform/run/results.js';
import { createReporter, type OutputMode } from './reporter.js';

const dir = mkdtempSync(join(tmpdir(), 'smelt-reporter-'));
writeFileSync(join(dir, 'fct.sql'), 'select id,\n  amount +\nfrom t\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const result = (r: Partial<StepResult> & Pick<StepResult, 'id' | 'status'>): StepResult => ({
  kind: 'model', name: r.id.split('.').pop()!, message: '', startedAt: '2024-01-01T00:00:00.000Z', durationMs: 120, ...r,
});

const RESULTS: StepResult[] = [
  result({ id: 'model.fct_payments', status: 'success', message: 'table gold.fct_payments', rowsAffected: 27 }),
  result({ id: 'model.one', status: 'success', message: 'table gold.one', rowsAffected: 1 }),
  result({ id: 'test.not_null_fct_payments_id', kind: 'test', status: 'pass', message: 'pass', durationMs: 5 }),
  result({ id: 'test.positive', kind: 'test', status: 'warn', message: '2 failing rows', failures: 2, sample: [{ id: 7, amount: -1 }] }),
  result({
    id: 'model.broken', status: 'error', message: 'Parser Error: syntax error at or near "from"',
    error: { message: 'Parser Error: syntax error at or near "from"', code: 'E_WAREHOUSE', location: { file: 'fct.sql', line: 3 }, hint: 'check the SQL near the line shown' },
  }),
  result({ id: 'model.after', status: 'skipped', message: 'upstream broken failed', durationMs: 0 }),
];

/** Feeds start/finish events for RESULTS (and a done) through a reporter; returns what it wrote. */
function run(mode: OutputMode, quiet = false, results = RESULTS): string {
  let out = '';
  const rep = createReporter({ mode, quiet, color: false, projectDir: dir, write: (s) => (out += s) });
  rep.info('Running 6 steps on target dev (duckdb) with 4 threads');
  const total = results.length;
  results.forEach((r, i) => {
    const events: RunEvent[] = [
      { type: 'start', id: r.id, kind: r.kind, name: r.name, index: i + 1, total, description: r.status === 'skipped' ? '' : r.message.split(':')[0]! },
      { type: 'finish', result: r, index: i + 1, total },
    ];
    for (const e of r.status === 'skipped' ? events.slice(1) : events) rep.event(e);
  });
  const runResults: RunResults = {
    runId: 'run-1', command: 'build', project: 'p', target: 'dev', startedAt: '2024-01-01T00:00:00.000Z', finishedAt: '2024-01-01T00:00:01.000Z',
    durationMs: 1000, results, summary: summarize(results),
  };
  rep.done(runResults);
  return out;
}

const lines = (s: string) => s.split('\n');
const TIME = '\\d\\d:\\d\\d:\\d\\d  ';

describe('plain (CI) output', () => {
  const out = run('plain');

  it('prints a START line with the node and a finish line with status, rows and time', () => {
    expect(out).toMatch(new RegExp(`^${TIME}1 of 6 START table gold\\.fct_payments \\.{3,} \\[RUN\\]$`, 'm'));
    expect(out).toMatch(new RegExp(`^${TIME}1 of 6 OK table gold\\.fct_payments 27 rows in 0\\.12s$`, 'm'));
    expect(out).toMatch(new RegExp(`^${TIME}3 of 6 PASS not_null_fct_payments_id in 0\\.01s$`, 'm'));
  });

  it('says "1 row", not "1 rows"', () => {
    expect(out).toMatch(/2 of 6 OK table gold\.one 1 row in 0\.12s$/m);
  });

  it('marks warnings, errors and skips, with the reason for a skip', () => {
    expect(out).toMatch(/4 of 6 WARN positive \(2 failing rows\) in 0\.12s$/m);
    expect(out).toMatch(/5 of 6 ERROR model broken in 0\.12s$/m);
    expect(out).toMatch(/6 of 6 SKIP model after \(upstream broken failed\) in 0\.00s$/m);
  });

  it('details each failure after the run: message, file:line, a code frame and the hint', () => {
    const details = out.slice(out.indexOf('\nERROR model broken\n'));
    expect(details).toContain('  Parser Error: syntax error at or near "from"');
    expect(details).toContain('  at fct.sql:3');
    expect(details).toContain('> 3 | from t');
    expect(details).toContain('  hint: check the SQL near the line shown');
    expect(out).toContain('\nWARN test positive\n  2 failing rows\n');
    expect(out).toMatch(/│ 7 +│ -1 +│/);
  });

  it('ends with the Done summary line', () => {
    const last = lines(out.trimEnd()).slice(-2);
    expect(last[0]).toMatch(new RegExp(`^${TIME}Finished in 1\\.00s\\.$`));
    expect(last[1]).toBe('Done. PASS=3 WARN=1 ERROR=1 SKIP=1 TOTAL=6');
  });

  it('-q prints only warnings, failures and the summary', () => {
    const q = run('plain', true);
    expect(q).not.toContain('START');
    expect(q).not.toContain('Running 6 steps');
    expect(q).not.toMatch(/ OK table/);
    expect(q).toMatch(/5 of 6 ERROR model broken/);
    expect(q).toMatch(/4 of 6 WARN positive/);
    expect(q).toContain('Done. PASS=3 WARN=1 ERROR=1 SKIP=1 TOTAL=6');
  });
});

describe('JSON lines', () => {
  const out = run('json');
  const objects = lines(out.trimEnd()).map((l) => JSON.parse(l) as Record<string, any>);

  it('writes one JSON object per line and nothing else', () => {
    expect(out.endsWith('\n')).toBe(true);
    expect(objects.every((o) => typeof o.time === 'string' && typeof o.event === 'string')).toBe(true);
    expect(objects.map((o) => o.event)).toEqual(['info', ...RESULTS.flatMap((r) => (r.status === 'skipped' ? ['node_finish'] : ['node_start', 'node_finish'])), 'run_finish']);
  });

  it('node events carry the id, position, status and error; run_finish carries the summary', () => {
    const start = objects.find((o) => o.event === 'node_start')!;
    expect(start).toMatchObject({ id: 'model.fct_payments', index: 1, total: 6, description: 'table gold.fct_payments' });
    const broken = objects.find((o) => o.event === 'node_finish' && o.id === 'model.broken')!;
    expect(broken).toMatchObject({ status: 'error', index: 5, total: 6, error: { code: 'E_WAREHOUSE', location: { file: 'fct.sql', line: 3 } } });
    expect(objects.at(-1)).toMatchObject({ event: 'run_finish', runId: 'run-1', command: 'build', summary: { pass: 3, warn: 1, error: 1, skip: 1, total: 6 } });
  });
});

describe('secrets', () => {
  it('are redacted from info lines and failure details in every mode', () => {
    registerSecret('pg-pa55word-xyz');
    const leaky = [result({ id: 'model.x', status: 'error', message: 'no', error: { message: 'auth failed for pg-pa55word-xyz', hint: 'check pg-pa55word-xyz' } })];
    for (const mode of ['plain', 'json', 'live'] as const) {
      let out = '';
      const rep = createReporter({ mode, quiet: false, color: false, projectDir: dir, write: (s) => (out += s) });
      rep.info('connecting with pg-pa55word-xyz');
      rep.event({ type: 'finish', result: leaky[0]!, index: 1, total: 1 });
      rep.done({ runId: 'r', command: 'build', project: 'p', target: 'dev', startedAt: '', finishedAt: '', durationMs: 1, results: leaky, summary: summarize(leaky) });
      expect(out, mode).not.toContain('pg-pa55word-xyz');
      expect(out, mode).toContain('***');
    }
  });
});
