/**
 * smelt.config.ts as users write it: defineConfig/env() imported from 'smelt', values from the
 * environment and `.env`, the target chosen by --target > SMELT_TARGET > defaultTarget, and only
 * that target's env() values required. A bad value names smelt.config.ts, its line and the option
 * path; a secret read with env() never shows up in what an error prints.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeProject, type TempProject } from '../../test/helpers/project.js';
import { formatError } from '../cli/output/format-error.js';
import { ConfigError } from '../core/errors.js';
import { defineConfig, env } from './define-config.js';
import { loadConfig, type LoadConfigOptions } from './load-config.js';

const projects: TempProject[] = [];
afterEach(() => {
  for (const p of projects.splice(0)) p.remove();
});

/** A project whose smelt.config.ts is `body` (after the import line), plus extra files. */
function project(body: string, files: Record<string, string> = {}): TempProject {
  const p = makeProject({ 'smelt.config.ts': `import { defineConfig, env } from 'smelt';\n${body}\n`, ...files }, 'smelt-config-');
  projects.push(p);
  return p;
}

const load = (p: TempProject, o: Partial<LoadConfigOptions> = {}) => loadConfig({ projectDir: p.dir, env: {}, ...o });

async function configError(p: TempProject, o: Partial<LoadConfigOptions> = {}): Promise<ConfigError> {
  const e = await load(p, o).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, 'loading the config should fail').toBeInstanceOf(ConfigError);
  expect((e as ConfigError).exitCode).toBe(2);
  return e as ConfigError;
}

/** 1-based line, in the smelt.config.ts that `project(body)` writes, of the first line containing `text`. */
const lineOf = (body: string, text: string) => `import;\n${body}`.split('\n').findIndex((l) => l.includes(text)) + 1;

const TARGETS = `
export default defineConfig({
  name: 'cfg',
  defaultTarget: 'dev',
  targets: {
    dev: { warehouse: { type: 'duckdb' }, vars: { where: 'dev' } },
    ci: { warehouse: { type: 'duckdb', path: ':memory:' }, threads: 2, vars: { where: 'ci' } },
    prod: { warehouse: { type: 'postgres', url: env('PROD_URL') }, schema: 'analytics', vars: { where: 'prod' } },
  },
});`;

describe('defineConfig and env()', () => {
  it('defineConfig returns the config as given; env() is a marker, with an optional default', () => {
    const c = { name: 'x', vars: { a: 1 } };
    expect(defineConfig(c)).toBe(c);
    expect(env('A')).toEqual({ $env: 'A' });
    expect(env('A', 'b')).toEqual({ $env: 'A', default: 'b' });
  });

  it('reads env() from the environment, then .env, then the default', async () => {
    const p = project("export default defineConfig({ name: 'cfg', vars: { a: env('A'), b: env('B'), c: env('C', 'dflt') } });", {
      '.env': 'A=from_dotenv\nexport B="quoted value"\n# a comment\n',
    });
    expect((await load(p)).vars).toEqual({ a: 'from_dotenv', b: 'quoted value', c: 'dflt' });
    expect((await load(p, { env: { A: 'from_env', C: 'set' } })).vars).toEqual({ a: 'from_env', b: 'quoted value', c: 'set' });
  });

  it('.env strips an inline comment after an unquoted value but keeps # inside quotes', async () => {
    const p = project("export default defineConfig({ name: 'cfg', vars: { a: env('A'), b: env('B'), c: env('C') } });", {
      '.env': "A=plain # the dev value\nB='has # hash' # comment\nC=pa#ss\n",
    });
    expect((await load(p)).vars).toEqual({ a: 'plain', b: 'has # hash', c: 'pa#ss' });
  });

  it('accepts a config exported as a function', async () => {
    const p = project("export default () => defineConfig({ name: 'fn', vars: { k: 1 } });");
    expect((await load(p)).name).toBe('fn');
  });

  it('an env() outside targets is always required, and the error names the variable and option', async () => {
    const body = "export default defineConfig({\n  name: 'cfg',\n  vars: {\n    key: env('API_KEY'),\n  },\n});";
    const e = await configError(project(body));
    expect(e.message).toBe('vars.key: environment variable API_KEY is not set');
    expect(e.hint).toMatch(/API_KEY.*\.env/);
    expect(e.location?.file).toMatch(/smelt\.config\.ts$/);
    expect(e.location?.line).toBe(lineOf(body, 'API_KEY'));
  });
});

