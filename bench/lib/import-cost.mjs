/**
 * Time to import one module in a fresh process (child of bench/cold-start.mjs):
 *   node bench/lib/import-cost.mjs <specifier-or-repo-relative-path> [...more, imported in order]
 * Prints one JSON line: { ms: [per module, cumulative order], bootMs } where bootMs is the
 * time Node took before this script's first line ran (performance.now() at entry).
 */
import { performance } from 'node:perf_hooks';
const bootMs = performance.now();
const { join } = await import('node:path');
const { pathToFileURL } = await import('node:url');
const { REPO } = await import('./common.mjs');
const out = [];
for (const spec of process.argv.slice(2)) {
  const target = spec.startsWith('dist/') ? pathToFileURL(join(REPO, spec)).href : spec;
  const t = performance.now();
  await import(target);
  out.push(performance.now() - t);
}
process.stdout.write(`${JSON.stringify({ bootMs, ms: out })}\n`);
