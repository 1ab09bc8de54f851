/**
 * `smelt ls` taken apart, in one fresh process (child of bench/cold-start.mjs):
 *   node bench/lib/ls-phases.mjs <project-dir>
 * Does what `smelt ls` does, in the same order, timing each phase: Node boot, importing the CLI
 * entry (commander + core), loadConfig() (jiti + the config file + zod), importing and running
 * compile(), and listing. Prints one JSON line.
 */
import { performance } from 'node:perf_hooks';
const boot = performance.now();
const { join } = await import('node:path');
const { pathToFileURL } = await import('node:url');
const { DIST } = await import('./common.mjs');
const dir = process.argv[2];
const url = (p) => pathToFileURL(join(DIST, p)).href;
const t0 = performance.now();
await import(url('cli/main.js'));
const t1 = performance.now();
const { loadConfig } = await import(url('config/load-config.js'));
const cfg = await loadConfig({ projectDir: dir });
const t2 = performance.now();
const { compile } = await import(url('transform/compile/compile.js'));
const t3 = performance.now();
const m = await compile(cfg);
const t4 = performance.now();
const { selectNodes } = await import(url('transform/select.js'));
const ids = selectNodes(m, undefined, undefined);
const lines = Object.values(m.nodes).filter((n) => ids.has(n.id)).map((n) => `${n.kind} ${n.name}`);
const t5 = performance.now();
process.stdout.write(`${JSON.stringify({
  bootMs: boot,
  benchHelpersMs: t0 - boot,
  importCliMs: t1 - t0,
  loadConfigMs: t2 - t1,
  importCompileMs: t3 - t2,
  compileMs: t4 - t3,
  listMs: t5 - t4,
  nodes: lines.length,
})}\n`);
