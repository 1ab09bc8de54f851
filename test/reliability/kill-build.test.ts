/**
 * Crash safety of `smelt build` under SIGKILL. A project of table and incremental
 * models (merge on one key, merge on two keys, delete+insert over a time window)
 * over 200k generated rows. Each round changes the input (`--vars round=N` alters
 * computed values), starts `smelt build`, SIGKILLs it at a random point, and then
 * reads the DuckDB file: every target table must be exactly its version before the
 * round or exactly its version after the round (a content checksum: row count and
 * the sum of row hashes), never missing or partial. The version after a round is
 * what a complete build of the same input produces; re-running the round's build
 * from whatever the kill left is a no-op for tables already new (every model is
 * idempotent on the same input), so it yields exactly that version.
 * At the end a normal build succeeds and no scratch relation is left behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { loadProject } from '../../src/orchestrate/project.js';
import { openWarehouse } from '../../src/storage/registry.js';
import { duckdbAdapter } from '../../src/storage/warehouses/duckdb/index.js';
import { withConnection } from '../../src/storage/warehouse.js';
import { planRun } from '../../src/transform/plan.js';
import { runPlan } from '../../src/transform/run/runner.js';
import { makeProject, runCli, spawnCli, type TempProject } from '../helpers/project.js';

const ROUNDS = 21;
/** At most this many rounds to reach ROUNDS kills (rounds whose build ends before its kill point are not counted). */
const MAX_ROUNDS = 60;
const ROWS = 200_000;
const TABLES = ['base', 'by_group', 'wide', 'inc_merge', 'inc_composite', 'inc_window'] as const;
type Checksums = Record<string, string>;

const files: Record<string, string> = {
  'smelt.config.ts': "export default { name: 'killbuild', vars: { round: 0 } };\n",
  // The generated input: `round` changes every amount and tag.
  'models/base.sql': `{{ config(materialized='table') }}
select range as id, range % 97 as grp,
  (range * 7 + {{ var('round') }} * 13) % 10007 as amount,
  timestamp '2024-01-01' + range * interval 1 minute as ts,
  hash(range + {{ var('round') }}) % 1000003 as tag
from range(${ROWS})`,
  'models/by_group.sql': `{{ config(materialized='table') }}
select grp, count(*) as n, sum(amount) as total, max(tag) as max_tag from {{ ref('base') }} group by grp`,
  'models/wide.sql': `{{ config(materialized='table') }}
select b.id, b.amount, g.total, b.amount * 100.0 / g.total as share, 'g' || b.grp || '-' || (b.tag % 100) || '/' || g.max_tag as label
from {{ ref('base') }} b join {{ ref('by_group') }} g using (grp)`,
  'models/base_view.sql': "select id, amount from {{ ref('base') }} where id % 10 = 0",
  'models/inc_merge.sql': `{{ config(materialized='incremental', unique_key='id') }}
select id, amount * 2 as a2, tag from {{ ref('base') }}
{% if is_incremental() %}where id % 3 <> 0{% endif %}`,
  'models/inc_composite.sql': `{{ config(materialized='incremental', unique_key=['grp', 'id']) }}
select grp, id, amount - 1 as y, tag + grp as h from {{ ref('base') }}
{% if is_incremental() %}where id % 2 = 0{% endif %}`,
  'models/inc_window.sql': `{{ config(materialized='incremental', incremental_strategy='delete+insert', time_column='ts', lookback='30 days') }}
select id, ts, amount + 1 as x, tag from {{ ref('base') }}`,
};

async function checksums(dir: string): Promise<Checksums> {
  // The project's default database file, opened read-only as `smelt query` does.
  const wh = await duckdbAdapter.open(duckdbAdapter.parseConfig({ type: 'duckdb' }), { projectDir: dir, readOnly: true, targetName: 'dev' });
  try {
    const present = new Set((await wh.listRelations('main')).filter((r) => r.kind === 'table').map((r) => r.name));
    const out: Checksums = {};
    await withConnection(wh, async (c) => {
      for (const t of TABLES) {
        if (!present.has(t)) {
          out[t] = 'MISSING';
          continue;
        }
        const r = await c.execute(`SELECT COUNT(*) AS n, CAST(SUM(hash(t)) AS VARCHAR) AS h FROM main.${t} AS t`);
        out[t] = `${r.rows[0]!.n}:${r.rows[0]!.h}`;
      }
    });
    return out;
  } finally {
    await wh.close();
  }
}

/** A complete build in-process (as `smelt build` runs it); every step must succeed. */
async function completeBuild(dir: string, round: number): Promise<void> {
  const cfg = await loadConfig({ projectDir: dir, vars: { round } });
  const { manifest } = await loadProject(cfg);
  const plan = planRun(manifest, { command: 'build', kinds: ['seed', 'snapshot', 'model', 'test', 'unit_test'] });
  const wh = await openWarehouse(cfg.target.warehouse, { projectDir: dir, targetName: cfg.target.name });
  try {
    const r = await runPlan(plan, manifest, wh, { threads: cfg.target.threads });
    expect(r.results.filter((x) => x.status !== 'success').map((x) => `${x.name}: ${x.message}`)).toEqual([]);
  } finally {
    await wh.close();
  }
}

