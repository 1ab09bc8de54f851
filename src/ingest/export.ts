/**
 * `smelt export`: what a source gives on a first read (every stream, no stored state) written into
 * another system, to fill a demo or test system with a source's data (the example's generator into
 * PostgreSQL tables or Kafka topics, which the same project can then ingest from).
 *
 * - A warehouse (PostgreSQL): each stream becomes the table `<schema>.<stream>` with the stream's
 *   declared column types, replaced in one transaction through the warehouse adapter's bulk load.
 * - Kafka: each stream's records are appended to the topic `<stream>` as JSON values (raw records
 *   as they were read), keyed by the stream's primary key where it has one (so the versions of one
 *   row stay in order in one partition), through the Kafka client's writer.
 *
 * Nothing is written to the project's own warehouse or state.
 */
import { UsageError } from '../core/errors.js';
import type { Relation } from '../core/types.js';
import { inTransaction, withConnection, type Warehouse } from '../storage/warehouse.js';
import type { ResolvedSource } from './declarations.js';
import { getSourceConnector } from './registry.js';
import type { SourceRecord, StreamInfo } from './source.js';
import { createKafkaClient } from './sources/kafka/kafka-client.js';
import { toLoadValue } from './value-types.js';

export type ExportTarget =
  | { readonly kind: 'warehouse'; readonly warehouse: Warehouse; readonly schema: string }
  | { readonly kind: 'kafka'; readonly brokers: readonly string[] };

export interface ExportOptions {
  readonly projectDir: string;
  readonly signal?: AbortSignal;
  /** Called as each stream is done. */
  readonly onStream?: (stream: string, rows: number, where: string) => void;
}

/** A record's value: JSON of its parsed fields, or its bytes as the source gave them (a raw record). */
const recordText = (r: SourceRecord): string | Buffer | undefined =>
  r.data ? (toLoadValue(r.data, 'json') as string) : typeof r.raw === 'string' ? r.raw : r.raw ? Buffer.from(r.raw) : undefined;

export async function exportSource(src: ResolvedSource, target: ExportTarget, opts: ExportOptions): Promise<{ stream: string; rows: number }[]> {
  const connector = await getSourceConnector(src.options.type, src.file);
  const source = await connector.create(src.config, { projectDir: opts.projectDir, sourceName: src.name });
  const out: { stream: string; rows: number }[] = [];
  try {
    const streams = (await source.discover({ signal: opts.signal })).filter((s) => src.streams.includes(s.name));
    const records = async function* (stream: StreamInfo) {
      for await (const b of source.read(stream, { batchSize: src.options.batch_size, signal: opts.signal })) yield b.records;
    };
    if (target.kind === 'warehouse') {
      // Every stream needs a table shape: check them all before the first table is replaced.
      const shapeless = streams.find((s) => !s.columns?.length);
      if (shapeless) {
        throw new UsageError(`stream ${shapeless.name} does not declare its columns, so it has no table shape`, { hint: 'export this source to Kafka (--kafka) instead' });
      }
      for (const stream of streams) {
        const rows = await toTable(target.warehouse, { schema: target.schema, name: stream.name }, stream, records(stream));
        out.push({ stream: stream.name, rows });
        opts.onStream?.(stream.name, rows, `${target.schema}.${stream.name}`);
      }
    } else {
      const client = createKafkaClient({ brokers: target.brokers, clientId: `smelt-export-${src.name}`, ssl: false, connectionTimeoutMs: 10_000 });
      const writer = client.writer();
      await writer.connect();
      try {
        for (const stream of streams) {
          let rows = 0;
          const key = stream.primaryKey?.length ? stream.primaryKey : undefined;
          for await (const batch of records(stream)) {
            const messages = batch.flatMap((r) => {
              const value = recordText(r);
              if (value === undefined) return [];
              return [{ value, key: key && r.data ? key.map((k) => String(r.data![k] ?? '')).join('|') : null }];
            });
            await writer.send(stream.name, messages);
            rows += messages.length;
          }
          out.push({ stream: stream.name, rows });
          opts.onStream?.(stream.name, rows, `topic ${stream.name}`);
        }
      } finally {
        await writer.disconnect();
      }
    }
  } finally {
    await source.close();
  }
  return out;
}

/** Replaces `table` with the stream's rows, typed as the stream declares its columns, in one transaction. */
async function toTable(wh: Warehouse, table: Relation, stream: StreamInfo, batches: AsyncIterable<readonly SourceRecord[]>): Promise<number> {
  const d = wh.dialect;
  const cols = stream.columns!.map((c) => ({ name: c.name, type: c.type }));
  const rows = async function* () {
    for await (const batch of batches) {
      yield batch.filter((r) => r.data).map((r) => cols.map((c) => toLoadValue(r.data![c.name], c.type)));
    }
  };
  return withConnection(wh, (conn) => inTransaction(conn, async () => {
    await conn.execute(d.createSchema(table.schema));
    await conn.execute(d.dropRelation(table, 'table'));
    await conn.execute(d.createTable(table, cols.map((c) => ({ name: c.name, type: d.typeName(c.type) }))));
    return (await conn.bulkLoad(table, { columns: cols, batches: rows() })).rows;
  }));
}
