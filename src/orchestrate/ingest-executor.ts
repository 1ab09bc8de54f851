/** Plugs ingestion into the DAG runner: an `ingest` step loads one stream of one source. */
import type { Connection, Warehouse } from '../storage/warehouse.js';
import type { ResolvedSource } from '../ingest/declarations.js';
import { ingestStream } from '../ingest/ingest-stream.js';
import { ensureStateTables } from '../ingest/state.js';
import type { Manifest } from '../transform/manifest.js';
import type { StepExecutor } from '../transform/run/runner.js';

export function ingestExecutor(m: Manifest, sources: readonly ResolvedSource[], wh: Warehouse, opts: { projectDir: string; fullRefresh: boolean; follow?: boolean; stop?: AbortSignal }): StepExecutor {
  return {
    setup: (conn: Connection) => ensureStateTables(conn, wh.dialect),
    async run(step, conn, signal) {
      const node = m.nodes[step.id];
      if (!node || node.kind !== 'source' || !node.ingest) throw new Error(`${step.id} is not an ingestion stream`);
      const src = sources.find((s) => s.name === node.ingest!.source)!;
      const out = await ingestStream(src, node.ingest.stream, wh, conn, { projectDir: opts.projectDir, signal, fullRefresh: opts.fullRefresh, follow: opts.follow, stop: opts.stop });
      return {
        status: out.warning ? 'warn' : 'success',
        message: out.message,
        rowsAffected: out.rows,
        failures: out.deadLetters || undefined,
        // Schema changes are shown with the run's details and kept in smelt_state.schema_changes.
        sample: out.changes.map((c) => ({ column: c.column, change: c.change, type: c.type, detail: c.detail })),
      };
    },
  };
}
