/**
 * The small Kafka client surface the source uses, and its KafkaJS
 * implementation. Everything KafkaJS-specific stays in this file, so another
 * client with the KafkaJS API (@confluentinc/kafka-javascript) can be swapped
 * in by writing one more `createKafkaClient`.
 *
 * The client never logs: KafkaJS's own log lines are dropped, and the last
 * error line is kept (redacted) to explain a failure. Passwords never reach
 * messages: every text that leaves this file passes through `scrub()`.
 */
import kafkajs from 'kafkajs';
import type { Assigner, Batch, Cluster, Consumer, GroupMember, IHeaders, KafkaConfig as KafkaJsConfig, PartitionAssigner, SASLOptions } from 'kafkajs';
import { redact } from '../../../core/redact.js';

const { Kafka, logLevel, AssignerProtocol } = kafkajs;

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

export interface FetchedMessage {
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: IHeaders;
  /** Milliseconds since the epoch, as text. */
  readonly timestamp: string;
}

export interface FetchedBatch {
  readonly topic: string;
  readonly partition: number;
  /** The offset the fetch asked for (where the consumer's position was), when the client tells. */
  readonly fetchedOffset?: string;
  /** Last offset the fetch covered, including records the client filtered (control records, aborted transactions). */
  readonly lastOffset: string;
  readonly messages: readonly FetchedMessage[];
}

export interface ConsumerHandlers {
  /** One fetched batch of one partition; called one at a time. Throwing makes the client rejoin and fetch again. */
  onBatch(batch: FetchedBatch, heartbeat: () => Promise<void>): Promise<void>;
  /** The group gave this member its partitions (after every rebalance). Seek here. */
  onAssign(assignment: Readonly<Record<string, readonly number[]>>): void;
  /**
   * A fetch held only filtered records (control records, aborted transactions,
   * compacted gaps): the client's position moved to `next` with nothing to
   * deliver. `first` is the first offset the fetch covered (null if none).
   */
  onSkipped(topic: string, partition: number, first: string | null, next: string): void;
  /** The client stopped on an error (`restarting`: it will retry by itself). */
  onCrash(error: Error, restarting: boolean): void;
}

export interface GroupConsumer {
  connect(): Promise<void>;
  subscribe(topic: string): Promise<void>;
  run(handlers: ConsumerHandlers): Promise<void>;
  /** Next fetch of this partition starts at `offset`. Only valid after run(). */
  seek(topic: string, partition: number, offset: string): void;
  pause(topic: string, partitions?: readonly number[]): void;
  resume(topic: string, partitions?: readonly number[]): void;
  /** Commits group offsets (the next offset to read, per partition). */
  commit(offsets: readonly { topic: string; partition: number; offset: string }[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface AdminClient {
  connect(): Promise<void>;
  listTopics(): Promise<string[]>;
  watermarks(topic: string): Promise<PartitionWatermarks[]>;
  /** Committed offsets of a group for a topic; partitions without one are left out. */
  groupOffsets(groupId: string, topic: string): Promise<Map<number, string>>;
  disconnect(): Promise<void>;
}

export interface KafkaClient {
  admin(): AdminClient;
  consumer(opts: { groupId: string; sessionTimeoutMs: number; maxWaitMs?: number }): GroupConsumer;
  /** Last error the client logged, redacted (for error messages). */
  lastError(): string | undefined;
  /** Removes secrets from a text. */
  scrub(text: string): string;
}

/**
 * Round-robin per topic among the members that subscribe to it. KafkaJS's own
 * assigner hands every member partitions of the leader's topics, which breaks a
 * group whose members read different topics (one smelt stream per topic).
 */
const subscriptionAwareAssigner: PartitionAssigner = ({ cluster }: { cluster: Cluster }): Assigner => ({
  name: 'SmeltTopicRoundRobin',
  version: 0,
  async assign({ members, topics }: { members: GroupMember[]; topics: string[] }) {
    const subs = members.map((m) => {
      let memberTopics = topics;
      try {
        const meta = AssignerProtocol.MemberMetadata.decode(m.memberMetadata);
        if (meta?.topics?.length) memberTopics = meta.topics;
      } catch {
        // Unknown metadata: assume the leader's topics.
      }
      return { id: m.memberId, topics: memberTopics };
    });
    const all = [...new Set(subs.flatMap((s) => s.topics))].sort();
    const unknown = all.filter((t) => !topics.includes(t));
    if (unknown.length) await cluster.addMultipleTargetTopics(unknown);
    const plan = new Map<string, Record<string, number[]>>();
    for (const topic of all) {
      const readers = subs.filter((s) => s.topics.includes(topic)).map((s) => s.id).sort();
      const partitions = cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId).sort((a, b) => a - b);
      partitions.forEach((p, i) => {
        const id = readers[i % readers.length]!;
        const a = plan.get(id) ?? {};
        (a[topic] ??= []).push(p);
        plan.set(id, a);
      });
    }
    return subs.map((s) => ({
      memberId: s.id,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: plan.get(s.id) ?? {}, userData: Buffer.alloc(0) }),
    }));
  },
  protocol({ topics }: { topics: string[] }) {
    return { name: 'SmeltTopicRoundRobin', metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) };
  },
});

