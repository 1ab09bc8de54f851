/**
 * The batch a Kafka read is filling: the records the source made itself (retention gaps) and the
 * messages taken since the last batch. Handed over as records or, where the warehouse parses JSON
 * itself (`ReadOptions.jsonLines`), as one lines file (lines-file.ts) whose fallback is the same
 * records with the same state.
 */
import { join } from 'node:path';
import type { RecordBatch, ReadOptions, SourceRecord } from '../../source.js';
import type { KafkaConfig } from './config.js';
import type { Taken } from './kafka-client.js';
import { LINE_FIELDS, writeLinesFile } from './lines-file.js';
import { toSourceRecord } from './records.js';

export class KafkaBatch {
  /** Records the source made itself (retention gaps). */
  records: SourceRecord[];
  /** Messages taken into the batch (FetchBuffer.fill). */
  taken: Taken[] = [];
  /**
   * The warehouse's offer to take JSON values as lines: where the files go, and messages per batch
   * once batches go as lines (122,880 on DuckDB, ~25 MB of values at 200 B each).
   */
  private readonly lines: ReadOptions['jsonLines'];
  /** The bronze table exists: after a stored state, or once this read handed over messages as records. */
  private tableReady: boolean;
  private files = 0;

  constructor(private readonly stream: string, private readonly format: KafkaConfig['value_format'], opts: ReadOptions, stored: boolean, gaps: SourceRecord[]) {
    this.records = gaps;
    this.lines = format === 'json' ? opts.jsonLines : undefined;
    this.tableReady = stored;
  }

  get count(): number {
    return this.records.length + this.taken.length;
  }

  /** How many records this batch holds when full. */
  size(batchSize: number): number {
    return this.lines && this.tableReady ? Math.max(batchSize, this.lines.rows) : batchSize;
  }

  /** Hands the batch over with `state` and starts the next one. */
  take(state: unknown): RecordBatch {
    const own = this.records;
    const msgs = this.taken;
    this.records = [];
    this.taken = [];
    const format = this.format;
    const asRecords = () => [...own, ...msgs.map((t) => toSourceRecord(t.partition, t.m, format))];
    const lines = this.lines !== undefined && this.tableReady && own.length === 0 && msgs.length > 0;
    if (msgs.length > 0) this.tableReady = true;
    if (lines) {
      const path = join(this.lines!.dir, `${this.stream}-${this.files++}.lines`);
      if (writeLinesFile(path, msgs)) {
        const part = { path, afterLine: 0, position: {}, state, temporary: true, async *fallback() { yield { records: asRecords(), state }; } };
        return { records: [], state, lines: { lineFields: LINE_FIELDS, parts: [part] } };
      }
    }
    return { records: asRecords(), state };
  }
}
