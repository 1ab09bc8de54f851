/**
 * run(plan, warehouse): carries out an ExecutionPlan with N workers. A step
 * starts when its dependencies succeeded; a failure becomes a result and its
 * descendants are SKIPPED while independent branches go on (dbt's safe_run).
 */
import { randomUUID } from 'node:crypto';
import { AbortedError, toSmeltError } from '../../core/errors.js';
import { redact } from '../../core/redact.js';
import type { ColumnInfo, Relation, Row } from '../../core/types.js';
import { relationKey } from '../../core/types.js';
import { MinHeap } from '../../core/heap.js';
import { withConnection, type Connection, type Warehouse } from '../../storage/warehouse.js';
import type { Manifest, ModelNode, SeedNode, SnapshotNode, TestNode } from '../manifest.js';
import type { ExecutionPlan, PlanStep } from '../plan.js';
import { materializeIncremental, materializeTable, materializeView, SCRATCH_SUFFIXES, type MaterializeContext } from './materialize-model.js';
import { materializeSeed, materializeSnapshot } from './materialize-other.js';
import { summarize, type RunEvent, type RunResults, type StepResult, type StepStatus } from './results.js';
import { checkTestColumn, runDataTest } from './run-data-test.js';
import { makeExec, type Exec } from './statement.js';

/** Runs steps of a kind the transform layer does not own (e.g. `ingest`, provided by orchestrate/). */
export interface StepExecutor {
  /** Once per run, before any step of this kind, on the first connection. */
  setup?(conn: Connection): Promise<void>;
  run(step: PlanStep, conn: Connection, signal?: AbortSignal): Promise<{ status: StepStatus; message: string; rowsAffected?: number; failures?: number; sample?: Row[] }>;
}

export interface RunOptions {
  readonly threads: number;
  readonly executors?: Partial<Record<string, StepExecutor>>;
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: RunEvent) => void;
}

const FAILED: StepStatus[] = ['error', 'fail'];

function describeStep(m: Manifest, step: PlanStep): string {
  if (step.kind === 'unit_test') return `unit test ${step.id.slice('unit_test.'.length)}`;
  const n = m.nodes[step.id]!;
  if (n.kind === 'source') return `ingest ${n.name} → ${n.relation.schema}.${n.relation.name}`;
  if (n.kind === 'model') return `${n.materialized} ${n.relation.schema}.${n.relation.name}`;
  if (n.kind === 'seed') return `seed ${n.relation.schema}.${n.relation.name}`;
  if (n.kind === 'snapshot') return `snapshot ${n.relation.schema}.${n.relation.name}`;
  return `test ${n.name}`;
}

/** Drops tables a killed run left behind (`*__smelt_tmp`, `*__smelt_old`, `*__smelt_stage`). */
async function dropScratch(wh: Warehouse, exec: Exec, schemas: Set<string>): Promise<void> {
  for (const schema of schemas) {
    for (const r of await wh.listRelations(schema)) {
      if (SCRATCH_SUFFIXES.some((s) => r.name.endsWith(s))) await exec(wh.dialect.dropRelation(r, r.kind));
    }
  }
}

