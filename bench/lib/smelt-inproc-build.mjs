/**
 * smelt's side of the in-process comparison in bench/view-overhead.mjs: the
 * public API (loadConfig → compile → planRun → runPlan) on a fresh database
 * file, threads as given. Only runPlan is timed as "run"; the rest as setup.
 *   node bench/lib/smelt-inproc-build.mjs <project-dir> [threads]
 * Prints one JSON line with phase times (ms) and the per-step durations smelt recorded.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { DIST } from './common.mjs';

const [dir, threadsArg] = process.argv.slice(2);
const threads = Number(threadsArg ?? 1);
rmSync(join(dir, '.smelt'), { recursive: true, force: true });
const t0 = performance.now();
const api = await import(pathToFileURL(join(DIST, 'index.js')).href);
const cfg = await api.loadConfig({ projectDir: dir });
const m = await api.compile(cfg);
const plan = api.planRun(m, { command: 'build', kinds: ['seed', 'snapshot', 'model', 'test', 'unit_test'] });
const t1 = performance.now();
const wh = await api.openWarehouse(cfg.target.warehouse, { projectDir: cfg.projectDir, targetName: cfg.target.name });
const t2 = performance.now();
const r = await api.runPlan(plan, m, wh, { threads });
const t3 = performance.now();
await wh.close();
const bad = r.results.filter((x) => !['success', 'pass'].includes(x.status));
if (bad.length) throw new Error(`${bad.length} steps failed: ${JSON.stringify(bad[0])}`);
const modelSteps = r.results.filter((x) => x.kind === 'model').map((x) => x.durationMs);
process.stdout.write(`${JSON.stringify({ setupMs: t1 - t0, openMs: t2 - t1, runMs: t3 - t2, steps: r.results.length, modelSteps })}\n`);