export function createKafkaClient(opts: KafkaClientOptions): KafkaClient {
  const secret = opts.sasl?.password;
  const scrub = (text: string): string => {
    let out = text;
    if (secret && secret.length > 0) out = out.split(secret).join('***');
    return redact(out);
  };
  let last: string | undefined;
  const config: KafkaJsConfig = {
    brokers: [...opts.brokers],
    clientId: opts.clientId,
    ssl: opts.ssl,
    connectionTimeout: opts.connectionTimeoutMs,
    authenticationTimeout: opts.connectionTimeoutMs,
    requestTimeout: Math.max(30_000, opts.connectionTimeoutMs),
    retry: { retries: opts.retries ?? 5, initialRetryTime: 200, maxRetryTime: 5_000 },
    // SMELT_DEBUG_KAFKA=1 prints the client's own log lines (scrubbed) to stderr.
    logLevel: process.env.SMELT_DEBUG_KAFKA ? logLevel.DEBUG : logLevel.ERROR,
    // Otherwise never print: keep the last error line for messages.
    logCreator: () => ({ level, log }) => {
      const extra = (log as { error?: unknown }).error;
      const line = scrub(`${log.message}${extra ? `: ${String(extra)}` : ''}`);
      if (process.env.SMELT_DEBUG_KAFKA) process.stderr.write(`kafkajs[${level}] ${new Date().toISOString()} ${line}\n`);
      if (level <= logLevel.ERROR) last = line;
    },
  };
  if (opts.sasl) {
    config.sasl = { mechanism: opts.sasl.mechanism, username: opts.sasl.username, password: opts.sasl.password } as SASLOptions;
  }
  const kafka = new Kafka(config);

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
    consumer({ groupId, sessionTimeoutMs, maxWaitMs }): GroupConsumer {
      const c: Consumer = kafka.consumer({
        groupId,
        sessionTimeout: sessionTimeoutMs,
        rebalanceTimeout: Math.max(sessionTimeoutMs, 10_000),
        heartbeatInterval: Math.max(100, Math.min(3_000, Math.floor(sessionTimeoutMs / 3))),
        maxWaitTimeInMs: maxWaitMs ?? 250,
        partitionAssigners: [subscriptionAwareAssigner],
        allowAutoTopicCreation: false,
        readUncommitted: false,
      });
      return {
        connect: () => c.connect(),
        disconnect: () => c.disconnect(),
        subscribe: (topic) => c.subscribe({ topics: [topic], fromBeginning: true }),
        async run(h) {
          c.on(c.events.GROUP_JOIN, (e) => h.onAssign(e.payload.memberAssignment));
          c.on(c.events.END_BATCH_PROCESS, (e) => {
            const p = e.payload;
            if (p.batchSize === 0 && p.lastOffset != null) h.onSkipped(p.topic, p.partition, p.firstOffset ?? null, (BigInt(p.lastOffset) + 1n).toString());
          });
          c.on(c.events.CRASH, (e) => h.onCrash(e.payload.error, Boolean(e.payload.restart)));
          await c.run({
            autoCommit: false,
            eachBatchAutoResolve: true,
            partitionsConsumedConcurrently: 1,
            eachBatch: async ({ batch, heartbeat }) => {
              const b = batch as Batch & { fetchedOffset?: string };
              await h.onBatch(
                {
                  topic: b.topic,
                  partition: b.partition,
                  fetchedOffset: b.fetchedOffset === undefined ? undefined : String(b.fetchedOffset),
                  lastOffset: b.lastOffset(),
                  messages: b.messages as unknown as FetchedMessage[],
                },
                heartbeat,
              );
            },
          });
        },
        seek: (topic, partition, offset) => c.seek({ topic, partition, offset }),
        pause: (topic, partitions) => c.pause([partitions ? { topic, partitions: [...partitions] } : { topic }]),
        resume: (topic, partitions) => c.resume([partitions ? { topic, partitions: [...partitions] } : { topic }]),
        commit: (offsets) => c.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset }))),
      };
    },
  };
}