describe('choosing the target', () => {
  it('--target beats SMELT_TARGET, which beats defaultTarget', async () => {
    const p = project(TARGETS);
    const env = { SMELT_TARGET: 'ci', PROD_URL: 'postgres://u:pw12345@h/db' };
    expect((await load(p)).target.name).toBe('dev');
    expect((await load(p, { env })).target.name).toBe('ci');
    expect((await load(p, { env, target: 'prod' })).target.name).toBe('prod');
  });

  it('SMELT_TARGET can come from .env, and an empty SMELT_TARGET means unset', async () => {
    expect((await load(project(TARGETS, { '.env': 'SMELT_TARGET=ci\n' }))).target.name).toBe('ci');
    expect((await load(project(TARGETS), { env: { SMELT_TARGET: '' } })).target.name).toBe('dev');
  });

  it('resolves the chosen target with its defaults, and its vars over the project vars, under --vars', async () => {
    const p = project(TARGETS.replace("name: 'cfg',", "name: 'cfg',\n  vars: { where: 'project', keep: 1 },"));
    const ci = await load(p, { target: 'ci' });
    expect(ci.target).toEqual({ name: 'ci', warehouse: { type: 'duckdb', path: ':memory:' }, schema: 'main', threads: 2, vars: { where: 'ci' } });
    expect(ci.vars).toEqual({ where: 'ci', keep: 1 });
    expect((await load(p, { target: 'ci', vars: { where: 'cli' } })).vars).toEqual({ where: 'cli', keep: 1 });
    expect(ci.targetNames).toEqual(['dev', 'ci', 'prod']);
  });

  it('without targets there is one dev target on DuckDB; `warehouse` is shorthand for it', async () => {
    expect((await load(project("export default defineConfig({ name: 'cfg' });"))).target).toMatchObject({ name: 'dev', warehouse: { type: 'duckdb' }, threads: 4 });
    const short = await load(project("export default defineConfig({ name: 'cfg', warehouse: { type: 'duckdb', path: 'x.duckdb' } });"));
    expect(short.target).toMatchObject({ name: 'dev', warehouse: { type: 'duckdb', path: 'x.duckdb' } });
    const both = await configError(project("export default defineConfig({ name: 'cfg', warehouse: { type: 'duckdb' }, targets: { dev: { warehouse: { type: 'duckdb' } } } });"));
    expect(both.message).toMatch(/either `warehouse` or `targets`/);
  });

  it('an unknown target suggests the closest one, or lists them', async () => {
    const p = project(TARGETS);
    const e = await configError(p, { target: 'prd' });
    expect([e.message, e.hint]).toEqual(["unknown target 'prd'", "did you mean 'prod'?"]);
    expect((await configError(p, { env: { SMELT_TARGET: 'staging' } })).hint).toBe('targets in this project: dev, ci, prod');
  });

  it('an unknown defaultTarget points at its line in smelt.config.ts', async () => {
    const body = TARGETS.replace("defaultTarget: 'dev'", "defaultTarget: 'dve'");
    const e = await configError(project(body));
    expect(e.hint).toBe("did you mean 'dev'?");
    expect(e.location?.line).toBe(lineOf(body, 'defaultTarget'));
  });
});

