/** Reading a source's stream to the end, as every source test does. */
import type { RecordBatch, Source, SourceRecord, StreamInfo } from '../../src/ingest/source.js';

/** Every batch of one read of `stream` from `state` (undefined: from the start). */
export async function readAll(src: Source, stream: StreamInfo, state?: unknown, batchSize = 1000): Promise<RecordBatch[]> {
  const out: RecordBatch[] = [];
  for await (const b of src.read(stream, { state, batchSize })) out.push(b);
  return out;
}

export const recordsOf = (batches: readonly RecordBatch[]): SourceRecord[] => batches.flatMap((b) => b.records);
