#!/usr/bin/env node
/**
 * Figure 5: full `smelt build` of the generated 1000-model project (seeds, views, tables,
 * incremental models and their tests), `--threads 1` against `--threads 4`, a fresh database file
 * for every run, side by side in rotated order, median of `--reps` (default 3).
 *
 *   node bench/build-threads.mjs [--models 1000] [--reps 3] [--threads 1,4] [--json out.json]
 *
 * Reported: CLI wall time, and the run phase alone (run_results.json durationMs: from the first
 * step to the last, without process start, config and compile), and the speed-up ratio. Then, unless
 * `--no-profile`, one extra in-process build with threads 1 where every DuckDB call is timed and
 * grouped by statement kind (bench/lib/statement-profile.mjs), to show where the run phase goes.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { BENCH, ensureDist, generate, mdTable, median, ms, NODE, num, OUT, parseArgs, report, resetState, sideBySide, smelt, timeRun, today } from './lib/common.mjs';

const args = parseArgs();
const models = num(args.models, 1000);
const reps = num(args.reps, 3);
const threads = String(args.threads ?? '1,4').split(',').map(Number);
ensureDist();

const dir = join(OUT, `build-${models}`);
process.stderr.write(`build-threads: generating ${models}-model project in ${dir}\n`);
const gen = generate(dir, { models });
smelt(['compile', '--project-dir', dir]); // fills jiti's cache for the config, as any earlier run would

const peers = threads.map((t) => ({
  name: `smelt build --threads ${t}`,
  before: () => resetState(dir),
  run: () => {
    const r = smelt(['build', '--threads', String(t), '--project-dir', dir]);
    const rr = JSON.parse(readFileSync(join(dir, '.smelt/target/run_results.json'), 'utf8'));
    if (rr.summary.error || rr.summary.skip) throw new Error(`build not clean: ${JSON.stringify(rr.summary)}`);
    return { wall: r.wall, runMs: rr.durationMs, steps: rr.summary.total };
  },
}));
const { samples, extras } = sideBySide(peers, { reps, warmup: 0 });
const res = peers.map((p) => ({
  threads: Number(p.name.split(' ').pop()),
  wall: median(samples[p.name]),
  range: `${ms(Math.min(...samples[p.name]))}–${ms(Math.max(...samples[p.name]))}`,
  run: median(extras[p.name].map((x) => x.runMs)),
  steps: extras[p.name][0].steps,
}));
const base = res[0];
const rows = res.map((r) => [
  `\`smelt build --threads ${r.threads}\``,
  ms(r.wall),
  r.range,
  ms(r.run),
  `${(base.wall / r.wall).toFixed(2)}×`,
  `${(base.run / r.run).toFixed(2)}×`,
  ms((r.run / r.steps), 2),
]);
let profileMd = '';
let profile;
if (!args['no-profile']) {
  process.stderr.write('build-threads: statement profile (threads 1, in-process)\n');
  profile = JSON.parse(timeRun(NODE, [join(BENCH, 'lib/statement-profile.mjs'), dir, '1']).stdout.trim().split('\n').pop());
  const sum = profile.rows.reduce((a, r) => a + r.totalMs, 0);
  profileMd = `
Where the run phase goes (one extra in-process build, threads 1, every DuckDB call timed; run phase ${ms(profile.runMs)}, ${ms(sum)} of it inside DuckDB calls):

${mdTable(['statement kind', 'calls', 'total', 'mean', 'share of run'], profile.rows.map((r) => [r.what, String(r.count), ms(r.totalMs), ms(r.meanMs, 2), `${((100 * r.totalMs) / profile.runMs).toFixed(1)}%`]))}
`;
}
const markdown = `### Full build, ${gen.models} models, threads ${threads.join(' vs ')} (${today()})

Project: ${gen.models} models (${gen.materializations.view} views, ${gen.materializations.table} tables, ${gen.materializations.incremental} incremental), ${gen.seeds} seeds, ${gen.tests} data tests → ${res[0].steps} build steps; DAG depth ${gen.depth}. Fresh database file every run; median of ${reps}, side by side in rotated order. Machine: ${cpus().length} cores (DuckDB itself uses all of them in every configuration).

${mdTable(['command', 'median wall', 'wall min–max', 'run phase (run_results)', `wall speed-up vs ${threads[0]}`, `run speed-up vs ${threads[0]}`, 'run time per step'], rows)}
${profileMd}`;
report(args, {
  id: 'build-threads',
  title: `build ${gen.models} models, threads`,
  markdown,
  summary: res.slice(1).map((r) => ({
    figure: `full build ${gen.models} models: --threads ${r.threads} vs ${base.threads}`,
    smelt: `${ms(r.wall)} (run ${ms(r.run)})`,
    peer: `--threads ${base.threads}: ${ms(base.wall)} (run ${ms(base.run)})`,
    ratio: `${(base.wall / r.wall).toFixed(2)}× faster`,
    goal: '—',
    met: null,
  })),
  data: { gen, samples, extras, res, profile },
});
