/**
 * The manifest: the compiled project as plain, serializable data (Dataform's
 * CompiledGraph, dbt's manifest). `compile()` produces it without a database;
 * the runner, the scheduler and the web console read it; lineage is drawn from it.
 */
import type { ModelConfig, SnapshotConfig } from '../config/schema.js';
import type { Relation, Row } from '../core/types.js';

export type NodeKind = 'model' | 'seed' | 'snapshot' | 'source' | 'test';

export interface ColumnDoc {
  readonly name: string;
  readonly description?: string;
  /** Declared type (documentation, seeds and unit-test fixtures). */
  readonly type?: string;
  /** Line of the column entry in its YAML file. */
  readonly line?: number;
}

/**
 * Lines of a node's compiled SQL that come from another file: an ephemeral model inlined as a CTE.
 * An engine error on such a line points at the ephemeral's file and line, not at the node's file.
 */
export interface InlinedLines {
  readonly file: string;
  /** 1-based line of the compiled SQL where the ephemeral's SQL starts. */
  readonly from: number;
  /** Source line (in `file`) of each of those lines. */
  readonly lineMap: readonly number[];
}

interface NodeBase {
  /** `model.orders`, `seed.raw_customers`, `source.raw.customers`, `test.not_null_orders_id`. */
  readonly id: string;
  readonly kind: NodeKind;
  readonly name: string;
  /** Project-relative path of the defining file. */
  readonly file: string;
  readonly tags: readonly string[];
  readonly description?: string;
  /** Ids of the nodes this one reads. */
  readonly dependsOn: readonly string[];
}

export interface ModelNode extends NodeBase {
  readonly kind: 'model';
  readonly relation: Relation;
  readonly materialized: 'view' | 'table' | 'incremental' | 'ephemeral';
  readonly config: ModelConfig;
  /** The template source, kept for unit tests and the console. */
  readonly rawSql: string;
  /** Compiled SQL for a full build. */
  readonly sql: string;
  readonly lineMap: readonly number[];
  /** Where inlined ephemerals sit in `sql` (absent when there are none). */
  readonly inlined?: readonly InlinedLines[];
  /** Compiled SQL with `is_incremental()` true (incremental models only). */
  readonly incrementalSql?: string;
  readonly incrementalLineMap?: readonly number[];
  readonly incrementalInlined?: readonly InlinedLines[];
  readonly columns: readonly ColumnDoc[];
  /** Ephemeral models this one inlines, in dependency order (names of CTEs). */
  readonly ephemerals: readonly string[];
}

export interface SeedNode extends NodeBase {
  readonly kind: 'seed';
  readonly relation: Relation;
  /** Declared column types (logical or engine names); others are inferred. */
  readonly columnTypes: Readonly<Record<string, string>>;
  readonly columns: readonly ColumnDoc[];
}

export interface SnapshotNode extends NodeBase {
  readonly kind: 'snapshot';
  readonly relation: Relation;
  readonly config: SnapshotConfig;
  readonly rawSql: string;
  readonly sql: string;
  readonly lineMap: readonly number[];
  readonly inlined?: readonly InlinedLines[];
  readonly columns: readonly ColumnDoc[];
}

export interface SourceNode extends NodeBase {
  readonly kind: 'source';
  readonly sourceName: string;
  /** Set when smelt ingests this stream itself (a declared ingestion source), not just reads a table. */
  readonly ingest?: { readonly source: string; readonly stream: string; readonly type: string; readonly disposition: string };
  readonly relation: Relation;
  readonly columns: readonly ColumnDoc[];
}

export type GenericTestType = 'not_null' | 'unique' | 'accepted_values' | 'relationships' | 'expression' | 'row_count' | 'freshness';

export interface TestNode extends NodeBase {
  readonly kind: 'test';
  readonly testType: GenericTestType | 'singular';
  /** The node whose data the test checks (run right after it in `build`). */
  readonly attachedTo?: string;
  readonly column?: string;
  readonly severity: 'warn' | 'error';
  /** A query returning the failing rows; zero rows means pass. */
  readonly sql: string;
  readonly line?: number;
}

export type ManifestNode = ModelNode | SeedNode | SnapshotNode | SourceNode | TestNode;

/** One fixture input of a unit test. `input` is a node id, or `this` for the model's current table. */
export interface UnitTestGiven {
  readonly input: string;
  readonly rows: readonly Row[];
}

export interface UnitTestDef {
  readonly id: string;
  readonly name: string;
  readonly model: string;
  readonly file: string;
  readonly line?: number;
  readonly given: readonly UnitTestGiven[];
  /** Expected rows of the model's query (`rows`) and/or of the table after an incremental step (`table`). */
  readonly expect: { readonly rows?: readonly Row[]; readonly table?: readonly Row[] };
  readonly vars: Readonly<Record<string, unknown>>;
}

export interface Manifest {
  readonly smeltVersion: string;
  readonly project: string;
  readonly projectDir: string;
  readonly target: { readonly name: string; readonly type: string; readonly schema: string };
  readonly generatedAt: string;
  readonly vars: Readonly<Record<string, unknown>>;
  readonly nodes: Readonly<Record<string, ManifestNode>>;
  readonly unitTests: Readonly<Record<string, UnitTestDef>>;
  /** Macro files (project-relative) the models may call. */
  readonly macroFiles: readonly string[];
  /** Stored-failure settings for tests. */
  readonly tests: { readonly storeFailures: boolean; readonly schema: string; readonly showRows: number };
}

/** Nodes that produce a relation in the warehouse. */
export const isBuildable = (n: ManifestNode): n is ModelNode | SeedNode | SnapshotNode =>
  n.kind === 'seed' || n.kind === 'snapshot' || (n.kind === 'model' && n.materialized !== 'ephemeral');
