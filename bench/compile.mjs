#!/usr/bin/env node
/**
 * Figure 2: compiling a 1000-model project.
 *
 *   node bench/compile.mjs [--models 1000] [--reps 5] [--iters 8] [--json out.json] [--baseline <checkout>]
 *
 * - In-process: a fresh Node process imports dist/index.js and runs loadConfig() + compile() `--iters`
 *   times; the first iteration is the cold one (what a CLI invocation pays), the rest are warm (JIT'd,
 *   as in a long-running process such as a watcher or the console). Repeated in `--reps` fresh processes.
 * - CLI wall time: `smelt compile` (writes the manifest) and `smelt ls`, side by side with `node -e ""`
 *   (bare Node start, the floor) in the same run, rotated order, median of `--reps`. `smelt compile` runs
 *   twice: as a user's next run does (YAML from the parse cache in .smelt/cache, filled by the warm-up),
 *   and with the cache removed first (every property file parsed). --baseline: another checkout's
 *   build (bin/smelt.js + dist/) as one more peer, for before/after in the same run.
 *
 * Goal: under 1 s. Peer: dbt's full parse of large projects is published at 25–68 s; dbt is not
 * installed here (PyPI unreachable), so there is no side-by-side run of it.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { summarizeProfile } from './lib/profile-top.mjs';
import { CHILD_ENV, ensureDist, generate, mdTable, median, min, ms, NODE, num, OUT, parseArgs, ratio, report, sideBySide, smelt, timeRun, today, BENCH } from './lib/common.mjs';

const args = parseArgs();
const models = num(args.models, 1000);
const reps = num(args.reps, 5);
const iters = num(args.iters, 8);
ensureDist();

const dir = join(OUT, `compile-${models}`);
process.stderr.write(`compile: generating ${models}-model project in ${dir}\n`);
const gen = generate(dir, { models });

// In-process, each repetition in a fresh process.
process.stderr.write('compile: in-process loadConfig() + compile()\n');
const inproc = [];
const inprocNoCache = [];
for (let r = 0; r < reps; r++) {
  for (const [mode, into] of [[undefined, inproc], ['no-cache', inprocNoCache]]) {
    const out = timeRun(NODE, [join(BENCH, 'lib/compile-inproc.mjs'), dir, String(iters), ...(mode ? [mode] : [])]);
    const j = JSON.parse(out.stdout.trim().split('\n').pop());
    into.push(j);
    process.stderr.write(`  rep ${r + 1}/${reps}${mode ? ` ${mode}` : ''}  import ${ms(j.importMs)}  cold loadConfig ${ms(j.runs[0].loadConfigMs)} compile ${ms(j.runs[0].compileMs)}  warm compile ${ms(median(j.runs.slice(1).map((x) => x.compileMs)))}\n`);
  }
}
const nodes = inproc[0].runs[0].nodes;
const cold = (k) => median(inproc.map((j) => j.runs[0][k]));
const warm = (k) => median(inproc.flatMap((j) => j.runs.slice(1).map((x) => x[k])));
const importMs = median(inproc.map((j) => j.importMs));
const warmNoCache = (k) => median(inprocNoCache.flatMap((j) => j.runs.slice(1).map((x) => x[k])));
let baseline;
if (typeof args.baseline === 'string') {
  baseline = join(args.baseline, 'bin/smelt.js');
  if (!existsSync(baseline)) throw new Error(`--baseline ${args.baseline}: no bin/smelt.js there (a built checkout)`);
}
const cache = join(dir, '.smelt', 'cache');

// CLI, side by side with bare node.
process.stderr.write('compile: CLI wall time, side by side with node -e ""\n');
const { samples } = sideBySide([
  { name: 'node -e ""', run: () => timeRun(NODE, ['-e', '']) },
  { name: 'smelt compile', run: () => smelt(['compile', '--project-dir', dir]) },
  { name: 'smelt compile, no parse cache', before: () => rmSync(cache, { recursive: true, force: true }), run: () => smelt(['compile', '--project-dir', dir]) },
  { name: 'smelt ls', run: () => smelt(['ls', '--project-dir', dir]) },
  ...(baseline ? [{ name: 'smelt compile, baseline', run: () => timeRun(NODE, [baseline, 'compile', '--project-dir', dir], { env: CHILD_ENV }) }] : []),
], { reps });
const floor = median(samples['node -e ""']);
const cliCompile = median(samples['smelt compile']);
const cliLs = median(samples['smelt ls']);

const range = (k) => `${ms(Math.min(...samples[k]))}–${ms(Math.max(...samples[k]))}`;
// Where a cold (first-call) loadConfig() + compile() spends its time: one CPU profile, by package.
const profDir = join(OUT, 'compile-prof');
rmSync(profDir, { recursive: true, force: true });
timeRun(NODE, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--cpu-prof-interval', '200', join(BENCH, 'lib/compile-inproc.mjs'), dir, '1', 'no-phases'], { env: CHILD_ENV });
const prof = summarizeProfile(join(profDir, readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'))), 8);

const rows = [
  ['in-process compile() (cold, first call)', ms(cold('compileMs')), '—', cold('compileMs') < 1000 ? 'yes' : 'no'],
  ['in-process compile() (warm, median; YAML from the parse cache)', ms(warm('compileMs')), '—', warm('compileMs') < 1000 ? 'yes' : 'no'],
  ['in-process compile() (warm, median; parse cache removed each time)', ms(warmNoCache('compileMs')), '—', warmNoCache('compileMs') < 1000 ? 'yes' : 'no'],
  ['in-process loadConfig() (cold / warm)', `${ms(cold('loadConfigMs'))} / ${ms(warm('loadConfigMs'))}`, '—', ''],
  ['  of which: file discovery (warm)', ms(warm('discoverMs')), '—', ''],
  ['  of which: YAML property files (warm, cached / parsed)', `${ms(warm('yamlPropsMs'))} / ${ms(warmNoCache('yamlPropsMs'))}`, '—', ''],
  ['import dist/index.js', ms(importMs), '—', ''],
  ['`node -e ""` (floor)', `${ms(floor)} (${range('node -e ""')})`, '1.00×', ''],
  ['`smelt compile` CLI wall', `${ms(cliCompile)} (${range('smelt compile')})`, ratio(cliCompile, floor), cliCompile < 1000 ? 'yes' : 'no'],
  ['`smelt compile` CLI wall, parse cache removed first', `${ms(median(samples['smelt compile, no parse cache']))} (${range('smelt compile, no parse cache')})`, ratio(median(samples['smelt compile, no parse cache']), floor), median(samples['smelt compile, no parse cache']) < 1000 ? 'yes' : 'no'],
  ...(baseline ? [['`smelt compile` CLI wall, baseline (--baseline)', `${ms(median(samples['smelt compile, baseline']))} (${range('smelt compile, baseline')})`, ratio(median(samples['smelt compile, baseline']), floor), '']] : []),
  ['`smelt ls` CLI wall', `${ms(cliLs)} (${range('smelt ls')})`, ratio(cliLs, floor), cliLs < 1000 ? 'yes' : 'no'],
  ['`smelt compile` minus Node start', ms(cliCompile - floor), '—', ''],
  ['dbt parse, large project (published, not run here)', '25–68 s', '—', ''],
];
const markdown = `### Compile a ${gen.models}-model project (${today()})

Project: ${gen.models} models (${gen.materializations.view} views, ${gen.materializations.table} tables, ${gen.materializations.incremental} incremental), ${gen.seeds} seeds, ${gen.tests} column/model tests, DAG depth ${gen.depth} → ${nodes} manifest nodes.
In-process: median over ${reps} fresh processes (cold = first call; warm = calls 2–${iters}). CLI: median of ${reps}, side by side with \`node -e ""\`.

${mdTable(['measure', 'median (min–max)', 'vs node -e ""', 'under 1 s?'], rows)}

CPU profile of one fresh process doing import + cold loadConfig() + compile() (self time by file/package, 200 µs sampling, total ${ms(prof.total)}; profiling inflates it):

${mdTable(['file / package', 'self time', 'share'], prof.byFile.map(([k, v]) => [`\`${k}\``, ms(v), `${((100 * v) / prof.total).toFixed(0)}%`]))}
`;
report(args, {
  id: 'compile',
  title: `compile ${gen.models} models`,
  markdown,
  summary: [
    { figure: `compile ${gen.models} models, in-process (cold)`, smelt: ms(cold('compileMs')), peer: 'dbt parse 25–68 s (published)', ratio: '—', goal: '< 1 s', met: cold('compileMs') < 1000 },
    { figure: `\`smelt compile\` ${gen.models} models, CLI wall`, smelt: ms(cliCompile), peer: `node -e "" ${ms(floor)}`, ratio: ratio(cliCompile, floor), goal: '< 1 s', met: cliCompile < 1000 },
    { figure: `\`smelt ls\` ${gen.models} models, CLI wall`, smelt: ms(cliLs), peer: `node -e "" ${ms(floor)}`, ratio: ratio(cliLs, floor), goal: '< 1 s', met: cliLs < 1000 },
  ],
  data: { gen, inproc, profile: prof, samples, floor, cliCompile, cliLs, minCompile: min(samples['smelt compile']) },
});
