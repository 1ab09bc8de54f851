/** Runs a data test: count the failing rows, show the first few, store them for inspection. */
import { ConfigError } from '../../core/errors.js';
import { didYouMean } from '../../core/suggest.js';
import type { ColumnInfo, Relation, Row } from '../../core/types.js';
import type { Warehouse } from '../../storage/warehouse.js';
import type { Manifest, TestNode } from '../manifest.js';
import type { Exec } from './statement.js';

export interface DataTestOutcome {
  readonly status: 'pass' | 'warn' | 'fail';
  readonly failures: number;
  readonly sample: Row[];
  readonly message: string;
}

/** Before running a column test, make sure the column exists: a clear error beats an engine's binder error. */
export async function checkTestColumn(t: TestNode, m: Manifest, describe: (r: Relation) => Promise<ColumnInfo[] | undefined>): Promise<void> {
  if (!t.column || !t.attachedTo) return;
  const owner = m.nodes[t.attachedTo];
  if (!owner || !('relation' in owner) || (owner.kind === 'model' && owner.materialized === 'ephemeral')) return;
  const cols = await describe(owner.relation);
  if (!cols) return;
  if (!cols.some((c) => c.name.toLowerCase() === t.column!.toLowerCase())) {
    throw new ConfigError(`test ${t.name}: column '${t.column}' is not in ${owner.name}`, {
      location: { file: t.file, line: t.line },
      node: t.id,
      hint: didYouMean(t.column, cols.map((c) => c.name)) ?? `its columns: ${cols.map((c) => c.name).join(', ')}`,
    });
  }
}

/** What the runner knows exists, so a passing test need not drop a failures table that is not there. */
export interface KnownRelations {
  existing(r: Relation): Promise<'table' | 'view' | undefined>;
  remember(r: Relation, kind: 'table' | undefined): void;
}

export async function runDataTest(exec: Exec, wh: Warehouse, m: Manifest, t: TestNode, known?: KnownRelations): Promise<DataTestOutcome> {
  const d = wh.dialect;
  const origin = { body: t.sql, file: t.file, lineMap: [], node: t.id };
  const counted = await exec(`SELECT COUNT(*) AS n FROM (\n${t.sql}\n) AS smelt_test`, origin);
  const failures = Number(counted.rows[0]?.n ?? 0);
  const store = { schema: m.tests.schema, name: t.name.slice(0, 60) };
  if (failures === 0) {
    // A failures table left by an earlier run would say the test still fails: drop it (only if it is there:
    // one DDL statement and commit per passing test adds up over hundreds of tests).
    if (m.tests.storeFailures && (!known || (await known.existing(store)) !== undefined)) {
      await exec(d.dropRelation(store, 'table'));
      known?.remember(store, undefined);
    }
    return { status: 'pass', failures: 0, sample: [], message: 'pass' };
  }
  const sample = m.tests.showRows > 0 ? [...(await exec(`SELECT * FROM (\n${t.sql}\n) AS smelt_test LIMIT ${m.tests.showRows}`, origin)).rows] : [];
  let where = '';
  if (m.tests.storeFailures) {
    await exec(d.createSchema(store.schema));
    await exec(d.dropRelation(store, 'table'));
    await exec(d.createTableAs(store, t.sql), origin);
    known?.remember(store, 'table');
    where = `; stored in ${d.relation(store)}`;
  }
  return {
    status: t.severity === 'warn' ? 'warn' : 'fail',
    failures,
    sample,
    message: `${failures} failing row${failures === 1 ? '' : 's'}${where}`,
  };
}
