/** build / test / seed / snapshot: compile, plan the selection, run it, report, record. */
import type { Ctx } from '../context.js';
import { planRun, type StepKind } from '../../transform/plan.js';
import { selectNodes } from '../../transform/select.js';
import { runPlan } from '../../transform/run/runner.js';
import { writeManifest, writeRunResults } from '../../transform/artifacts.js';
import { ingestExecutor } from '../../orchestrate/ingest-executor.js';
import { unknownSource } from '../../ingest/declarations.js';
import { recordRun } from '../../orchestrate/run-history.js';
import { redact } from '../../core/redact.js';

const KINDS: Record<string, StepKind[]> = {
  run: ['ingest', 'seed', 'snapshot', 'model', 'test', 'unit_test'],
  ingest: ['ingest'],
  // build reads bronze as it is, but loads streams that were never loaded, so a fresh project builds.
  build: ['ingest', 'seed', 'snapshot', 'model', 'test', 'unit_test'],
  test: ['test', 'unit_test'],
  seed: ['seed'],
  snapshot: ['snapshot'],
};

export default async function runDag(ctx: Ctx, _args: unknown[], opts: Record<string, any>): Promise<number> {
  const command = opts.__command as string;
  const cfg = await ctx.config();
  const project = await ctx.project();
  const manifest = project.manifest;
  writeManifest(manifest);
  // `smelt ingest shop orders`: positional source names select their streams.
  const positional = (_args[0] as string[] | undefined) ?? [];
  for (const name of positional) {
    if (!project.sources.some((s) => s.name === name)) throw unknownSource(name, project.sources);
  }
  const select = [...(opts.select ?? []), ...positional.map((n) => `source:${n}`)];
  // A bad selector is a usage error before anything opens (or creates) the warehouse.
  selectNodes(manifest, select, opts.exclude);
  const wh = await ctx.warehouse();
  let ingestOnly: Set<string> | undefined;
  if (command === 'build' && project.sources.length) {
    const { loadedStreams } = await import('../../ingest/state.js');
    const loaded = await loadedStreams(wh);
    ingestOnly = new Set(Object.values(manifest.nodes).flatMap((n) => (n.kind === 'source' && n.ingest && !loaded.has(`${n.ingest.source}.${n.ingest.stream}`) ? [n.id] : [])));
  }
  const plan = planRun(manifest, { command, select, exclude: opts.exclude, kinds: KINDS[command]!, fullRefresh: opts.fullRefresh, ingestOnly });
  const reporter = ctx.reporter();
  // Following holds a thread per stream for as long as it reads: give every ingest step one, or the
  // streams past the thread count would never start.
  const ingestSteps = plan.steps.filter((s) => s.kind === 'ingest').length;
  const threads = Math.max(opts.threads ?? cfg.target.threads, opts.follow ? ingestSteps : 0);
  if (plan.steps.length === 0) {
    reporter.info('Nothing to do: the selection matched no runnable nodes.');
    return 0;
  }
  if (ingestOnly?.size) reporter.info(`First build: loading ${ingestOnly.size} source stream${ingestOnly.size === 1 ? '' : 's'} that were never ingested (\`smelt run\` ingests every time)`);
  reporter.info(`Running ${plan.steps.length} step${plan.steps.length === 1 ? '' : 's'} on target ${cfg.target.name} (${cfg.target.warehouse.type}) with ${threads} thread${threads === 1 ? '' : 's'}`);
  const ac = new AbortController();
  // With --follow the first Ctrl-C stops the streams cleanly (what was committed stays, steps end OK)
  // and a second one cancels; without it, Ctrl-C cancels.
  const stop = new AbortController();
  const onSigint = () => {
    if (opts.follow && !stop.signal.aborted) {
      reporter.info('Stopping the followed streams after the batches in flight (Ctrl-C again to cancel)');
      stop.abort();
      return;
    }
    ac.abort();
    // The next Ctrl-C gets Node's default and ends the process, should the cancellation itself hang.
    process.off('SIGINT', onSigint);
  };
  process.on('SIGINT', onSigint);
  try {
    const executors = project.sources.length
      ? { ingest: ingestExecutor(manifest, project.sources, wh, { projectDir: ctx.projectDir, fullRefresh: Boolean(opts.fullRefresh), follow: Boolean(opts.follow), stop: stop.signal }) }
      : undefined;
    const results = await runPlan(plan, manifest, wh, { threads, signal: ac.signal, executors, onEvent: (e) => reporter.event(e) });
    writeRunResults(ctx.projectDir, results);
    // The warehouse keeps the shared history (smelt_state.runs); the files above are the local copy.
    await recordRun(wh, results).catch((e: unknown) => reporter.info(`warning: the run was not recorded in smelt_state.runs: ${redact(e instanceof Error ? e.message : String(e))}`));
    reporter.done(results);
    return results.summary.error > 0 ? 1 : 0;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
