/**
 * build: Manifest + selection → ExecutionPlan, a plain list of steps with their
 * dependencies (Dataform's ExecutionGraph). The runner carries it out; the CLI
 * can print it; nothing here touches a database.
 */
import type { Manifest, ManifestNode } from './manifest.js';
import { buildGraph, topoSort, walk } from './compile/dag.js';
import { selectNodes } from './select.js';

export type StepKind = 'ingest' | 'model' | 'seed' | 'snapshot' | 'test' | 'unit_test';

export interface PlanStep {
  readonly id: string;
  readonly kind: StepKind;
  /** Steps that must succeed first. */
  readonly deps: readonly string[];
}

export interface ExecutionPlan {
  readonly command: string;
  readonly fullRefresh: boolean;
  readonly steps: readonly PlanStep[];
}

export interface PlanOptions {
  readonly command: string;
  readonly select?: readonly string[];
  readonly exclude?: readonly string[];
  /** Which kinds of steps the command runs. */
  readonly kinds: readonly StepKind[];
  readonly fullRefresh?: boolean;
  /** When set, ingest steps only for these source nodes (`build` loads only streams never loaded). */
  readonly ingestOnly?: ReadonlySet<string>;
}

const stepKind = (n: ManifestNode): StepKind | undefined => {
  if (n.kind === 'source') return n.ingest ? 'ingest' : undefined;
  if (n.kind === 'model' && n.materialized === 'ephemeral') return undefined;
  return n.kind;
};

export function planRun(m: Manifest, opts: PlanOptions): ExecutionPlan {
  const g = buildGraph(m.nodes);
  const kinds = new Set<string>(opts.kinds);
  const selected = selectNodes(m, opts.select, opts.exclude);
  // Tests follow the nodes they check (indirect selection), unless excluded.
  const excluded = opts.exclude?.length ? selectNodes(m, opts.exclude) : new Set<string>();
  const checked = new Set([...selected].filter((id) => m.nodes[id]!.kind !== 'test'));
  // `test` runs every test touching the selection (eager); commands that build only run tests whose
  // inputs are all selected, so a relationship test never reads a table this run did not build (dbt's "buildable").
  const builds = kinds.has('model') || kinds.has('seed') || kinds.has('snapshot');
  for (const n of Object.values(m.nodes)) {
    if (n.kind !== 'test' || excluded.has(n.id)) continue;
    const hit = builds ? n.dependsOn.every((d) => checked.has(d)) : n.dependsOn.some((d) => checked.has(d));
    if (hit && n.dependsOn.length) selected.add(n.id);
  }
  const inPlan = new Set([...selected].filter((id) => {
    const k = stepKind(m.nodes[id]!);
    if (k === 'ingest' && opts.ingestOnly && !opts.ingestOnly.has(id)) return false;
    return k !== undefined && kinds.has(k);
  }));
  const unitTests = kinds.has('unit_test')
    ? Object.values(m.unitTests).filter((u) => selected.has(u.model))
    : [];

  // Dependencies are the nearest planned ancestors (looking through ephemerals and unselected nodes).
  const nearest = (id: string): string[] => {
    const out: string[] = [];
    const seen = new Set<string>();
    const stack = [...(g.parents.get(id) ?? [])];
    while (stack.length) {
      const p = stack.pop()!;
      if (seen.has(p)) continue;
      seen.add(p);
      if (inPlan.has(p)) out.push(p);
      else stack.push(...(g.parents.get(p) ?? []));
    }
    return out;
  };
  const testsOf = new Map<string, string[]>();
  for (const id of inPlan) {
    const n = m.nodes[id]!;
    if (n.kind === 'test' && n.attachedTo) testsOf.set(n.attachedTo, [...(testsOf.get(n.attachedTo) ?? []), id]);
  }
  const steps: PlanStep[] = [];
  for (const id of topoSort(inPlan, g)) {
    const n = m.nodes[id]!;
    const deps = new Set(nearest(id));
    if (n.kind !== 'test') {
      // A node waits for the tests of what it reads, so an error-severity failure stops it (dbt build).
      // A test that itself reads a descendant of this node cannot gate it (that would be a cycle).
      let below: Set<string> | undefined;
      for (const p of [...deps]) {
        for (const t of testsOf.get(p) ?? []) {
          const tn = m.nodes[t]!;
          if (tn.dependsOn.length > 1) {
            below ??= walk(g, id, 'down');
            if (tn.dependsOn.some((d) => below!.has(d))) continue;
          }
          deps.add(t);
        }
      }
    }
    for (const u of unitTests) if (u.model === id) deps.add(u.id);
    steps.push({ id, kind: stepKind(n)!, deps: [...deps].sort() });
  }
  const unitSteps: PlanStep[] = unitTests.map((u) => ({ id: u.id, kind: 'unit_test', deps: [] }));
  return { command: opts.command, fullRefresh: Boolean(opts.fullRefresh), steps: [...unitSteps, ...steps] };
}
