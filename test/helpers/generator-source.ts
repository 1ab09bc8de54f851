/**
 * Shared fixtures of the generator source tests (src/ingest/sources/generator/*.test.ts): opening
 * the connector, reading its streams (in big batches), and a source's history over several runs.
 */
import { tmpdir } from 'node:os';
import type { RecordBatch, Source, SourceRecord, StreamInfo } from '../../src/ingest/source.js';
import { GENERATOR_STREAMS } from '../../src/ingest/sources/generator/config.js';
import type { GeneratorState } from '../../src/ingest/sources/generator/generator-source.js';
import { generatorConnector } from '../../src/ingest/sources/generator/index.js';
import { readAll as readStream } from './read-stream.js';

export const ctx = { projectDir: tmpdir(), sourceName: 'shop' };

export async function open(settings: Record<string, unknown>): Promise<{ src: Source; streams: Map<string, StreamInfo> }> {
  const src = await generatorConnector.create(generatorConnector.parseConfig({ type: 'generator', ...settings }), ctx);
  return { src, streams: new Map((await src.discover()).map((s) => [s.name, s])) };
}

/** The generator's reads: big batches, so a day's records come in one. */
export const readAll = (src: Source, stream: StreamInfo, state?: unknown, batchSize = 10_000) => readStream(src, stream, state, batchSize);

export const records = (batches: readonly RecordBatch[]): SourceRecord[] => batches.flatMap((b) => b.records);
export const finalState = (batches: readonly RecordBatch[]) => batches[batches.length - 1]!.state as GeneratorState;
/** Records as comparable JSON (raw bytes as arrays). */
export const plain = (rs: readonly SourceRecord[]) => JSON.parse(JSON.stringify(rs.map((r) => ({ ...r, raw: r.raw instanceof Uint8Array ? [...r.raw] : r.raw }))));

/** Every stream over the first run and `runs` later runs, records concatenated. */
export async function history(settings: Record<string, unknown>, runs = 0): Promise<Record<string, SourceRecord[]>> {
  const { src, streams } = await open(settings);
  const out: Record<string, SourceRecord[]> = {};
  for (const name of GENERATOR_STREAMS) {
    const stream = streams.get(name)!;
    let batches = await readAll(src, stream);
    const all = records(batches);
    for (let i = 0; i < runs; i++) {
      const next = await readAll(src, stream, finalState(batches));
      all.push(...records(next));
      if (next.length) batches = next;
    }
    out[name] = all;
  }
  return out;
}