describe("only the chosen target's env() values are needed", () => {
  it('dev and ci run without PROD_URL; prod without it fails naming the option and the variable', async () => {
    const p = project(TARGETS);
    expect((await load(p)).target.name).toBe('dev');
    expect((await load(p, { target: 'ci' })).target.name).toBe('ci');
    const e = await configError(p, { target: 'prod' });
    expect(e.message).toBe('targets.prod.warehouse.url: environment variable PROD_URL is not set');
    expect(e.location?.line).toBe(lineOf(TARGETS, "env('PROD_URL')"));
    expect((await configError(p, { env: { SMELT_TARGET: 'prod' } })).message).toMatch(/PROD_URL/);
  });

  it('the chosen target gets the value; a defaultTarget of prod overridden by --target dev needs nothing', async () => {
    const p = project(TARGETS);
    const prod = await load(p, { target: 'prod', env: { PROD_URL: 'postgres://u:pw12345@h/db' } });
    expect(prod.target.warehouse).toEqual({ type: 'postgres', url: 'postgres://u:pw12345@h/db' });
    expect(prod.target.schema).toBe('analytics');
    const q = project(TARGETS.replace("defaultTarget: 'dev'", "defaultTarget: 'prod'"));
    expect((await configError(q)).message).toMatch(/PROD_URL/);
    expect((await load(q, { target: 'dev' })).target.name).toBe('dev');
  });

  it('other targets are still validated', async () => {
    const e = await configError(project(TARGETS.replace('threads: 2', 'threads: 0')));
    expect(e.message).toMatch(/^targets\.ci\.threads: /);
  });
});

describe('bad config values', () => {
  it('names smelt.config.ts, the line and the option path, with the closest valid value', async () => {
    const body = "export default defineConfig({\n  name: 'cfg',\n  models: {\n    marts: { materialized: 'tabel' },\n  },\n});";
    const p = project(body);
    const e = await configError(p);
    expect(e.message).toBe(`models.marts.materialized: "tabel" is not valid; expected one of 'view', 'table', 'incremental', 'ephemeral'`);
    expect(e.hint).toBe("did you mean 'table'?");
    expect(e.location?.file).toBe(`${p.dir}/smelt.config.ts`);
    expect(e.location?.line).toBe(lineOf(body, 'tabel'));
    const shown = formatError(e, p.dir, false);
    expect(shown).toContain('smelt.config.ts:5');
    expect(shown).toContain(`> 5 |     marts: { materialized: 'tabel' },`);
  });

  it('an unknown option suggests the real one and points at it', async () => {
    const body = "export default defineConfig({\n  name: 'cfg',\n  tests: { show_row: 3 },\n});";
    const e = await configError(project(body));
    expect([e.message, e.hint]).toEqual(["tests: unknown option 'show_row'", "did you mean 'show_rows'?"]);
    expect(e.location?.line).toBe(lineOf(body, 'show_row'));
    const top = await configError(project("export default defineConfig({ name: 'cfg', modles: {} } as any);"));
    expect([top.message, top.hint]).toEqual(["unknown option 'modles'", "did you mean 'models'?"]);
  });

  it('a wrong type names the option path', async () => {
    const e = await configError(project("export default defineConfig({ name: 'cfg', targets: { dev: { warehouse: { type: 'duckdb' }, threads: 'four' as any } } });"));
    expect(e.message).toMatch(/^targets\.dev\.threads: .*number/);
    expect((await configError(project("export default defineConfig({ name: 'my project' });"))).message).toMatch(/^name: must be letters/);
  });

  it('a config that does not load, or is missing, says so', async () => {
    const broken = await configError(project("export default defineConfig({ name: 'cfg', \n  vars: { a: 1 \n});"));
    expect(broken.message).toMatch(/^cannot load .*smelt\.config\.ts/);
    const dir = mkdtempSync(join(tmpdir(), 'smelt-config-none-'));
    try {
      const none = await loadConfig({ projectDir: dir, env: {} }).catch((err: ConfigError) => err);
      expect(none).toBeInstanceOf(ConfigError);
      expect((none as ConfigError).message).toBe(`no smelt.config.ts in ${dir}`);
      expect((none as ConfigError).hint).toMatch(/smelt init/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('secrets', () => {
  it('an env() value in a bad option is shown as *** in the printed error and in JSON', async () => {
    const body = "export default defineConfig({ name: 'cfg', models: { marts: { materialized: env('MAT') } } });";
    const p = project(body);
    const e = await configError(p, { env: { MAT: 'sup3r-s3cret-value' } });
    const shown = formatError(e, p.dir, false);
    expect(shown).toContain('"***" is not valid');
    expect(shown).not.toContain('sup3r-s3cret-value');
    expect(JSON.stringify(e.toJSON())).not.toContain('sup3r-s3cret-value');
  });
});
