/** What every command needs: global options, the resolved config, the manifest, a warehouse. */
import { resolve } from 'node:path';
import type { ResolvedConfig } from '../config/schema.js';
import { UsageError } from '../core/errors.js';
import type { Warehouse } from '../storage/warehouse.js';
import type { Manifest } from '../transform/manifest.js';
import type { LoadedProject } from '../orchestrate/project.js';
import { createReporter, pickMode, type Reporter } from './output/reporter.js';

export interface GlobalOptions {
  projectDir: string;
  target?: string;
  vars?: string;
  logFormat?: 'text' | 'json';
  quiet?: boolean;
  verbose?: boolean;
}

export interface Ctx {
  readonly opts: GlobalOptions;
  readonly projectDir: string;
  readonly color: boolean;
  out(s: string): void;
  err(s: string): void;
  config(): Promise<ResolvedConfig>;
  manifest(): Promise<Manifest>;
  /** Config, ingestion sources and manifest together. */
  project(): Promise<LoadedProject>;
  warehouse(readOnly?: boolean): Promise<Warehouse>;
  reporter(): Reporter;
  close(): Promise<void>;
}

function parseVars(raw: string | undefined): Record<string, unknown> | undefined {
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v;
  } catch {
    // fall through to key=value pairs
  }
  const out: Record<string, unknown> = {};
  for (const pair of raw.split(',')) {
    const i = pair.indexOf('=') >= 0 ? pair.indexOf('=') : pair.indexOf(':');
    if (i <= 0) throw new UsageError(`cannot read --vars '${raw}'`, { hint: `use JSON ('{"start": "2024-01-01"}') or key=value pairs` });
    out[pair.slice(0, i).trim()] = pair.slice(i + 1).trim();
  }
  return out;
}

export function createCtx(opts: GlobalOptions): Ctx {
  const projectDir = resolve(opts.projectDir);
  const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && opts.logFormat !== 'json';
  let cfg: Promise<ResolvedConfig> | undefined;
  let project: Promise<LoadedProject> | undefined;
  let wh: Warehouse | undefined;
  const vars = parseVars(opts.vars);
  const ctx: Ctx = {
    opts,
    projectDir,
    color,
    out: (s) => process.stdout.write(`${s}\n`),
    err: (s) => process.stderr.write(`${s}\n`),
    // Loaded on first use: `smelt --version` and `--help` never pay for zod and the config loader.
    config: () => (cfg ??= import('../config/load-config.js').then(({ loadConfig }) => loadConfig({ projectDir, target: opts.target, vars }))),
    project: () =>
      (project ??= (async () => {
        const { loadProject } = await import('../orchestrate/project.js');
        return loadProject(await ctx.config());
      })()),
    manifest: async () => (await ctx.project()).manifest,
    async warehouse(readOnly = false) {
      if (wh) return wh;
      const c = await ctx.config();
      const { openWarehouse } = await import('../storage/registry.js');
      wh = await openWarehouse(c.target.warehouse, { projectDir, readOnly, targetName: c.target.name, defaultSchema: c.target.schema });
      return wh;
    },
    reporter: () => createReporter({ mode: pickMode(opts.logFormat), quiet: Boolean(opts.quiet), color, projectDir }),
    async close() {
      if (wh) await wh.close();
      wh = undefined;
    },
  };
  return ctx;
}
