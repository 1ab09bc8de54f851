/**
 * In-process compile timing (child of bench/compile.mjs), in a fresh Node process:
 *   node bench/lib/compile-inproc.mjs <project-dir> [iterations] [no-phases|no-cache]
 * Prints one JSON line: import time of dist/index.js, then per iteration the
 * time of loadConfig() and compile(), plus two sub-phases of compile (file
 * discovery and YAML property parsing) measured on their own. `no-cache` removes the YAML parse
 * cache (.smelt/cache) before each iteration, so every compile parses all property files.
 */
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { DIST } from './common.mjs';

const [dir, itersArg, mode] = process.argv.slice(2);
const phases = mode !== 'no-phases'; // 'no-phases': only loadConfig + compile (for a clean CPU profile)
const noCache = mode === 'no-cache';
const iters = Number(itersArg ?? 8);
const t0 = performance.now();
const { loadConfig, compile } = await import(pathToFileURL(join(DIST, 'index.js')).href);
const importMs = performance.now() - t0;
const { discoverProject } = await import(pathToFileURL(join(DIST, 'transform/project/discover.js')).href);
const { readProjectProps } = await import(pathToFileURL(join(DIST, 'transform/project/yaml-props.js')).href);

const runs = [];
for (let i = 0; i < iters; i++) {
  // no-cache: every compile parses all YAML again (the parse cache in .smelt/cache is removed first).
  if (noCache) rmSync(join(dir, '.smelt', 'cache'), { recursive: true, force: true });
  const a = performance.now();
  const cfg = await loadConfig({ projectDir: dir });
  const b = performance.now();
  const m = await compile(cfg);
  const c = performance.now();
  const files = phases ? discoverProject(cfg.projectDir) : undefined;
  const d = performance.now();
  if (phases && noCache) rmSync(join(dir, '.smelt', 'cache'), { recursive: true, force: true });
  const d2 = performance.now();
  if (phases) await readProjectProps(cfg.projectDir, files.yaml);
  const e = performance.now();
  runs.push({ loadConfigMs: b - a, compileMs: c - b, discoverMs: d - c, yamlPropsMs: e - d2, nodes: Object.keys(m.nodes).length });
}
process.stdout.write(`${JSON.stringify({ importMs, runs })}\n`);
