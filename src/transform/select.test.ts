/**
 * Node selection as users type it after `-s` / `--exclude`: names, globs, graph operators with
 * depths, methods (tag:, path:, source:, config.*:, resource_type:), unions, intersections.
 * A selector that names nothing that exists is a usage error with a suggestion (exit code 2),
 * not a silent empty run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, type TempProject } from '../../test/helpers/project.js';
import { loadConfig } from '../config/load-config.js';
import { UsageError } from '../core/errors.js';
import { compile } from './compile/compile.js';
import type { Manifest } from './manifest.js';
import { planRun } from './plan.js';
import { selectNodes } from './select.js';

// raw_orders → stg_orders ─┐
//                          ├→ int_orders → fct_orders → report
// raw_customers → stg_customers ─┴→ dim_customers
// raw.events (source) → stg_events
const FILES: Record<string, string> = {
  'smelt.config.ts': "export default { name: 'sel', models: { gold: { materialized: 'table', schema: 'gold' } } };\n",
  'seeds/raw_orders.csv': 'id,customer_id\n1,1\n',
  'seeds/raw_customers.csv': 'id\n1\n',
  'models/staging/stg_orders.sql': "{{ config(tags=['nightly']) }}select * from {{ ref('raw_orders') }}",
  'models/staging/stg_customers.sql': "select * from {{ ref('raw_customers') }}",
  'models/staging/stg_events.sql': "select * from {{ source('raw', 'events') }}",
  'models/staging/sources.yml': 'sources:\n  - name: raw\n    tables:\n      - name: events\n',
  'models/intermediate/int_orders.sql': "select o.* from {{ ref('stg_orders') }} o join {{ ref('stg_customers') }} c on o.customer_id = c.id",
  'models/gold/fct_orders.sql': "select * from {{ ref('int_orders') }}",
  'models/gold/dim_customers.sql': "{{ config(tags=['nightly', 'finance']) }}select * from {{ ref('stg_customers') }}",
  'models/gold/report.sql': "{{ config(materialized='view') }}select count(*) as n from {{ ref('fct_orders') }}",
  'models/gold/gold.yml': 'models:\n  - name: fct_orders\n    columns:\n      - name: id\n        tests: [not_null]\n',
};

let project: TempProject;
let m: Manifest;
beforeAll(async () => {
  project = makeProject(FILES, 'smelt-select-');
  m = await compile(await loadConfig({ projectDir: project.dir, env: {} }));
});
afterAll(() => project.remove());

/** Sorted names of the selected nodes (tests included, by their generated name). */
const sel = (select: string[], exclude: string[] = []) => [...selectNodes(m, select, exclude)].map((id) => m.nodes[id]!.name).sort();

function usageError(select: string[], exclude: string[] = []): UsageError {
  try {
    selectNodes(m, select, exclude);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    expect((e as UsageError).exitCode).toBe(2);
    return e as UsageError;
  }
  throw new Error(`expected ${JSON.stringify(select)} / ${JSON.stringify(exclude)} to be rejected`);
}

describe('names and graph operators', () => {
  it('no selector means every node', () => {
    expect(selectNodes(m).size).toBe(Object.keys(m.nodes).length);
  });

  it('a name selects that node only', () => {
    expect(sel(['fct_orders'])).toEqual(['fct_orders']);
  });

  it('+name adds every ancestor', () => {
    expect(sel(['+fct_orders'])).toEqual(['fct_orders', 'int_orders', 'raw_customers', 'raw_orders', 'stg_customers', 'stg_orders']);
  });

  it('name+ adds every descendant, including the tests that read it', () => {
    expect(sel(['fct_orders+'])).toEqual(['fct_orders', 'not_null_fct_orders_id', 'report']);
    expect(sel(['stg_customers+'])).toEqual(['dim_customers', 'fct_orders', 'int_orders', 'not_null_fct_orders_id', 'report', 'stg_customers']);
  });

  it('+name+ adds both', () => {
    expect(sel(['+int_orders+'])).toEqual(
      ['fct_orders', 'int_orders', 'not_null_fct_orders_id', 'raw_customers', 'raw_orders', 'report', 'stg_customers', 'stg_orders'],
    );
  });

  it('n+name+m limits the depth each way', () => {
    expect(sel(['1+fct_orders'])).toEqual(['fct_orders', 'int_orders']);
    expect(sel(['2+fct_orders+1'])).toEqual(['fct_orders', 'int_orders', 'not_null_fct_orders_id', 'report', 'stg_customers', 'stg_orders']);
    expect(sel(['int_orders+1'])).toEqual(['fct_orders', 'int_orders']);
  });

  it('a glob matches names', () => {
    expect(sel(['stg_*'])).toEqual(['stg_customers', 'stg_events', 'stg_orders']);
    expect(sel(['*_orders'])).toEqual(['fct_orders', 'int_orders', 'raw_orders', 'stg_orders']);
  });
});

