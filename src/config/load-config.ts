import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../core/errors.js';
import { registerSecret } from '../core/redact.js';
import { didYouMean } from '../core/suggest.js';
import { lineOfKeyPath, splitPath } from './locate.js';
import { parseWith } from './validate.js';
import { projectConfigSchema, type ResolvedConfig } from './schema.js';

const CONFIG_FILES = ['smelt.config.ts', 'smelt.config.mts', 'smelt.config.js', 'smelt.config.mjs'];

export interface LoadConfigOptions {
  projectDir: string;
  /** `--target`; falls back to SMELT_TARGET, then the config's defaultTarget. */
  target?: string;
  /** `--vars` overrides. */
  vars?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
}

/**
 * Reads `.env` in the project (KEY=value lines) without overriding the real environment.
 * As in dotenv, ` # comment` after an unquoted value is a comment (a password ending in
 * "# prod" would otherwise be wrong in a way nobody can see); `#` inside quotes, or without
 * a space before it, is part of the value.
 */
function readDotEnv(dir: string): Record<string, string> {
  const file = join(dir, '.env');
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_]\w*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    const quoted = /^(['"])(.*?)\1(\s+#.*)?$/.exec(m[2]!);
    out[m[1]!] = quoted ? quoted[2]! : m[2]!.replace(/\s+#.*$/, '');
  }
  return out;
}

/** Replaces every `env('X')` marker with its value, registering it as a secret. */
type Locate = (path: string) => number | undefined;

function resolveEnvRefs(value: unknown, env: Record<string, string | undefined>, path: string, file: string, locate: Locate = () => undefined): unknown {
  if (Array.isArray(value)) return value.map((v, i) => resolveEnvRefs(v, env, `${path}[${i}]`, file, locate));
  if (value && typeof value === 'object') {
    if ('$env' in value && typeof (value as any).$env === 'string') {
      const ref = value as { $env: string; default?: string };
      const v = env[ref.$env] ?? ref.default;
      if (v === undefined) {
        throw new ConfigError(`${path}: environment variable ${ref.$env} is not set`, {
          location: { file, line: locate(path) },
          hint: `export ${ref.$env}=… or add it to .env in the project folder`,
        });
      }
      registerSecret(v);
      return v;
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveEnvRefs(v, env, path ? `${path}.${k}` : k, file, locate)]));
  }
  return value;
}

/** Imports a TypeScript or JavaScript config file. jiti is loaded only here, so other paths stay fast. */
export async function importConfig(file: string): Promise<unknown> {
  const { createJiti } = await import('jiti');
  const self = fileURLToPath(new URL('../config-api.js', import.meta.url));
  const jiti = createJiti(import.meta.url, { alias: { smelt: self }, moduleCache: false });
  try {
    return await jiti.import(file, { default: true });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const m = /:(\d+):(\d+)/.exec(msg);
    throw new ConfigError(`cannot load ${file}: ${msg.split('\n')[0]}`, {
      location: { file, line: m ? Number(m[1]) : undefined },
      cause: e,
    });
  }
}

/** `sources/<name>.ts`: each default export declares the source `<name>`. */
async function loadSourceFiles(projectDir: string, env: Record<string, string | undefined>) {
  const dir = join(projectDir, 'sources');
  if (!existsSync(dir)) return [];
  const out: { name: string; file: string; value: unknown; locate: (p: readonly PropertyKey[]) => number | undefined }[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!/\.(ts|mts|js|mjs)$/.test(f) || /\.test\./.test(f)) continue;
    const file = join(dir, f);
    const src = readFileSync(file, 'utf8');
    const name = f.replace(/\.[^.]+$/, '');
    // Messages say `sources.<name>.…`; inside the file the path starts after that prefix.
    const value = resolveEnvRefs(await importConfig(file), env, `sources.${name}`, file, (p) => lineOfKeyPath(src, splitPath(p).slice(2)));
    out.push({ name, file: `sources/${f}`, value, locate: (p: readonly PropertyKey[]) => lineOfKeyPath(src, p) });
  }
  return out;
}

