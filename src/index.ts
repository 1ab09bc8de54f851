/**
 * The public API of the `smelt` package: config helpers for `smelt.config.ts`,
 * and the stages (compile → plan → run) for programs that embed smelt.
 */
export * from './config-api.js';
export type { ResolvedConfig, ModelConfig, SnapshotConfig } from './config/schema.js';
export { loadConfig } from './config/load-config.js';
export * from './core/errors.js';
export type { Relation, Row, ColumnInfo, LogicalType } from './core/types.js';
export type { Warehouse, WarehouseAdapter, Connection, WarehouseCapabilities, SqlDialect, QueryResult } from './storage/warehouse.js';
export { registerWarehouse, openWarehouse } from './storage/registry.js';
export { compile } from './transform/compile/compile.js';
export type { Manifest, ManifestNode, ModelNode, TestNode, UnitTestDef } from './transform/manifest.js';
export { planRun, type ExecutionPlan, type PlanStep } from './transform/plan.js';
export { runPlan } from './transform/run/runner.js';
export type { RunResults, StepResult, RunEvent } from './transform/run/results.js';