describe('methods', () => {
  it('tag: selects tagged nodes', () => {
    expect(sel(['tag:nightly'])).toEqual(['dim_customers', 'stg_orders']);
    expect(sel(['tag:finance'])).toEqual(['dim_customers']);
  });

  it('path: selects a folder (with or without a trailing slash) or a file, never a sibling with the same prefix', () => {
    const gold = ['dim_customers', 'fct_orders', 'not_null_fct_orders_id', 'report'];
    expect(sel(['path:models/gold'])).toEqual(gold);
    expect(sel(['path:models/gold/'])).toEqual(gold);
    expect(sel(['path:models/staging/stg_orders.sql'])).toEqual(['stg_orders']);
    expect(sel(['path:models/*/stg_*.sql'])).toEqual(['stg_customers', 'stg_events', 'stg_orders']);
  });

  it('config.materialized: uses the effective materialization (folder default, config() override)', () => {
    expect(sel(['config.materialized:table'])).toEqual(['dim_customers', 'fct_orders']);
    expect(sel(['config.materialized:view'])).toEqual(['int_orders', 'report', 'stg_customers', 'stg_events', 'stg_orders']);
  });

  it('config.<key>: reads other config keys, lists included', () => {
    expect(sel(['config.schema:gold'])).toEqual(['dim_customers', 'fct_orders', 'report']);
    expect(sel(['config.tags:finance'])).toEqual(['dim_customers']);
  });

  it('source: and resource_type: select by origin and kind', () => {
    expect(sel(['source:raw'])).toEqual(['raw.events']);
    expect(sel(['source:raw+'])).toEqual(['raw.events', 'stg_events']);
    expect(sel(['resource_type:seed'])).toEqual(['raw_customers', 'raw_orders']);
  });

  it('methods combine with graph operators', () => {
    expect(sel(['+tag:finance'])).toEqual(['dim_customers', 'raw_customers', 'stg_customers']);
    expect(sel(['path:models/intermediate+1'])).toEqual(['fct_orders', 'int_orders']);
  });
});

describe('unions, intersections and --exclude', () => {
  it('several selectors (or several in one argument) are a union', () => {
    expect(sel(['stg_orders', 'dim_customers'])).toEqual(['dim_customers', 'stg_orders']);
    expect(sel(['stg_orders dim_customers'])).toEqual(['dim_customers', 'stg_orders']);
    expect(sel(['tag:nightly', 'report'])).toEqual(['dim_customers', 'report', 'stg_orders']);
  });

  it('a,b is an intersection', () => {
    expect(sel(['tag:nightly,config.materialized:table'])).toEqual(['dim_customers']);
    expect(sel(['+fct_orders,path:models/staging'])).toEqual(['stg_customers', 'stg_orders']);
    expect(sel(['tag:finance,stg_*'])).toEqual([]);
  });

  it('--exclude removes from the selection, and from everything when nothing is selected', () => {
    expect(sel(['+fct_orders'], ['stg_*'])).toEqual(['fct_orders', 'int_orders', 'raw_customers', 'raw_orders']);
    expect(sel(['+fct_orders'], ['resource_type:seed', 'int_orders'])).toEqual(['fct_orders', 'stg_customers', 'stg_orders']);
    expect(sel([], ['path:models/gold', 'path:models/staging', 'resource_type:seed', 'source:raw'])).toEqual(['int_orders']);
    expect(sel(['tag:nightly'], ['tag:nightly,path:models/gold'])).toEqual(['stg_orders']);
  });

  it('a build plan takes the tests of selected models along, unless they are excluded', () => {
    const kinds = ['seed', 'model', 'test'] as const;
    const steps = (select: string[], exclude: string[] = []) => planRun(m, { command: 'build', select, exclude, kinds }).steps.map((s) => s.id).sort();
    expect(steps(['fct_orders'])).toEqual(['model.fct_orders', 'test.not_null_fct_orders_id']);
    expect(steps(['fct_orders'], ['not_null_fct_orders_id'])).toEqual(['model.fct_orders']);
  });
});

describe('selectors that name nothing', () => {
  it('an unknown name suggests the closest node', () => {
    const e = usageError(['fct_ordrs']);
    expect(e.message).toBe("no node matches 'fct_ordrs'");
    expect(e.hint).toBe("did you mean 'fct_orders'?");
    expect(usageError(['+fct_ordrs+']).message).toBe("no node matches 'fct_ordrs'");
  });

  it('an unknown name is an error in --exclude too, and inside an intersection', () => {
    expect(usageError([], ['stg_ordrs']).hint).toBe("did you mean 'stg_orders'?");
    expect(usageError(['tag:nightly,nope_nope']).message).toBe("no node matches 'nope_nope'");
  });

  it('an unknown method suggests the closest method', () => {
    const e = usageError(['tags:nightly']);
    expect(e.message).toBe("unknown selector method 'tags'");
    expect(e.hint).toBe("did you mean 'tag'?");
  });

  it('a tag no node has is an error with the closest tag', () => {
    const e = usageError(['tag:nightyl']);
    expect(e.message).toBe("no node has tag 'nightyl'");
    expect(e.hint).toBe("did you mean 'nightly'?");
  });

  it('a path with no nodes under it is an error with the closest folder', () => {
    const e = usageError(['path:models/gld']);
    expect(e.message).toBe("no node is under path 'models/gld'");
    expect(e.hint).toBe("did you mean 'models/gold'?");
  });

  it('an unknown source or resource type is an error with a suggestion', () => {
    expect(usageError(['source:rwa']).hint).toBe("did you mean 'raw'?");
    expect(usageError(['resource_type:modle']).hint).toBe("did you mean 'model'?");
  });

  it('a malformed selector is an error with examples', () => {
    const e = usageError(['fct_orders++']);
    expect(e.message).toBe("cannot read selector 'fct_orders++'");
    expect(e.hint).toMatch(/\+orders/);
  });
});
