/**
 * Bad source declarations, as `smelt check` reports them: the option, what was expected, a hint,
 * and the line in smelt.config.ts or sources/<name>.ts, for smelt's own options and a connector's.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makeProject, type TempProject } from '../../test/helpers/project.js';
import { loadConfig } from '../config/load-config.js';
import { ConfigError } from '../core/errors.js';
import { resolveSources } from './declarations.js';

const projects: TempProject[] = [];
afterEach(() => {
  for (const p of projects.splice(0)) p.remove();
});

async function sourceError(files: Record<string, string>): Promise<ConfigError> {
  const p = makeProject({ 'smelt.config.ts': "import { defineConfig } from 'smelt';\nexport default defineConfig({ name: 'decl' });\n", ...files }, 'smelt-decl-');
  projects.push(p);
  const cfg = await loadConfig({ projectDir: p.dir, env: {} });
  const e = await resolveSources(cfg.sources).then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(ConfigError);
  return e as ConfigError;
}
const lineOf = (text: string, needle: string) => text.slice(0, text.indexOf(needle)).split('\n').length;

describe('bad source declarations', () => {
  it('a missing connector option is named, with its type, a hint and its source\'s line in smelt.config.ts', async () => {
    const config = "import { defineConfig } from 'smelt';\nexport default defineConfig({\n  name: 'decl',\n  sources: {\n    events: {\n      type: 'kafka',\n      topics: ['a'],\n    },\n  },\n} as any);\n";
    const e = await sourceError({ 'smelt.config.ts': config });
    expect(e.message).toBe("sources.events: missing option 'brokers' (an array)");
    expect(e.hint).toMatch(/^add brokers: …/);
    expect(e.location?.line).toBe(lineOf(config, 'events:'));
  });

  it('inside a union (a table as a name or an object), the object\'s own problem is named, at its line in sources/<name>.ts', async () => {
    const file = "import { postgresSource } from 'smelt';\nexport default postgresSource({\n  url: 'postgres://u@127.0.0.1/db',\n  tables: [\n    'public.a',\n    { name: 'b', mode: 'dedupe', cursor: 'u' },\n  ],\n} as any);\n";
    const e = await sourceError({ 'sources/app.ts': file });
    expect([e.message, e.hint]).toEqual(["sources.app: tables.1.mode: \"dedupe\" is not valid; expected one of 'full', 'incremental', 'dedup'", "did you mean 'dedup'?"]);
    expect(e.location).toEqual({ file: 'sources/app.ts', line: lineOf(file, "mode: 'dedupe'") });
    const typo = await sourceError({ 'sources/app.ts': file.replace("mode: 'dedupe', cursor", 'cursr') });
    expect([typo.message, typo.hint]).toEqual(["sources.app: tables.1: unknown option 'cursr'", "did you mean 'cursor'?"]);
  });

  it('smelt\'s own options of a source point at their line too', async () => {
    const config = "import { defineConfig } from 'smelt';\nexport default defineConfig({\n  name: 'decl',\n  sources: {\n    f: {\n      type: 'files',\n      disposition: 'upsert',\n      streams: { ev: { path: 'x/*.ndjson' } },\n    },\n  },\n} as any);\n";
    const e = await sourceError({ 'smelt.config.ts': config });
    expect(e.message).toMatch(/^sources\.f\.disposition: "upsert" is not valid; expected one of /);
    expect(e.location?.line).toBe(lineOf(config, "disposition: 'upsert'"));
  });
});
