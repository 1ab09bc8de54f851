/**
 * Where a run leaves its records: `.smelt/target/manifest.json` and
 * `run_results.json` (latest), plus `.smelt/runs/<time>-<id>.json` (history),
 * for the scheduler and the web console. Files are written atomically.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Manifest } from './manifest.js';
import type { RunResults } from './run/results.js';

export const stateDir = (projectDir: string) => join(projectDir, '.smelt');
export const targetDir = (projectDir: string) => join(stateDir(projectDir), 'target');
export const runsDir = (projectDir: string) => join(stateDir(projectDir), 'runs');

function writeAtomic(file: string, data: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`);
  renameSync(tmp, file);
}

export function writeManifest(m: Manifest): string {
  const dir = targetDir(m.projectDir);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'manifest.json');
  writeAtomic(file, m);
  return file;
}

export function writeRunResults(projectDir: string, r: RunResults): string {
  mkdirSync(targetDir(projectDir), { recursive: true });
  mkdirSync(runsDir(projectDir), { recursive: true });
  writeAtomic(join(targetDir(projectDir), 'run_results.json'), r);
  const file = join(runsDir(projectDir), `${r.startedAt.replace(/[:.]/g, '-')}-${r.runId.slice(0, 8)}.json`);
  writeAtomic(file, r);
  return file;
}

/** Run history, newest first. */
export function listRuns(projectDir: string, limit = 50): RunResults[] {
  let files: string[];
  try {
    files = readdirSync(runsDir(projectDir)).filter((f) => f.endsWith('.json')).sort().reverse().slice(0, limit);
  } catch {
    return [];
  }
  return files.map((f) => JSON.parse(readFileSync(join(runsDir(projectDir), f), 'utf8')) as RunResults);
}
