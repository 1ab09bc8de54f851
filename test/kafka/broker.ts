/**
 * A Kafka-protocol broker for tests: librdkafka's mock cluster, started as a
 * child process (test/kafka/bin/mock-broker, built by test/kafka/build.sh).
 * It keeps only ~5 MB per partition, so large volumes are produced while they
 * are consumed, and answers ApiVersions up to v2 (KafkaJS is fine with that).
 *
 *   const broker = await startBroker({ topics: { orders: 3 } });
 *   … broker.bootstrap …
 *   await broker.stop();
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import type { IHeaders, Producer } from 'kafkajs';

const { Kafka, logLevel, Partitioners } = kafkajs;

const HERE = dirname(fileURLToPath(import.meta.url));
export const MOCK_BROKER = join(HERE, 'bin/mock-broker');
const PRODUCE = join(HERE, 'bin/produce');

export interface Broker {
  readonly bootstrap: string;
  stop(): Promise<void>;
}

const stale = (bin: string, source: string) => !existsSync(bin) || statSync(join(HERE, source)).mtimeMs > statSync(bin).mtimeMs;

/** Builds the binaries if they are missing (normally `.ci/run` already did). */
export function ensureMockBroker(): string {
  // Built when missing, and again when a source changed (a checkout that predates an option).
  if (stale(MOCK_BROKER, 'mock-broker.c') || stale(PRODUCE, 'produce.c')) {
    const r = spawnSync('bash', [join(HERE, 'build.sh')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`test/kafka/build.sh failed:\n${r.stdout}\n${r.stderr}`);
  }
  return MOCK_BROKER;
}

/** `fetchMaxVersion` caps the Fetch versions the broker offers (the client then uses an older response layout). */
export async function startBroker(opts: { topics?: Record<string, number>; brokers?: number; fetchMaxVersion?: number } = {}): Promise<Broker> {
  const bin = ensureMockBroker();
  const args = [...(opts.brokers ? ['-b', String(opts.brokers)] : []), ...(opts.fetchMaxVersion !== undefined ? ['-f', String(opts.fetchMaxVersion)] : []), ...Object.entries(opts.topics ?? {}).map(([t, n]) => `${t}:${n}`)];
  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  const bootstrap = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`mock-broker did not start: ${stderr}`)), 10_000);
    child.stdout.on('data', (d) => {
      out += String(d);
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl).trim());
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mock-broker exited (${code}): ${stderr}`));
    });
  });
  let stopped = false;
  return {
    bootstrap,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.stdin.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    },
  };
}

export interface TestMessage {
  key?: string | Buffer | null;
  value: string | Buffer | null;
  partition?: number;
  headers?: IHeaders;
  timestamp?: string;
}

/** A KafkaJS producer for fixtures (quiet, Java-compatible partitioner). */
export async function producer(bootstrap: string): Promise<Producer & { produce(topic: string, messages: TestMessage[]): Promise<void> }> {
  const kafka = new Kafka({ brokers: [bootstrap], clientId: 'smelt-test', logLevel: logLevel.NOTHING, retry: { retries: 3 } });
  const p = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await p.connect();
  return Object.assign(p, {
    async produce(topic: string, messages: TestMessage[]) {
      for (let i = 0; i < messages.length; i += 5_000) await p.send({ topic, messages: messages.slice(i, i + 5_000) });
    },
  });
}

/**
 * Produces each value with librdkafka's own producer (test/kafka/bin/produce), in batches compressed
 * with `codec`, as real clients write them (KafkaJS writes only gzip). Keyless, spread over partitions.
 */
export function produceCompressed(bootstrap: string, topic: string, codec: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd', values: readonly string[]): void {
  ensureMockBroker();
  const r = spawnSync(PRODUCE, [bootstrap, topic, codec], { input: `${values.join('\n')}\n`, encoding: 'utf8' });
  if (r.status !== 0 || Number(r.stdout.trim()) !== values.length) throw new Error(`produce ${codec} failed (${r.status}): ${r.stdout}${r.stderr}`);
}

/** An admin client for assertions (watermarks, group offsets). */
export function adminOf(bootstrap: string) {
  const kafka = new Kafka({ brokers: [bootstrap], clientId: 'smelt-test-admin', logLevel: logLevel.NOTHING, retry: { retries: 3 } });
  return kafka.admin();
}

/** Committed group offsets of one topic: partition → next offset (partitions without one are left out). */
export async function groupOffsets(bootstrap: string, groupId: string, topic: string): Promise<Record<number, string>> {
  const admin = adminOf(bootstrap);
  await admin.connect();
  try {
    const r = await admin.fetchOffsets({ groupId, topics: [topic] });
    const out: Record<number, string> = {};
    for (const t of r) for (const p of t.partitions) if (p.offset !== '-1') out[p.partition] = p.offset;
    return out;
  } finally {
    await admin.disconnect();
  }
}