export function findConfigFile(projectDir: string): string | undefined {
  for (const name of CONFIG_FILES) {
    const f = join(projectDir, name);
    if (existsSync(f)) return f;
  }
  return undefined;
}

/** `env('X')` markers with their variable's name in place of the value. */
function unresolved(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unresolved);
  if (value && typeof value === 'object') {
    if ('$env' in value && typeof (value as { $env: unknown }).$env === 'string') return `<env ${(value as { $env: string }).$env}>`;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unresolved(v)]));
  }
  return value;
}

/**
 * Only the chosen target's `env()` values are read: running `dev` must not need the
 * production password. The other targets keep placeholders (they are still validated).
 */
function deferOtherTargets(raw: unknown, chosen: string | undefined): unknown {
  if (!raw || typeof raw !== 'object') return raw;
  const cfg = raw as Record<string, unknown>;
  if (!cfg.targets || typeof cfg.targets !== 'object' || Array.isArray(cfg.targets)) return raw;
  const name = chosen ?? (typeof cfg.defaultTarget === 'string' ? cfg.defaultTarget : 'dev');
  const targets = Object.fromEntries(Object.entries(cfg.targets).map(([k, v]) => [k, k === name ? v : unresolved(v)]));
  return { ...cfg, targets };
}

/** Loads, validates and resolves the project config for one target. */
export async function loadConfig(opts: LoadConfigOptions): Promise<ResolvedConfig> {
  const projectDir = resolve(opts.projectDir);
  const file = findConfigFile(projectDir);
  if (!file) {
    throw new ConfigError(`no smelt.config.ts in ${projectDir}`, {
      hint: 'run `smelt init` to create a project, or pass --project-dir',
    });
  }
  let raw = await importConfig(file);
  if (typeof raw === 'function') raw = await raw({});
  const env = { ...readDotEnv(projectDir), ...(opts.env ?? process.env) };
  // An empty SMELT_TARGET (a CI matrix entry without a value) means "not set", not a target named ''.
  const chosen = opts.target || env.SMELT_TARGET || undefined;
  const source = readFileSync(file, 'utf8');
  const locate = (path: readonly PropertyKey[]) => lineOfKeyPath(source, path);
  const resolved = resolveEnvRefs(deferOtherTargets(raw, chosen), env, '', file, (p) => locate(splitPath(p)));
  const cfg = parseWith(projectConfigSchema, resolved, '', { file }, locate);

  const targets = cfg.targets ?? {};
  if (cfg.warehouse) {
    if (cfg.targets) throw new ConfigError('set either `warehouse` or `targets`, not both', { location: { file } });
    targets.dev = { warehouse: cfg.warehouse, schema: 'main', threads: 4, vars: {} };
  }
  if (Object.keys(targets).length === 0) targets.dev = { warehouse: { type: 'duckdb' }, schema: 'main', threads: 4, vars: {} };
  const name = chosen ?? cfg.defaultTarget;
  const target = targets[name];
  if (!target) {
    throw new ConfigError(`unknown target '${name}'`, {
      // From --target or SMELT_TARGET the file lists the targets; from defaultTarget, that line is the typo.
      location: { file, line: chosen === undefined ? locate(['defaultTarget']) : undefined },
      hint: didYouMean(name, Object.keys(targets)) ?? `targets in this project: ${Object.keys(targets).join(', ')}`,
    });
  }
  const sources = [
    ...Object.entries(cfg.sources).map(([name, value]) => ({ name, file, value, locate: (p: readonly PropertyKey[]) => locate(['sources', name, ...p]) })),
    ...(await loadSourceFiles(projectDir, env)),
  ];
  const { targets: _t, warehouse: _w, sources: _s, ...rest } = cfg;
  return {
    ...rest,
    vars: { ...cfg.vars, ...target.vars, ...(opts.vars ?? {}) },
    sources,
    projectDir,
    configFile: file,
    target: { name, ...target },
    targetNames: Object.keys(targets),
  };
}