export async function runPlan(plan: ExecutionPlan, m: Manifest, wh: Warehouse, opts: RunOptions): Promise<RunResults> {
  const started = new Date();
  const total = plan.steps.length;
  const results = new Map<string, StepResult>();
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const existingCache = new Map<string, 'table' | 'view' | undefined>();
  const columnsCache = new Map<string, ColumnInfo[] | undefined>();
  let index = 0;
  const stepIndex = new Map<string, number>();

  // Schemas first, one at a time: concurrent CREATE SCHEMA can conflict.
  const schemas = new Set<string>();
  for (const s of plan.steps) {
    const n = m.nodes[s.id];
    if (n && 'relation' in n && (n.kind !== 'source' || n.ingest)) schemas.add(n.relation.schema);
  }
  // Failing tests store their rows there: create it here, not from parallel tests (a catalog write-write conflict).
  if (m.tests.storeFailures && plan.steps.some((s) => s.kind === 'test')) schemas.add(m.tests.schema);
  const threads = Math.max(1, wh.capabilities.concurrentWrites ? opts.threads : 1);
  const conns: Connection[] = [];
  try {
    for (let i = 0; i < Math.min(threads, Math.max(1, total)); i++) conns.push(await wh.connect({ signal: opts.signal }));
    if (total > 0) {
      const setup = makeExec(conns[0]!, opts.signal);
      for (const s of schemas) await setup(wh.dialect.createSchema(s));
      // Also list the schemas of relations that tests read, to know which exist (`smelt test` builds nothing).
      const listed = new Set(schemas);
      for (const s of plan.steps) {
        const n = m.nodes[s.id];
        const owner = n?.kind === 'test' && n.attachedTo ? m.nodes[n.attachedTo] : undefined;
        if (owner && 'relation' in owner) listed.add(owner.relation.schema);
      }
      for (const s of listed) {
        for (const r of await wh.listRelations(s)) existingCache.set(relationKey(r).toLowerCase(), r.kind);
      }
      await dropScratch(wh, setup, schemas);
      for (const kind of new Set(plan.steps.map((s) => s.kind))) await opts.executors?.[kind]?.setup?.(conns[0]!);
    }

    const existing = async (r: Relation) => existingCache.get(relationKey(r).toLowerCase());
    // The runner knows what exists (listed once at start, updated as steps finish), so a
    // relation's columns come from a cheap `LIMIT 0` query instead of a catalog scan per test.
    const describe = async (r: Relation) => {
      const k = relationKey(r).toLowerCase();
      if (!existingCache.get(k)) return undefined;
      if (!columnsCache.has(k)) {
        const res = await withConnection(wh, (c) => c.execute(`SELECT * FROM ${wh.dialect.relation(r)} LIMIT 0`));
        columnsCache.set(k, [...res.columns]);
      }
      return columnsCache.get(k);
    };

    const execute = async (step: PlanStep, conn: Connection): Promise<Omit<StepResult, 'startedAt' | 'durationMs'>> => {
      const exec = makeExec(conn, opts.signal);
      const name = m.nodes[step.id]?.name ?? step.id.split('.').slice(2).join('.');
      const base = { id: step.id, kind: step.kind, name };
      if (step.kind === 'unit_test') {
        const { runUnitTest } = await import('../unit/run-unit-test.js');
        const out = await runUnitTest(m, m.unitTests[step.id]!, { signal: opts.signal });
        return { ...base, ...out };
      }
      const custom = opts.executors?.[step.kind];
      if (custom) return { ...base, ...(await custom.run(step, conn, opts.signal)) };
      const node = m.nodes[step.id]!;
      if (node.kind === 'test') {
        await checkTestColumn(node as TestNode, m, describe);
        const out = await runDataTest(exec, wh, m, node as TestNode, {
          existing,
          remember: (r, kind) => existingCache.set(relationKey(r).toLowerCase(), kind),
        });
        return { ...base, status: out.status, message: out.message, failures: out.failures, sample: out.sample };
      }
      const ctx: MaterializeContext = { wh, exec, fullRefresh: plan.fullRefresh, existing };
      let out;
      if (node.kind === 'seed') out = await materializeSeed(ctx, node as SeedNode, m.projectDir);
      else if (node.kind === 'snapshot') out = await materializeSnapshot(ctx, node as SnapshotNode);
      else {
        const model = node as ModelNode;
        if (model.materialized === 'view') out = await materializeView(ctx, model);
        else if (model.materialized === 'table') out = await materializeTable(ctx, model);
        else out = await materializeIncremental(ctx, model);
      }
      const rel = (node as ModelNode).relation;
      const key = relationKey(rel).toLowerCase();
      existingCache.set(key, node.kind === 'model' && (node as ModelNode).materialized === 'view' ? 'view' : 'table');
      columnsCache.delete(key);
      return { ...base, status: 'success', message: out.message, rowsAffected: out.rowsAffected };
    };

    const skipReason = (step: PlanStep): string | undefined => {
      for (const d of step.deps) {
        const r = results.get(d);
        if (r && (FAILED.includes(r.status) || r.status === 'skipped')) return r.status === 'skipped' ? r.message : `upstream ${r.name} ${r.status === 'fail' ? 'failed its test' : 'failed'}`;
      }
      return undefined;
    };

    // A step is ready when its last planned dependency has finished; ready steps start in plan
    // order. Counting dependencies keeps scheduling linear in the size of the plan.
    const order = new Map(plan.steps.map((st, i) => [st.id, i]));
    const waiting = new Map<string, number>();
    const dependents = new Map<string, PlanStep[]>();
    const ready = new MinHeap<PlanStep>((a, b) => order.get(a.id)! < order.get(b.id)!);
    for (const st of plan.steps) {
      const deps = new Set(st.deps.filter((d) => byId.has(d)));
      waiting.set(st.id, deps.size);
      for (const d of deps) {
        const list = dependents.get(d);
        if (list) list.push(st);
        else dependents.set(d, [st]);
      }
      if (deps.size === 0) ready.push(st);
    }
    const running = new Set<string>();
    let cancelled = false;
    await new Promise<void>((resolveAll, rejectAll) => {
      const free = [...conns];
      const pump = () => {
        if (opts.signal?.aborted && !cancelled) {
          // Let running steps finish their own cancellation; start nothing new.
          cancelled = true;
          for (const st of plan.steps) {
            if (!results.has(st.id) && !running.has(st.id)) finish(st, { id: st.id, kind: st.kind, name: st.id, status: 'skipped', message: 'cancelled' }, new Date(), false);
          }
        }
        while (!cancelled && free.length && ready.size) {
          const step = ready.pop()!;
          const reason = skipReason(step);
          const startedAt = new Date();
          if (reason) {
            // Skipping may make its dependents ready: they are pushed by finish() and taken by this loop.
            const n = m.nodes[step.id];
            finish(step, { id: step.id, kind: step.kind, name: n?.name ?? step.id, status: 'skipped', message: reason }, startedAt, false);
            continue;
          }
          const conn = free.pop()!;
          running.add(step.id);
          stepIndex.set(step.id, ++index);
          opts.onEvent?.({ type: 'start', id: step.id, kind: step.kind, name: m.nodes[step.id]?.name ?? step.id, index, total, description: describeStep(m, step) });
          execute(step, conn)
            .then(
              (r) => finish(step, r, startedAt, true),
              (e) => {
                const err = toSmeltError(e);
                const n = m.nodes[step.id];
                finish(step, {
                  id: step.id, kind: step.kind, name: n?.name ?? step.id, status: 'error', message: redact(err.message),
                  // The hint is redacted too: it goes into run_results.json and JSON logs as it is.
                  error: { message: redact(err.message), code: err.code, location: err.location ?? (n ? { file: n.file } : undefined), hint: err.hint && redact(err.hint) },
                }, startedAt, true);
              },
            )
            .finally(() => {
              running.delete(step.id);
              free.push(conn);
              pump();
            });
        }
        if (results.size === plan.steps.length && running.size === 0) resolveAll();
      };
      const finish = (step: PlanStep, r: Omit<StepResult, 'startedAt' | 'durationMs'>, startedAt: Date, counted: boolean) => {
        const result: StepResult = { ...r, startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime() };
        results.set(step.id, result);
        opts.onEvent?.({ type: 'finish', result, index: counted ? stepIndex.get(step.id)! : ++index, total });
        for (const t of dependents.get(step.id) ?? []) {
          const w = waiting.get(t.id)! - 1;
          waiting.set(t.id, w);
          if (w === 0 && !results.has(t.id)) ready.push(t);
        }
      };
      try {
        pump();
      } catch (e) {
        rejectAll(e);
      }
    });
  } finally {
    for (const c of conns) await c.close().catch(() => undefined);
  }
  if (opts.signal?.aborted) throw new AbortedError('run cancelled');
  const finished = new Date();
  const ordered = plan.steps.map((s) => results.get(s.id)!).filter(Boolean);
  return {
    runId: randomUUID(),
    command: plan.command,
    project: m.project,
    target: m.target.name,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: finished.getTime() - started.getTime(),
    results: ordered,
    summary: summarize(ordered),
  };
}