interface BuildRun {
  killed: boolean;
  code: number | null;
  out: string;
  /** From the first START line to the exit. */
  activeMs: number;
}

/** Runs `smelt build`; with `killAfterMs`, SIGKILLs it that long after its first step started. */
function buildProcess(dir: string, round: number, killAfterMs?: number): Promise<BuildRun> {
  return new Promise((resolve) => {
    const child = spawnCli(['build', '--vars', JSON.stringify({ round })], { cwd: dir });
    let out = '';
    let started = 0;
    let timer: NodeJS.Timeout | undefined;
    let killed = false;
    const onData = (d: Buffer) => {
      out += String(d);
      if (!started && out.includes(' START ')) {
        started = performance.now();
        if (killAfterMs !== undefined) timer = setTimeout(() => (killed = child.kill('SIGKILL')), killAfterMs);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ killed: killed && code === null, code, out, activeMs: started ? performance.now() - started : 0 });
    });
  });
}

describe('smelt build: SIGKILL at random points leaves every table old or new', () => {
  let project: TempProject;

  beforeAll(() => {
    project = makeProject(files, 'smelt-kill-build-');
  });
  afterAll(() => project?.remove());

  it(`survives ${ROUNDS} kills`, async () => {
    const dir = project.dir;
    // Round 0: the first full build. Round 1 (incremental) measures how long a build works, to pick kill points.
    const first = await buildProcess(dir, 0);
    expect(first.code, first.out).toBe(0);
    let old = await checksums(dir);
    const measured = await buildProcess(dir, 1);
    expect(measured.code, measured.out).toBe(0);
    let typicalMs = Math.max(200, measured.activeMs);
    let current = await checksums(dir);
    for (const t of TABLES) expect(current[t], `${t} changes with the input`).not.toBe(old[t]);
    old = current;

    const log: string[] = [];
    let kills = 0;
    // Rounds go on until ROUNDS of them were really killed: on a loaded machine a build may finish
    // before its kill point, and such a round checks nothing about crashes (MAX_ROUNDS bounds the test).
    let round = 2;
    for (; kills < ROUNDS && round < MAX_ROUNDS + 2; round++) {
      const delay = Math.round(20 + Math.random() * (typicalMs - 20));
      const run = await buildProcess(dir, round, delay);
      if (!run.killed) expect(run.code, `round ${round} ended on its own: ${run.out}`).toBe(0);
      kills += run.killed ? 1 : 0;
      // A build that finished first took less than the window: later kill points fall inside its length.
      if (!run.killed) typicalMs = Math.max(40, Math.min(typicalMs, run.activeMs * 0.9));
      const seen = await checksums(dir);

      // The version after this round: a complete build of the same input, from whatever the kill left.
      await completeBuild(dir, round);
      const next = await checksums(dir);
      for (const t of TABLES) expect(next[t], `round ${round}: ${t} changes with the input`).not.toBe(old[t]);

      const state = TABLES.map((t) => (seen[t] === old[t] ? 'old' : seen[t] === next[t] ? 'new' : `BROKEN(${seen[t]})`));
      log.push(`round ${round}: ${run.killed ? `killed after ${delay}ms` : 'finished before the kill'}: ${TABLES.map((t, i) => `${t}=${state[i]}`).join(' ')}`);
      for (const [i, t] of TABLES.entries()) {
        expect(state[i], `round ${round}, ${t} after a kill at ${delay}ms (old ${old[t]}, new ${next[t]})\n${log.join('\n')}`).toMatch(/^(old|new)$/);
      }
      old = next;
    }
    console.log(`kill-build: typical build ${Math.round(typicalMs)}ms after its first step\n${log.join('\n')}`);
    // Every one of the ROUNDS kills landed inside a build.
    expect(kills).toBe(ROUNDS);

    // A normal build afterwards succeeds and leaves no scratch relation.
    const final = runCli(['build', '--vars', JSON.stringify({ round })], { cwd: dir });
    expect(final.code, final.stdout + final.stderr).toBe(0);
    const q = runCli(['query', "select table_schema || '.' || table_name as r, table_type as k from information_schema.tables order by 1", '--format', 'json', '--limit', '0'], { cwd: dir });
    expect(q.code, q.stderr).toBe(0);
    const rels = JSON.parse(q.stdout) as { r: string; k: string }[];
    expect(rels.filter((x) => /__smelt_(tmp|old|stage)$/.test(x.r))).toEqual([]);
    // smelt_state holds the run history (one row per completed build), not model relations.
    expect(rels.map((x) => x.r).filter((r) => !r.startsWith('smelt_state.')).sort()).toEqual([...TABLES, 'base_view'].map((t) => `main.${t}`).sort());
    const after = await checksums(dir);
    for (const t of TABLES) expect(after[t]).not.toMatch(/MISSING/);
  }, 600_000);
});
