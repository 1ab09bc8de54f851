/**
 * The small Kafka client surface the source uses, and its KafkaJS
 * implementation. Everything KafkaJS-specific stays in this file, so another
 * client (e.g. @confluentinc/kafka-javascript) can be swapped in by writing one
 * more `createKafkaClient`.
 *
 * Why partitions are fetched directly rather than through a group consumer:
 * smelt keeps each stream's offsets in the warehouse, so it needs no group to
 * decide what to read. A group member that is SIGKILLed stays in its group
 * until its session times out, and the next run's JoinGroup waits for it (with
 * librdkafka's mock cluster, indefinitely). Fetching by partition makes a
 * restart immediate; group offsets are still committed, as a standalone
 * (generation -1) group, so lag tools keep working.
 *
 * KafkaJS exposes no partition fetch of its own, so this file uses its
 * cluster, broker and protocol modules: KafkaJS encodes the Fetch request and
 * sends it on its connection, and fetch-response.ts decodes the response
 * (KafkaJS's own decoder was most of the client's CPU). KafkaJS 2.2.4 is its
 * final release, so these paths do not move; package.json pins it. They are
 * typed in kafkajs-internals.ts.
 *
 * The client never logs: KafkaJS's own log lines are dropped, and the last
 * error line is kept (redacted) to explain a failure. Passwords never reach
 * messages: every text that leaves this file passes through `scrub()`.
 * SMELT_DEBUG_KAFKA=1 prints the client's log lines (scrubbed) to stderr.
 */
import kafkajs from 'kafkajs';
import type { KafkaConfig as KafkaJsConfig, SASLOptions } from 'kafkajs';
import { redact } from '../../../core/redact.js';
import { registerCodecs } from './codecs.js';
import { decodeFetchResponse, type DecodedFetch, type DecodedMessage } from './fetch-response.js';
import { fromKjs, internals, type KjsError, type KjsFetchArgs } from './kafkajs-internals.js';

const { Kafka, logLevel } = kafkajs;
// snappy, LZ4 and zstd batches, which KafkaJS alone cannot read.
registerCodecs(kafkajs);

export interface KafkaClientOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly ssl: boolean;
  readonly sasl?: { readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; readonly username: string; readonly password: string };
  readonly connectionTimeoutMs: number;
  /** Connection retries before an operation fails (default 5). */
  readonly retries?: number;
}

export interface PartitionWatermarks {
  readonly partition: number;
  /** First offset still in the log. */
  readonly low: string;
  /** Offset the next produced message gets (the high watermark). */
  readonly high: string;
}

/** A fetched message: offset and timestamp (ms since the epoch) as numbers, key and value as views into the response. */
export type FetchedMessage = DecodedMessage;

/** A message taken from the fetch buffer into a batch, with its partition. */
export interface Taken {
  readonly partition: number;
  readonly m: FetchedMessage;
}

/** What one fetch returned for one partition. */
export interface PartitionFetch {
  readonly partition: number;
  /** The offset this fetch asked for. */
  readonly fetchedOffset: bigint;
  /** Messages at or after fetchedOffset, without control records or aborted transactions, in offset order. */
  readonly messages: readonly FetchedMessage[];
  /** Where the next fetch of this partition starts: past every record this fetch covered, filtered ones included. */
  readonly next: bigint;
  /** The offset asked for is not in the log any more (retention) or not yet (a recreated topic). */
  readonly outOfRange?: boolean;
}

export interface FetchOptions {
  /** How long the broker may hold the request when there is nothing to return. */
  readonly maxWaitMs: number;
  readonly maxBytesPerPartition: number;
}

export interface AdminClient {
  connect(): Promise<void>;
  listTopics(): Promise<string[]>;
  watermarks(topic: string): Promise<PartitionWatermarks[]>;
  /** Committed offsets of a group for a topic; partitions without one are left out. */
  groupOffsets(groupId: string, topic: string): Promise<Map<number, string>>;
  disconnect(): Promise<void>;
}

export interface PartitionReader {
  /** One fetch round for the given partitions (partition → offset), against each partition's leader. */
  fetch(topic: string, offsets: ReadonlyMap<number, bigint>, opts: FetchOptions): Promise<PartitionFetch[]>;
  /**
   * Commits group offsets (the next offset to read, per partition) as a standalone group: no
   * membership needed. Fails while other consumers are active members of the group.
   */
  commitOffsets(groupId: string, topic: string, offsets: ReadonlyMap<number, bigint>): Promise<void>;
  disconnect(): Promise<void>;
}

