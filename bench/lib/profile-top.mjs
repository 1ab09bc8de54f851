/**
 * Summarizes a V8 .cpuprofile (from `node --cpu-prof`): self time by file (or
 * package under node_modules) and the top functions by self time.
 *   node bench/lib/profile-top.mjs <file.cpuprofile> [topN]
 * Also usable as a module: summarizeProfile(path, topN) → { total, byFile, byFn }.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { REPO } from './common.mjs';

function where(url) {
  if (!url) return '(native/idle)';
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = u.slice(nm + 14).split('/');
    return `node_modules/${rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (u.startsWith(REPO)) return u.slice(REPO.length + 1);
  if (u.startsWith('node:')) return u;
  return u;
}

export function summarizeProfile(path, topN = 15) {
  const p = JSON.parse(readFileSync(path, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = p.timeDeltas;
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (dt[i] ?? 0) / 1000);
  const byFile = new Map();
  const byFn = new Map();
  let total = 0;
  for (const [id, t] of self) {
    const n = byId.get(id);
    const cf = n.callFrame;
    total += t;
    const f = cf.functionName === '(idle)' || cf.functionName === '(program)' || cf.functionName === '(garbage collector)' ? cf.functionName : where(cf.url);
    byFile.set(f, (byFile.get(f) ?? 0) + t);
    const fn = `${cf.functionName || '(anonymous)'} ${where(cf.url)}:${cf.lineNumber + 1}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + t);
  }
  const top = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, topN);
  return { total, byFile: top(byFile), byFn: top(byFn) };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const s = summarizeProfile(process.argv[2], Number(process.argv[3] ?? 15));
  console.log(`total sampled: ${s.total.toFixed(1)} ms\n\nself time by file/package:`);
  for (const [k, v] of s.byFile) console.log(`  ${v.toFixed(1).padStart(8)} ms  ${k}`);
  console.log('\ntop functions (self time):');
  for (const [k, v] of s.byFn) console.log(`  ${v.toFixed(1).padStart(8)} ms  ${k}`);
}
