#!/usr/bin/env node
/**
 * Figure 4: CLI cold start. `smelt ls` and `smelt --version` wall time, side by side with bare Node
 * (`node -e ""`), median of `--reps` (default 10) rotated repetitions after one warm-up round (which
 * also fills jiti's transpile cache for smelt.config.ts, as any second invocation would find it).
 *
 *   node bench/cold-start.mjs [--project examples/shop] [--reps 10] [--json out.json]
 *
 * Project: examples/shop if it exists, else a generated 20-model project (noted in the output).
 * Then where the time goes: `smelt ls` taken apart phase by phase (bench/lib/ls-phases.mjs), the
 * import cost of each heavy dependency in a fresh process (bench/lib/import-cost.mjs), and a CPU
 * profile of one `smelt ls` summarized by package (bench/lib/profile-top.mjs).
 *
 * Goal: `smelt ls` under 0.5 s.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH, BIN, CHILD_ENV, ensureDist, generate, mdTable, median, ms, NODE, num, OUT, parseArgs, ratio, REPO, report, sideBySide, smelt, timeRun, today } from './lib/common.mjs';
import { summarizeProfile } from './lib/profile-top.mjs';

const args = parseArgs();
const reps = num(args.reps, 10);
ensureDist();

let dir;
let projectNote;
const shop = join(REPO, 'examples/shop');
if (typeof args.project === 'string') {
  dir = args.project;
  projectNote = `\`${args.project}\``;
} else if (existsSync(join(shop, 'smelt.config.ts'))) {
  dir = shop;
  projectNote = '`examples/shop`';
} else {
  dir = join(OUT, 'cold-start-20');
  const gen = generate(dir, { models: 20 });
  projectNote = `a generated ${gen.models}-model project (${gen.seeds} seed, ${gen.tests} tests; \`examples/shop\` did not exist when this ran)`;
}
process.stderr.write(`cold-start: project ${dir}\n`);

const { samples } = sideBySide([
  { name: 'node -e ""', run: () => timeRun(NODE, ['-e', '']) },
  { name: 'smelt --version', run: () => smelt(['--version']) },
  { name: 'smelt ls', run: () => smelt(['ls', '--project-dir', dir]) },
], { reps });
const floor = median(samples['node -e ""']);
const version = median(samples['smelt --version']);
const ls = median(samples['smelt ls']);
const lsNodes = smelt(['ls', '--project-dir', dir]).stdout.trim().split('\n').length;

// Phases of `smelt ls`, median of 5 fresh processes.
process.stderr.write('cold-start: ls phases\n');
const phases = [];
for (let i = 0; i < 5; i++) phases.push(JSON.parse(timeRun(NODE, [join(BENCH, 'lib/ls-phases.mjs'), dir]).stdout.trim().split('\n').pop()));
const ph = (k) => median(phases.map((p) => p[k]));

// Import cost of single modules, each in a fresh process, median of 5 (boot excluded).
process.stderr.write('cold-start: import costs\n');
const MODULES = [
  ['commander', 'CLI parser (always loaded)'],
  ['zod', 'config/schema validation'],
  ['jiti', 'loads smelt.config.ts'],
  ['yaml', 'YAML property files'],
  ['picocolors', 'colours'],
  ['@duckdb/node-api', 'DuckDB native binding (not needed by ls)'],
  ['dist/cli/main.js', 'CLI entry, with its static imports'],
  ['dist/index.js', "public API (what `import … from 'smelt'` in the config loads)"],
];
const imports = MODULES.map(([spec, what]) => {
  const xs = [];
  for (let i = 0; i < 5; i++) xs.push(JSON.parse(timeRun(NODE, [join(BENCH, 'lib/import-cost.mjs'), spec]).stdout.trim().split('\n').pop()).ms[0]);
  process.stderr.write(`  ${spec.padEnd(20)} ${ms(median(xs))}\n`);
  return { spec, what, ms: median(xs) };
});

// One CPU profile of `smelt ls`.
const profDir = join(OUT, 'cold-start-prof');
rmSync(profDir, { recursive: true, force: true });
timeRun(NODE, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--cpu-prof-interval', '100', BIN, 'ls', '--project-dir', dir], { env: CHILD_ENV });
const prof = summarizeProfile(join(profDir, readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'))), 10);
const duckdbLoaded = prof.byFile.some(([k]) => k.includes('@duckdb'));

const range = (k) => `${ms(Math.min(...samples[k]))}–${ms(Math.max(...samples[k]))}`;
const rows = [
  ['`node -e ""` (floor)', ms(floor), range('node -e ""'), '1.00×', ''],
  ['`smelt --version`', ms(version), range('smelt --version'), ratio(version, floor), version < 500 ? 'yes' : 'no'],
  [`\`smelt ls\` (${lsNodes} nodes)`, ms(ls), range('smelt ls'), ratio(ls, floor), ls < 500 ? 'yes' : 'no'],
  ['`smelt ls` minus Node start', ms(ls - floor), '', '—', ''],
];
const phaseRows = [
  ['Node boot (before the first line of the script)', ms(ph('bootMs'))],
  ['import CLI entry `dist/cli/main.js` (commander, zod via config/schema, core)', ms(ph('importCliMs'))],
  ['`loadConfig()`: jiti + smelt.config.ts (+ `dist/index.js` via `import … from \'smelt\'`) + zod parse', ms(ph('loadConfigMs'))],
  ['import `compile.js` (already loaded through the config\'s `smelt` import when ≈ 0)', ms(ph('importCompileMs'))],
  ['`compile()`', ms(ph('compileMs'))],
  ['select + list', ms(ph('listMs'))],
];
const importRows = imports.map((i) => [`\`${i.spec}\``, i.what, ms(i.ms)]);
const profRows = prof.byFile.map(([k, v]) => [`\`${k}\``, ms(v)]);
const markdown = `### Cold start (${today()})

Project: ${projectNote}. Median of ${reps} runs after 1 warm-up round, side by side with bare Node in rotated order.

${mdTable(['command', 'median wall', 'min–max', 'vs node -e ""', 'under 0.5 s?'], rows)}

Where \`smelt ls\` spends its time (same steps in one process, median of 5 fresh processes):

${mdTable(['phase', 'median'], phaseRows)}

Import cost of single modules, each alone in a fresh process (median of 5; Node boot excluded):

${mdTable(['module', 'role', 'import time'], importRows)}

CPU profile of one \`smelt ls\` (self time by file/package, 100 µs sampling; total ${ms(prof.total)}). DuckDB ${duckdbLoaded ? '**is**' : 'is not'} loaded by \`smelt ls\`.

${mdTable(['file / package', 'self time'], profRows)}
`;
report(args, {
  id: 'cold-start',
  title: 'cold start',
  markdown,
  summary: [
    { figure: `\`smelt ls\` cold start (${dir === shop ? 'examples/shop' : 'generated 20 models'})`, smelt: ms(ls), peer: `node -e "" ${ms(floor)}`, ratio: ratio(ls, floor), goal: '< 0.5 s', met: ls < 500 },
    { figure: '`smelt --version`', smelt: ms(version), peer: `node -e "" ${ms(floor)}`, ratio: ratio(version, floor), goal: '< 0.5 s', met: version < 500 },
  ],
  data: { dir, samples, phases, imports, profile: prof, duckdbLoaded },
});