/** Appends messages to topics (`smelt export`); a keyless message goes to any partition. */
export interface TopicWriter {
  connect(): Promise<void>;
  send(topic: string, messages: readonly { readonly value: string | Buffer; readonly key?: string | null }[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface KafkaClient {
  admin(): AdminClient;
  reader(): PartitionReader;
  writer(): TopicWriter;
  /** Last error the client logged, redacted (for error messages). */
  lastError(): string | undefined;
  /** Removes secrets from a text. */
  scrub(text: string): string;
}


const READ_COMMITTED = 1;
/** Consecutive failed fetch rounds (leader moves, lost connections) before a read gives up. */
const MAX_FETCH_RETRIES = 8;

export function createKafkaClient(opts: KafkaClientOptions): KafkaClient {
  const secret = opts.sasl?.password;
  const scrub = (text: string): string => {
    let out = text;
    if (secret && secret.length > 0) out = out.split(secret).join('***');
    return redact(out);
  };
  let last: string | undefined;
  const debug = Boolean(process.env.SMELT_DEBUG_KAFKA);
  const level = debug ? logLevel.DEBUG : logLevel.ERROR;
  const logCreator = () => ({ level: l, log }: { level: number; log: { message: string; error?: unknown } }) => {
    const line = scrub(`${log.message}${log.error ? `: ${String(log.error)}` : ''}`);
    if (debug) process.stderr.write(`kafkajs[${l}] ${new Date().toISOString()} ${line}\n`);
    if (l <= logLevel.ERROR) last = line;
  };
  const sasl = opts.sasl ? ({ mechanism: opts.sasl.mechanism, username: opts.sasl.username, password: opts.sasl.password } as SASLOptions) : undefined;
  const common = {
    brokers: [...opts.brokers],
    clientId: opts.clientId,
    ssl: opts.ssl,
    sasl,
    connectionTimeout: opts.connectionTimeoutMs,
    authenticationTimeout: opts.connectionTimeoutMs,
    requestTimeout: Math.max(30_000, opts.connectionTimeoutMs),
    retry: { retries: opts.retries ?? 5, initialRetryTime: 200, maxRetryTime: 5_000 },
  };
  const kafka = new Kafka({ ...common, logLevel: level, logCreator } as KafkaJsConfig);

  return {
    scrub,
    lastError: () => last,
    admin(): AdminClient {
      const a = kafka.admin();
      return {
        connect: () => a.connect(),
        disconnect: () => a.disconnect(),
        listTopics: () => a.listTopics(),
        async watermarks(topic) {
          const r = await a.fetchTopicOffsets(topic);
          return r.map((p) => ({ partition: p.partition, low: p.low, high: p.high })).sort((x, y) => x.partition - y.partition);
        },
        async groupOffsets(groupId, topic) {
          const r = await a.fetchOffsets({ groupId, topics: [topic] });
          const out = new Map<number, string>();
          for (const t of r) for (const p of t.partitions) if (p.offset !== '-1') out.set(p.partition, p.offset);
          return out;
        },
      };
    },
    writer(): TopicWriter {
      const p = kafka.producer({ allowAutoTopicCreation: true });
      // Requests of at most 512 KiB: one partition's record batch must stay under the broker's
      // message.max.bytes (1 MB by default), whatever the partition count.
      const MAX_BYTES = 512 * 1024;
      return {
        connect: () => p.connect(),
        disconnect: () => p.disconnect(),
        async send(topic, messages) {
          let chunk: { value: string | Buffer; key: string | null }[] = [];
          let bytes = 0;
          for (const m of messages) {
            const size = (typeof m.value === 'string' ? Buffer.byteLength(m.value) : m.value.length) + 64;
            if (chunk.length && bytes + size > MAX_BYTES) {
              await p.send({ topic, messages: chunk });
              chunk = [];
              bytes = 0;
            }
            chunk.push({ value: m.value, key: m.key ?? null });
            bytes += size;
          }
          if (chunk.length) await p.send({ topic, messages: chunk });
        },
      };
    },
    reader(): PartitionReader {
      const kjs = internals();
      const cluster = new kjs.Cluster({
        ...common,
        logger: kjs.createLogger({ level, logCreator }),
        socketFactory: kjs.socketFactory(),
        enforceRequestTimeout: true,
        allowAutoTopicCreation: false,
        isolationLevel: READ_COMMITTED,
      });
      let connected: Promise<void> | undefined;
      const topics = new Set<string>();
      const ready = async (topic: string) => {
        connected ??= cluster.connect().catch((e) => {
          connected = undefined;
          throw e;
        });
        await connected;
        if (!topics.has(topic)) {
          await cluster.addTargetTopic(topic);
          topics.add(topic);
        }
      };

      const decompress = (attributes: number, data: Buffer) => kjs.codecFor(attributes)?.decompress(data) ?? null;
      const legacy = async (recordSet: Buffer) => (await kjs.decodeMessages(new kjs.Decoder(recordSet))).filter((m) => !m.isControlRecord).map(fromKjs);
      const parse = async (d: unknown) => {
        const code = (d as DecodedFetch).errorCode;
        if (code) throw kjs.createErrorFromCode(code);
        return kjs.parseFetch(d);
      };

      const fetchFrom = async (topic: string, nodeId: string, parts: number[], offsets: ReadonlyMap<number, bigint>, o: FetchOptions): Promise<PartitionFetch[]> => {
        const broker = await cluster.findBroker({ nodeId });
        const args: KjsFetchArgs = {
          replicaId: -1,
          isolationLevel: READ_COMMITTED,
          maxWaitTime: o.maxWaitMs,
          minBytes: 1,
          maxBytes: o.maxBytesPerPartition * parts.length,
          topics: [{ topic, partitions: parts.map((p) => ({ partition: p, fetchOffset: offsets.get(p)!.toString(), maxBytes: o.maxBytesPerPartition })) }],
        };
        const out: PartitionFetch[] = [];
        const request = broker.lookupRequest(kjs.fetchApiKey, kjs.fetchRequests)(args);
        const version = request.request.apiVersion;
        if (version >= 4) {
          // Record batches: decoded here (fetch-response.ts), through KafkaJS's connection.
          const from = new Map(parts.map((p) => [p, Number(offsets.get(p)!)]));
          let r: DecodedFetch;
          try {
            r = (await broker.connectionPool.send({ ...request, response: { decode: (raw) => decodeFetchResponse(raw, version, from, decompress, legacy), parse } })) as DecodedFetch;
          } catch (e) {
            // What KafkaJS's broker does for its own requests: a closed connection is dropped, to be reopened.
            if ((e as Error).name === 'KafkaJSConnectionClosedError') await broker.disconnect().catch(() => undefined);
            throw e;
          }
          for (const t of r.responses) {
            if (t.topicName !== topic) continue;
            for (const pd of t.partitions) {
              const at = offsets.get(pd.partition);
              if (at === undefined) continue;
              const next = pd.next !== undefined && BigInt(pd.next) > at ? BigInt(pd.next) : at;
              out.push({ partition: pd.partition, fetchedOffset: at, messages: pd.messages, next });
            }
          }
          return out;
        }
        // Brokers before 0.11 (message sets): KafkaJS's decoder and Batch filter.
        const r = await broker.fetch(args);
        for (const t of r.responses) {
          if (t.topicName !== topic) continue;
          for (const pd of t.partitions) {
            const at = offsets.get(pd.partition);
            if (at === undefined) continue;
            // Batch drops records before the offset asked for (a compressed batch starts earlier),
            // control records and aborted transactions; `messagesWithinOffset` still has them all.
            const b = new kjs.Batch(topic, at.toString(), pd);
            const covered = b.messagesWithinOffset;
            const next = covered.length ? BigInt(covered[covered.length - 1]!.offset) + 1n : at;
            out.push({ partition: pd.partition, fetchedOffset: at, messages: b.messages.map(fromKjs), next });
          }
        }
        return out;
      };

      let failures = 0;
      return {
        async fetch(topic, offsets, o) {
          for (;;) {
            try {
              await ready(topic);
              const leaders = cluster.findLeaderForPartitions(topic, [...offsets.keys()]);
              const led = Object.values(leaders).reduce((n, ps) => n + ps.length, 0);
              if (led < offsets.size) {
                throw Object.assign(new Error(`no leader known for ${offsets.size - led} partition(s) of topic ${topic}`), { name: 'LeaderNotAvailable', retriable: true });
              }
              const rounds = await Promise.all(Object.entries(leaders).map(([nodeId, parts]) => fetchFrom(topic, nodeId, parts, offsets, o)));
              failures = 0;
              return rounds.flat();
            } catch (e) {
              const err = e as KjsError;
              if (err.name === 'KafkaJSOffsetOutOfRange' && err.partition !== undefined) {
                failures = 0;
                return [{ partition: err.partition, fetchedOffset: offsets.get(err.partition) ?? 0n, messages: [], next: offsets.get(err.partition) ?? 0n, outOfRange: true }];
              }
              // A leader moved, a broker restarted, metadata is stale: refresh and try again, a few times.
              if (!(err.retriable || /Connection|NotLeader|LeaderNotAvailable|UnknownTopicOrPartition|BrokerNotFound|Metadata/i.test(err.name)) || ++failures > MAX_FETCH_RETRIES) {
                throw new Error(scrub(err.message));
              }
              await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** failures)));
              await cluster.refreshMetadata().catch(() => undefined);
            }
          }
        },
        async commitOffsets(groupId, topic, offsets) {
          await ready(topic);
          const coordinator = await cluster.findGroupCoordinator({ groupId });
          await coordinator.offsetCommit({
            groupId,
            groupGenerationId: -1,
            memberId: '',
            retentionTime: -1,
            topics: [{ topic, partitions: [...offsets].map(([partition, offset]) => ({ partition, offset: offset.toString() })) }],
          });
        },
        async disconnect() {
          if (connected) await cluster.disconnect().catch(() => undefined);
          connected = undefined;
        },
      };
    },
  };
}
