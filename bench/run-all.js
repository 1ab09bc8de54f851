#!/usr/bin/env node
/**
 * Runs every benchmark, each in its own process, and prints one markdown report: a summary table
 * (figure, smelt, peer, ratio, goal) followed by each benchmark's own section. Also written to
 * bench/out/results/report.md (and each benchmark's JSON next to it).
 *
 *   npm run bench                      # = node bench/run-all.js
 *   node bench/run-all.js --only compile,cold-start
 *   node bench/run-all.js --quick      # fewer repetitions, for a smoke run (figures are noisier)
 *
 * Needs a built dist/ (`npm run build`); the ingestion benchmarks also need kcat (installed when missing) and a
 * PostgreSQL server (PG_BENCH_URL, default postgres://postgres@127.0.0.1:5432/postgres). Generated projects and DuckDB files go to bench/out/ (git-ignored).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH, distIsStale, ensureDist, machine, mdTable, NODE, OUT, parseArgs, REPO, today } from './lib/common.mjs';

const args = parseArgs();
ensureDist();
const quick = Boolean(args.quick);
const BENCHES = [
  { id: 'compile', file: 'compile.mjs', args: quick ? ['--reps', '3'] : ['--reps', '5'] },
  { id: 'view-overhead', file: 'view-overhead.mjs', args: quick ? ['--reps', '3'] : ['--reps', '5'] },
  { id: 'cold-start', file: 'cold-start.mjs', args: quick ? ['--reps', '5'] : ['--reps', '10'] },
  { id: 'build-threads', file: 'build-threads.mjs', args: quick ? ['--reps', '1'] : ['--reps', '3'] },
  // Ingestion (issue 3): each against its peer in the same run. Postgres needs a server (PG_BENCH_URL).
  { id: 'ndjson-bronze', file: 'ndjson-bronze.mjs', args: quick ? ['--lines', '200000', '--reps', '2', '--no-profile'] : ['--reps', '3'] },
  { id: 'kafka-bronze', file: 'kafka-bronze.mjs', args: quick ? ['--messages', '200000', '--partitions', '16', '--reps', '2', '--no-profile'] : ['--reps', '3'] },
  { id: 'postgres-bronze', file: 'postgres-bronze.mjs', args: quick ? ['--rows', '1000000', '--reps', '2', '--no-profile'] : ['--reps', '3'] },
  // PostgreSQL as the warehouse (issue 4): Kafka → JSONB bronze vs psql \copy, the example on PostgreSQL vs DuckDB,
  // gold on 1M-row facts. Needs a server (PG_BENCH_URL), kcat and the mock broker; its setup at scale 250 takes minutes.
  { id: 'postgres-warehouse', file: 'postgres-warehouse.mjs', args: quick ? ['--quick'] : ['--reps', '3'] },
];
const only = typeof args.only === 'string' ? new Set(args.only.split(',')) : undefined;
const resultsDir = join(OUT, 'results');
mkdirSync(resultsDir, { recursive: true });

if (distIsStale()) process.stderr.write('warning: src/ has files newer than dist/; run `npm run build` to benchmark the current source\n');

const results = [];
for (const b of BENCHES) {
  if (only && !only.has(b.id)) continue;
  const json = join(resultsDir, `${b.id}.json`);
  const cmd = [join(BENCH, b.file), ...b.args, '--json', json];
  process.stderr.write(`\n== ${b.id}: node ${cmd.map((c) => c.replace(`${REPO}/`, '')).join(' ')}\n`);
  const t0 = Date.now();
  const r = spawnSync(NODE, cmd, { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) {
    process.stderr.write(`!! ${b.id} failed (exit ${r.status})\n`);
    results.push({ id: b.id, failed: true });
    continue;
  }
  const res = JSON.parse(readFileSync(json, 'utf8'));
  res.seconds = (Date.now() - t0) / 1000;
  res.command = `node bench/${b.file} ${b.args.join(' ')}`;
  results.push(res);
}

const met = (m) => (m === true ? 'yes' : m === false ? '**no**' : '—');
const summaryRows = results.flatMap((r) =>
  r.failed
    ? [[r.id, 'FAILED', '', '', '', '']]
    : r.summary.map((s) => [s.figure, s.smelt, s.peer, s.ratio, s.goal, met(s.met)]));
const out = [
  `## smelt benchmarks — ${today()}`,
  '',
  `Machine: ${machine()}. Shared and noisy: compare the ratios (peers are measured side by side in the same run), not the absolute numbers.`,
  '',
  mdTable(['figure', 'smelt', 'peer (same run)', 'ratio', 'goal', 'met'], summaryRows),
  '',
  ...results.filter((r) => !r.failed).flatMap((r) => [r.markdown.replace(/^### /, '### '), `Command: \`${r.command}\` (${r.seconds.toFixed(0)} s)`, '']),
].join('\n');
process.stdout.write(`${out}\n`);
writeFileSync(join(resultsDir, 'report.md'), `${out}\n`);
process.exitCode = results.some((r) => r.failed) ? 1 : 0;
