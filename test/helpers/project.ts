/**
 * Test fixture projects, written from plain objects into a fresh temp folder
 * (dbt's `project` fixture): `{ 'models/a.sql': 'select 1 as x' }`. A config is
 * added unless the files give one. `runCli` runs the real built CLI.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(REPO, 'bin/smelt.js');

export const DEFAULT_CONFIG = `import { defineConfig } from 'smelt';
export default defineConfig({ name: 'fixture' });
`;

export interface TempProject {
  readonly dir: string;
  write(files: Record<string, string>): void;
  remove(): void;
}

export function makeProject(files: Record<string, string>, prefix = 'smelt-test-'): TempProject {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const write = (fs: Record<string, string>) => {
    for (const [path, content] of Object.entries(fs)) {
      const full = join(dir, path);
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, content);
    }
  };
  write({ 'smelt.config.ts': DEFAULT_CONFIG, ...files });
  return { dir, write, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `smelt <args>` synchronously, in plain (CI) output mode. */
export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? REPO,
    env: { ...process.env, CI: '1', NO_COLOR: '1', ...opts.env },
    encoding: 'utf8',
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `smelt query <sql> --format json` in `cwd`: every row, or an error with what the CLI printed. */
export function queryJson<T = Record<string, unknown>>(cwd: string, sql: string, env?: Record<string, string>): T[] {
  const r = runCli(['query', sql, '--format', 'json', '--limit', '0'], { cwd, env });
  if (r.code !== 0) throw new Error(`smelt query failed (${r.code}): ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout) as T[];
}

/** Runs `smelt <args>` asynchronously (for kill tests); resolves with the child process handle. */
export function spawnCli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  return spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? REPO,
    env: { ...process.env, CI: '1', NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
