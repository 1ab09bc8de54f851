/**
 * Shared helpers for the benchmarks: paths, argument parsing, timing of child
 * processes, interleaved (side-by-side) sampling, medians and markdown tables.
 * No dependencies beyond Node itself.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BENCH = join(REPO, 'bench');
export const OUT = join(BENCH, 'out');
export const BIN = join(REPO, 'bin/smelt.js');
export const DIST = join(REPO, 'dist');
export const NODE = process.execPath;

/** `--key value`, `--key=value` and bare `--flag` (true); positionals in `_`. */
export function parseArgs(argv = process.argv.slice(2)) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) { out._.push(a); continue; }
    const eq = a.indexOf('=');
    if (eq > 0) { out[a.slice(2, eq)] = a.slice(eq + 1); continue; }
    const key = a.slice(2);
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) { out[key] = next; i++; }
    else out[key] = true;
  }
  return out;
}

export const num = (v, d) => (v === undefined || v === true ? d : Number(v));

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const min = (xs) => Math.min(...xs);
export const max = (xs) => Math.max(...xs);

/** Formats milliseconds: `12.3 ms` below 10 s, `12.34 s` above. */
export function ms(v, digits = 1) {
  if (!Number.isFinite(v)) return 'n/a';
  return v >= 10000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(digits)} ms`;
}

export const ratio = (a, b) => (b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a');

export function mdTable(headers, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Child environment: plain (CI) output, no colour, same as the test helpers. */
export const CHILD_ENV = { ...process.env, CI: '1', NO_COLOR: '1' };

/**
 * Runs a command synchronously and returns its wall time in ms (measured in
 * this process around spawnSync, so every peer pays the same spawn cost).
 */
export function timeRun(cmd, args, { cwd = REPO, env = CHILD_ENV, allowFail = false } = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (!allowFail && (r.status !== 0 || r.error)) {
    const tail = (s) => (s ?? '').split('\n').slice(-30).join('\n');
    throw new Error(`command failed (${r.status ?? r.error}): ${cmd} ${args.join(' ')}\n--- stdout\n${tail(r.stdout)}\n--- stderr\n${tail(r.stderr)}`);
  }
  return { wall, stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** Parses /usr/bin/time -v output: peak RSS (MB) and CPU (user + sys, ms) of the timed process. */
export function timeV(stderr) {
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1] ?? NaN);
  const cpu = Number(/User time \(seconds\): ([\d.]+)/.exec(stderr)?.[1] ?? NaN) + Number(/System time \(seconds\): ([\d.]+)/.exec(stderr)?.[1] ?? NaN);
  return { rssMb: kb / 1024, cpuMs: cpu * 1000 };
}

/** `node bin/smelt.js <args>` */
export const smelt = (args, opts) => timeRun(NODE, [BIN, ...args], opts);

/**
 * Side-by-side sampling: every repetition runs every peer once, in an order
 * rotated per repetition, so slow phases of a noisy machine hit all peers
 * alike. `warmup` repetitions are run first and discarded. Each peer is
 * `{ name, run: () => number | {wall, ...} , before?: () => void }`; `before`
 * runs untimed (e.g. deleting the database file).
 */
export function sideBySide(peers, { reps = 5, warmup = 1, log = true } = {}) {
  const samples = Object.fromEntries(peers.map((p) => [p.name, []]));
  const extras = Object.fromEntries(peers.map((p) => [p.name, []]));
  for (let rep = -warmup; rep < reps; rep++) {
    const rot = ((rep % peers.length) + peers.length) % peers.length;
    const order = [...peers.slice(rot), ...peers.slice(0, rot)];
    for (const p of order) {
      p.before?.();
      const r = p.run();
      const wall = typeof r === 'number' ? r : r.wall;
      if (rep >= 0) {
        samples[p.name].push(wall);
        extras[p.name].push(r);
      }
      if (log) process.stderr.write(`  ${rep < 0 ? 'warmup' : `rep ${rep + 1}/${reps}`}  ${p.name.padEnd(34)} ${ms(wall)}\n`);
    }
  }
  return { samples, extras };
}

export function ensureDist() {
  if (!existsSync(join(DIST, 'index.js')) || !existsSync(join(DIST, 'cli/main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first');
  }
}

/** Newest mtime under a folder (for a "dist is older than src" warning). */
function newest(dir) {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const f = join(dir, name);
    const s = statSync(f);
    t = Math.max(t, s.isDirectory() ? newest(f) : s.mtimeMs);
  }
  return t;
}

export function distIsStale() {
  try {
    return newest(join(REPO, 'src')) > newest(DIST);
  } catch {
    return false;
  }
}

export function machine() {
  const c = cpus();
  return `${c.length} × ${c[0]?.model?.trim() ?? 'cpu'}, Node ${process.version}, ${process.platform}/${process.arch}`;
}

export function freshDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Removes the project's DuckDB files and run state, so the next build starts from an empty database. */
export function resetState(projectDir) {
  rmSync(join(projectDir, '.smelt'), { recursive: true, force: true });
}

/** Generates a synthetic project (bench/gen-project.mjs) in a child process; returns its summary. */
export function generate(dir, opts = {}) {
  const args = [join(BENCH, 'gen-project.mjs'), dir, '--json'];
  for (const [k, v] of Object.entries(opts)) {
    if (v === true) args.push(`--${k}`);
    else if (v !== false && v !== undefined) args.push(`--${k}`, String(v));
  }
  const r = timeRun(NODE, args);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/**
 * Each benchmark ends by calling this: prints the markdown report, and with
 * `--json <file>` also writes the structured result for bench/run-all.js.
 */
export function report(args, result) {
  process.stdout.write(`${result.markdown}\n`);
  if (typeof args.json === 'string') {
    mkdirSync(dirname(resolve(args.json)), { recursive: true });
    writeFileSync(resolve(args.json), JSON.stringify(result, null, 2));
  }
}

export const today = () => new Date().toISOString().slice(0, 10);

/**
 * A ceiling peer (run in a child process): DuckDB runs `CREATE TABLE t AS <select>` itself, on all
 * cores, into a fresh database file `db` (closing it checkpoints); returns the row count.
 */
export async function loadIntoFreshDb(db, select) {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  rmSync(db, { force: true });
  rmSync(`${db}.wal`, { force: true });
  const inst = await DuckDBInstance.create(db);
  const c = await inst.connect();
  await c.run(`CREATE TABLE t AS ${select}`);
  const n = (await c.runAndReadAll('SELECT count(*) FROM t')).getRows()[0][0];
  c.closeSync();
  inst.closeSync();
  return n;
}

/** The read_json peer: DuckDB loads `source` (a path or glob) with `options` for read_json. */
export const readJsonIntoFreshDb = (db, source, options = '') =>
  loadIntoFreshDb(db, `SELECT * FROM read_json('${source}'${options ? `, ${options}` : ''})`);
