#!/usr/bin/env node
/**
 * Figure 3: per-view-model overhead of `smelt build` on DuckDB, against the floor: the same
 * CREATE OR REPLACE VIEW statements run directly with @duckdb/node-api on a fresh database file.
 *
 *   node bench/view-overhead.mjs [--models 300] [--reps 5] [--json out.json]
 *
 * Two generated projects, identical but for size: N view models and 1 view model (one seed each,
 * no tests, one ref per model, threads 1). Every repetition runs, in rotated order and each on a
 * fresh database file:
 *   smelt build N / smelt build 1          `node bin/smelt.js build --threads 1` (CLI wall time)
 *   raw N / raw 1                          bench/lib/raw-views.mjs: node + @duckdb/node-api, seed loaded
 *                                          with read_csv, then the view statements from smelt's manifest
 *   node -e ""                             bare Node start, for scale
 * Per-model cost = (wall(N) - wall(1)) / (N - 1), paired within each repetition, so process start,
 * config loading, opening the database and the seed are fixed costs and cancel out. Overhead =
 * smelt's per-model cost minus raw's. The same is then done in-process (public API runPlan() vs the
 * raw statement loop), which removes process start noise entirely.
 *
 * Goal: overhead under 20 ms per model. dbt-duckdb's ~140 ms per model is a published figure, not
 * measured here.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH, ensureDist, generate, mdTable, median, ms, NODE, num, OUT, parseArgs, ratio, report, resetState, sideBySide, smelt, timeRun, today } from './lib/common.mjs';

const args = parseArgs();
const N = num(args.models, 300);
const reps = num(args.reps, 5);
ensureDist();

const root = join(OUT, 'view-overhead');
const projects = {};
for (const n of [N, 1]) {
  const dir = join(root, `views-${n}`);
  process.stderr.write(`view-overhead: generating ${n}-view project in ${dir}\n`);
  const gen = generate(dir, { models: n, seeds: 1, 'views-only': true, 'no-tests': true, 'max-refs': 1 });
  if (gen.materializations.view !== n) throw new Error(`expected ${n} views, got ${JSON.stringify(gen.materializations)}`);
  // The statements smelt would run, from its own manifest.
  smelt(['compile', '--project-dir', dir]);
  const m = JSON.parse(readFileSync(join(dir, '.smelt/target/manifest.json'), 'utf8'));
  const nodes = Object.values(m.nodes);
  const stmts = {
    schemas: [...new Set(nodes.filter((x) => x.relation && x.kind !== 'source').map((x) => x.relation.schema))],
    seeds: nodes.filter((x) => x.kind === 'seed').map((x) => ({ schema: x.relation.schema, name: x.relation.name, csv: join(dir, x.file) })),
    views: nodes.filter((x) => x.kind === 'model').map((x) => `CREATE OR REPLACE VIEW "${x.relation.schema}"."${x.relation.name}" AS\n${x.sql}`),
  };
  if (stmts.views.length !== n) throw new Error(`manifest has ${stmts.views.length} models, expected ${n}`);
  const file = join(root, `statements-${n}.json`);
  writeFileSync(file, JSON.stringify(stmts, null, 1));
  projects[n] = { dir, gen, stmts: file, db: join(root, `raw-${n}.duckdb`) };
}

const smeltBuild = (n) => ({
  name: `smelt build (${n} view${n === 1 ? '' : 's'})`,
  before: () => resetState(projects[n].dir),
  run: () => {
    const r = smelt(['build', '--threads', '1', '--project-dir', projects[n].dir]);
    const rr = JSON.parse(readFileSync(join(projects[n].dir, '.smelt/target/run_results.json'), 'utf8'));
    if (rr.summary.error) throw new Error(`smelt build had errors: ${JSON.stringify(rr.summary)}`);
    return { wall: r.wall, steps: rr.results.filter((x) => x.kind === 'model').map((x) => x.durationMs), runMs: rr.durationMs };
  },
});
const raw = (n) => ({
  name: `raw duckdb (${n} view${n === 1 ? '' : 's'})`,
  before: () => { for (const f of [projects[n].db, `${projects[n].db}.wal`]) rmSync(f, { force: true }); },
  run: () => {
    const r = timeRun(NODE, [join(BENCH, 'lib/raw-views.mjs'), projects[n].stmts, projects[n].db]);
    return { wall: r.wall, ...JSON.parse(r.stdout.trim().split('\n').pop()) };
  },
});

process.stderr.write('view-overhead: CLI wall time, side by side\n');
const cli = sideBySide([smeltBuild(N), smeltBuild(1), raw(N), raw(1), { name: 'node -e ""', run: () => timeRun(NODE, ['-e', '']) }], { reps });
const S = (k) => cli.samples[k];
const sN = S(smeltBuild(N).name), s1 = S(smeltBuild(1).name), rN = S(raw(N).name), r1 = S(raw(1).name);
const paired = (a, b) => median(a.map((x, i) => (x - b[i]) / (N - 1)));
const smeltPer = paired(sN, s1);
const rawPer = paired(rN, r1);
const overhead = smeltPer - rawPer;
const rawLoopPer = median(cli.extras[raw(N).name].map((x) => x.viewsMs / N));
const smeltStepMedian = median(cli.extras[smeltBuild(N).name].flatMap((x) => x.steps));
const smeltRunPer = paired(cli.extras[smeltBuild(N).name].map((x) => x.runMs), cli.extras[smeltBuild(1).name].map((x) => x.runMs));

process.stderr.write('view-overhead: in-process (public API runPlan vs raw statement loop), side by side\n');
const api = (n) => ({
  name: `smelt runPlan() (${n} view${n === 1 ? '' : 's'})`,
  run: () => {
    const r = timeRun(NODE, [join(BENCH, 'lib/smelt-inproc-build.mjs'), projects[n].dir, '1']);
    const j = JSON.parse(r.stdout.trim().split('\n').pop());
    return { wall: j.runMs, ...j };
  },
});
const rawLoop = { ...raw(N), name: `raw statement loop (${N} views)`, run: () => { const r = raw(N).run(); return { ...r, wall: r.viewsMs }; } };
const inproc = sideBySide([api(N), api(1), rawLoop], { reps });
const apiPer = paired(inproc.samples[api(N).name], inproc.samples[api(1).name]);
const rawLoopPer2 = median(inproc.samples[rawLoop.name]) / N;

const fixedSmelt = median(s1), fixedRaw = median(r1), nodeFloor = median(S('node -e ""'));
const rows1 = [
  [`smelt build, ${N} views`, ms(median(sN)), ms(smeltPer, 2), '—'],
  ['smelt build, 1 view', ms(fixedSmelt), '—', '—'],
  [`raw @duckdb/node-api, ${N} views`, ms(median(rN)), ms(rawPer, 2), '—'],
  ['raw @duckdb/node-api, 1 view', ms(fixedRaw), '—', '—'],
  ['**smelt overhead per view model** (CLI)', '', `**${ms(overhead, 2)}**`, overhead < 20 ? 'yes (< 20 ms)' : 'NO (≥ 20 ms)'],
  ['smelt / raw per-model ratio (CLI)', '', ratio(smeltPer, rawPer), ''],
];
const rows2 = [
  [`smelt runPlan(), ${N} views (in-process)`, ms(median(inproc.samples[api(N).name])), ms(apiPer, 2)],
  [`raw statement loop, ${N} views (in-process)`, ms(median(inproc.samples[rawLoop.name])), ms(rawLoopPer2, 2)],
  ['**smelt overhead per view model** (in-process)', '', `**${ms(apiPer - rawLoopPer2, 2)}**`],
  ['smelt / raw per-model ratio (in-process)', '', ratio(apiPer, rawLoopPer2)],
  ['median model step duration smelt recorded (run_results.json, 1 ms resolution)', '', ms(smeltStepMedian, 2)],
  ['dbt-duckdb per model (published, not run here)', '', '~140 ms'],
];
const rows3 = [
  ['`node -e ""`', ms(nodeFloor), '1.00×'],
  ['smelt build of 1 view (start, config, compile, open DB, seed, 1 view, artifacts)', ms(fixedSmelt), ratio(fixedSmelt, nodeFloor)],
  ['raw node + DuckDB of 1 view (start, open DB, seed, 1 view)', ms(fixedRaw), ratio(fixedRaw, nodeFloor)],
  ['smelt fixed cost above raw', ms(fixedSmelt - fixedRaw), ''],
];
const markdown = `### Per-view-model overhead, ${N} views, threads 1 (${today()})

Projects: ${N} view models and 1 view model (1 seed of ${200} rows, no tests, one ref per model, DAG depth ${projects[N].gen.depth}). Fresh database file every run. Median of ${reps} repetitions, all peers side by side in rotated order; per-model = (time(${N}) − time(1)) / ${N - 1}, paired per repetition.

CLI wall time:

${mdTable(['peer', 'median wall', 'per model (marginal)', 'goal'], rows1)}

In-process (no process start in the figures):

${mdTable(['measure', 'median', 'per model'], rows2)}

Fixed start-up cost (not per model):

${mdTable(['measure', 'median wall', 'vs node -e ""'], rows3)}
`;
report(args, {
  id: 'view-overhead',
  title: `per-view overhead (${N} views)`,
  markdown,
  summary: [
    { figure: `per-view-model overhead, CLI (${N} vs 1 views)`, smelt: `${ms(smeltPer, 2)}/model`, peer: `raw duckdb ${ms(rawPer, 2)}/model`, ratio: ratio(smeltPer, rawPer), goal: 'overhead < 20 ms', met: overhead < 20, note: `overhead ${ms(overhead, 2)}` },
    { figure: 'per-view-model overhead, in-process runPlan()', smelt: `${ms(apiPer, 2)}/model`, peer: `raw loop ${ms(rawLoopPer2, 2)}/model`, ratio: ratio(apiPer, rawLoopPer2), goal: 'overhead < 20 ms', met: apiPer - rawLoopPer2 < 20, note: `overhead ${ms(apiPer - rawLoopPer2, 2)}` },
    { figure: 'fixed cost: build of 1 view model', smelt: ms(fixedSmelt), peer: `raw ${ms(fixedRaw)}; node -e "" ${ms(nodeFloor)}`, ratio: ratio(fixedSmelt, fixedRaw), goal: '—', met: null },
  ],
  data: { N, samples: cli.samples, smeltPer, rawPer, overhead, rawLoopPer, smeltRunPer, smeltStepMedian, apiPer, rawLoopPer2, inproc: inproc.samples, fixedSmelt, fixedRaw, nodeFloor },
});
