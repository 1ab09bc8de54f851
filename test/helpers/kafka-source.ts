/**
 * Shared fixtures of the Kafka source tests (src/ingest/sources/kafka/*.test.ts): opening the
 * connector on a broker, reading a stream to the end, and a project that ingests from it.
 */
import type { RecordBatch } from '../../src/ingest/source.js';
import { streamNameOf } from '../../src/ingest/sources/kafka/config.js';
import { kafkaConnector } from '../../src/ingest/sources/kafka/index.js';
import { runCli } from './project.js';

export { readAll, recordsOf } from './read-stream.js';
export const lastState = (batches: RecordBatch[]) => batches[batches.length - 1]?.state;

export async function openSource(config: Record<string, unknown>, sourceName = 'ev') {
  const src = await kafkaConnector.create(kafkaConnector.parseConfig({ type: 'kafka', ...config }), { projectDir: process.cwd(), sourceName });
  const streams = await src.discover();
  return { src, streams, stream: (topic: string) => streams.find((s) => s.name === streamNameOf(topic))! };
}

export const projectConfig = (source: Record<string, unknown>) => `import { defineConfig } from 'smelt';
export default defineConfig({ name: 'fixture', sources: { ev: ${JSON.stringify({ type: 'kafka', ...source })} } });
`;

export { queryJson as query } from './project.js';

export function ingest(dir: string, ...args: string[]) {
  const r = runCli(['ingest', ...args], { cwd: dir });
  if (r.code !== 0) throw new Error(`smelt ingest failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r;
}
