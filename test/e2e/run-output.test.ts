/**
 * What a run reports, through the real CLI: a failing node makes its descendants SKIP while
 * independent branches still build (checked in .smelt/target/run_results.json), CI output is
 * dbt-style lines ending in `Done. PASS=… WARN=… ERROR=… SKIP=… TOTAL=…`, `--log-format json` is
 * one JSON object per line, and env() secrets never appear. Needs a fresh build (`npm run build`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResults } from '../../src/transform/run/results.js';
import { makeProject, runCli, type CliResult, type TempProject } from '../helpers/project.js';

const SECRET = 's3cr3t_col_value';

// bad (invalid) → child → grandchild        other → other_child
// checked (failing error test) → after_checked
// warned (failing warn test) → after_warned
// leaky: reads a column named by a secret var (it does not exist, so the engine quotes it)
const FILES: Record<string, string> = {
  'smelt.config.ts': "import { defineConfig, env } from 'smelt';\nexport default defineConfig({ name: 'out', vars: { token: env('TOKEN') } });\n",
  'models/bad.sql': 'select nope_column\nfrom (select 1 as id) as t',
  'models/child.sql': "select * from {{ ref('bad') }}",
  'models/grandchild.sql': "select * from {{ ref('child') }}",
  'models/other.sql': "{{ config(materialized='table') }}select 1 as id union all select 2",
  'models/other_child.sql': "select * from {{ ref('other') }}",
  'models/checked.sql': 'select cast(null as integer) as id',
  'models/after_checked.sql': "select * from {{ ref('checked') }}",
  'models/warned.sql': 'select -1 as amount',
  'models/after_warned.sql': "select * from {{ ref('warned') }}",
  'models/leaky.sql': "select {{ var('token') }} from (select 1 as id) as t",
  'models/props.yml': [
    'models:',
    '  - name: checked',
    '    columns:',
    '      - name: id',
    '        tests: [not_null]',
    '  - name: warned',
    '    tests:',
    "      - expression: { expression: 'amount >= 0', severity: warn }",
  ].join('\n'),
};
const ENV = { TOKEN: SECRET };

let p: TempProject;
let text: CliResult;
let json: CliResult;
let textResults: RunResults;
beforeAll(() => {
  p = makeProject(FILES, 'smelt-out-');
  text = runCli(['build', '--project-dir', p.dir], { env: ENV });
  textResults = JSON.parse(readFileSync(join(p.dir, '.smelt/target/run_results.json'), 'utf8')) as RunResults;
  json = runCli(['build', '--project-dir', p.dir, '--log-format', 'json'], { env: ENV });
});
afterAll(() => p.remove());

const explain = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
const status = (r: RunResults) => Object.fromEntries(r.results.map((s) => [s.id, s.status]));

describe('a failing node', () => {
  it('exits 1', () => {
    expect(text.code, explain(text)).toBe(1);
    expect(json.code, explain(json)).toBe(1);
  });

  it('skips its descendants while independent branches build; a warning skips nothing', () => {
    expect(status(textResults)).toEqual({
      'model.bad': 'error',
      'model.child': 'skipped',
      'model.grandchild': 'skipped',
      'model.other': 'success',
      'model.other_child': 'success',
      'model.checked': 'success',
      'test.not_null_checked_id': 'fail',
      'model.after_checked': 'skipped',
      'model.warned': 'success',
      'test.expression_warned': 'warn',
      'model.after_warned': 'success',
      'model.leaky': 'error',
    });
    const byId = Object.fromEntries(textResults.results.map((s) => [s.id, s]));
    expect(byId['model.child']!.message).toBe('upstream bad failed');
    expect(byId['model.grandchild']!.message).toBe('upstream bad failed');
    expect(byId['model.after_checked']!.message).toBe('upstream not_null_checked_id failed its test');
    expect(byId['model.bad']!.error).toMatchObject({ code: 'E_WAREHOUSE', location: { file: 'models/bad.sql', line: 1 } });
    expect(textResults.summary).toEqual({ pass: 5, warn: 1, error: 3, skip: 3, total: 12 });
  });
});

describe('CI output', () => {
  const lines = () => text.stdout.split('\n');

  it('prints a START line and a finish line for every node that ran, numbered i of N', () => {
    const total = textResults.summary.total;
    const starts = lines().filter((l) => / START /.test(l));
    for (const l of starts) expect(l).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d  \\d+ of ${total} START (view|table|test) \\S+ \\.{3,} \\[RUN\\]$`));
    expect(lines()).toContainEqual(expect.stringMatching(new RegExp(`^\\d\\d:\\d\\d:\\d\\d  \\d+ of ${total} START table main\\.other \\.+ \\[RUN\\]$`)));
    expect(lines()).toContainEqual(expect.stringMatching(new RegExp(`^\\d\\d:\\d\\d:\\d\\d  \\d+ of ${total} OK table main\\.other 2 rows in \\d+\\.\\d\\ds$`)));
    expect(lines()).toContainEqual(expect.stringMatching(new RegExp(`\\d+ of ${total} SKIP model grandchild \\(upstream bad failed\\) in \\d+\\.\\d\\ds$`)));
    const indexes = lines().flatMap((l) => / (OK|PASS|WARN|FAIL|ERROR|SKIP) /.test(l) && /^\S+  (\d+) of /.test(l) ? [Number(/^\S+  (\d+) of /.exec(l)![1])] : []);
    expect(indexes.sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  });

  it('ends with the Done summary line matching run_results.json', () => {
    const s = textResults.summary;
    expect(text.stdout.trimEnd().split('\n').at(-1)).toBe(`Done. PASS=${s.pass} WARN=${s.warn} ERROR=${s.error} SKIP=${s.skip} TOTAL=${s.total}`);
  });

  it('details the failure with file:line, a code frame and a hint', () => {
    expect(text.stdout).toContain('ERROR model bad');
    expect(text.stdout).toContain('at models/bad.sql:1');
    expect(text.stdout).toMatch(/^> 1 \| select nope_column$/m);
    expect(text.stdout).toContain('hint: ');
  });
});

describe('--log-format json', () => {
  const objects = () => json.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, any>);

  it('writes only JSON objects, one per line, and nothing on stderr', () => {
    expect(json.stderr).toBe('');
    expect(objects().every((o) => typeof o.event === 'string' && typeof o.time === 'string')).toBe(true);
  });

  it('has a start for each node that ran, a finish for every node, and the summary at the end', () => {
    const o = objects();
    const finishes = o.filter((x) => x.event === 'node_finish');
    expect(finishes.map((x) => x.id).sort()).toEqual(Object.keys(status(textResults)).sort());
    const ran = finishes.filter((x) => x.status !== 'skipped').map((x) => x.id).sort();
    expect(o.filter((x) => x.event === 'node_start').map((x) => x.id).sort()).toEqual(ran);
    expect(o.at(-1)).toMatchObject({ event: 'run_finish', command: 'build', summary: textResults.summary });
    expect(finishes.find((x) => x.id === 'model.bad')).toMatchObject({ status: 'error', error: { location: { file: 'models/bad.sql', line: 1 } } });
  });

  it('check and compile speak JSON too; a compile error is a JSON error event', () => {
    const check = runCli(['check', '--project-dir', p.dir, '--log-format', 'json'], { env: ENV });
    expect(check.code, explain(check)).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ event: 'check_ok', project: 'out', nodes: { model: 10, test: 2 } });
    const compiled = runCli(['compile', '--project-dir', p.dir, '--log-format', 'json'], { env: ENV });
    expect(JSON.parse(compiled.stdout)).toMatchObject({ event: 'compiled', nodes: 12 });
    const broken = makeProject({ 'models/a.sql': "select * from {{ ref('nope') }}" }, 'smelt-out-');
    try {
      const r = runCli(['build', '--project-dir', broken.dir, '--log-format', 'json']);
      expect(r.code).toBe(2);
      expect(JSON.parse(r.stdout)).toMatchObject({ event: 'error', code: 'E_COMPILE', location: { file: 'models/a.sql', line: 1 } });
    } finally {
      broken.remove();
    }
  });
});

describe('secrets', () => {
  it('an env() value the engine quotes back is *** in the log, the JSON lines and run_results.json', () => {
    const leaky = textResults.results.find((s) => s.id === 'model.leaky')!;
    expect(leaky.error?.message).toContain('***');
    for (const out of [text.stdout, text.stderr, json.stdout, json.stderr, readFileSync(join(p.dir, '.smelt/target/run_results.json'), 'utf8')]) {
      expect(out).not.toContain(SECRET);
    }
  });
});

describe('selection through the CLI', () => {
  const ls = (...args: string[]) => {
    const r = runCli(['ls', '--project-dir', p.dir, '--output', 'json', ...args], { env: ENV });
    expect(r.code, explain(r)).toBe(0);
    return (JSON.parse(r.stdout) as { id: string }[]).map((n) => n.id).sort();
  };

  it('-s takes several selectors (a union), a,b intersects, --exclude removes', () => {
    expect(ls('-s', '+grandchild', 'other')).toEqual(['model.bad', 'model.child', 'model.grandchild', 'model.other']);
    expect(ls('-s', '+grandchild', '--exclude', 'bad')).toEqual(['model.child', 'model.grandchild']);
    expect(ls('-s', '2+grandchild,child+')).toEqual(['model.child', 'model.grandchild']);
    expect(ls('-s', 'config.materialized:table')).toEqual(['model.other']);
  });
});
