/**
 * `smelt export <source> --postgres <url> [--schema s] | --kafka <brokers>`: a source's first read
 * into PostgreSQL tables or Kafka topics (ingest/export.ts), e.g. the example's generator into the
 * systems that `SHOP_SOURCE=postgres|kafka` then ingests from.
 */
import { UsageError } from '../../core/errors.js';
import { registerSecret } from '../../core/redact.js';
import { unknownSource } from '../../ingest/declarations.js';
import { exportSource, type ExportTarget } from '../../ingest/export.js';
import { openWarehouse } from '../../storage/registry.js';
import type { Ctx } from '../context.js';

export default async function exportCommand(ctx: Ctx, args: unknown[], opts: Record<string, any>): Promise<number> {
  const [name] = args as [string];
  const postgres = opts.postgres as string | undefined;
  const kafka = opts.kafka as string | undefined;
  if (Boolean(postgres) === Boolean(kafka)) throw new UsageError('export needs one target: --postgres <url> or --kafka <brokers>', { hint: 'smelt export shop --postgres postgres://user@127.0.0.1:5432/app' });
  if (postgres && !/^postgres(ql)?:\/\//.test(postgres)) throw new UsageError('--postgres takes a connection URL', { hint: 'e.g. --postgres postgres://user@127.0.0.1:5432/app' });
  if (kafka && opts.schema) throw new UsageError('--schema names the PostgreSQL schema; Kafka topics are named after the streams', { hint: 'leave --schema out, or export with --postgres' });
  const project = await ctx.project();
  const src = project.sources.find((s) => s.name === name);
  if (!src) throw unknownSource(name, project.sources);
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  let target: ExportTarget;
  let close = async () => {};
  if (postgres) {
    registerSecret(postgres); // the URL may hold a password: never printed
    const wh = await openWarehouse({ type: 'postgres', url: postgres }, { projectDir: ctx.projectDir, signal: ac.signal });
    close = () => wh.close();
    target = { kind: 'warehouse', warehouse: wh, schema: opts.schema ?? name };
  } else {
    target = { kind: 'kafka', brokers: kafka!.split(',').map((b) => b.trim()).filter(Boolean) };
  }
  try {
    const done = await exportSource(src, target, {
      projectDir: ctx.projectDir,
      signal: ac.signal,
      onStream: (stream, rows, where) => ctx.out(`exported ${name}.${stream}: ${rows} row${rows === 1 ? '' : 's'} → ${where}`),
    });
    ctx.out(`Exported ${done.length} stream${done.length === 1 ? '' : 's'} of ${name}, ${done.reduce((a, s) => a + s.rows, 0)} rows.`);
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
    await close();
  }
}
