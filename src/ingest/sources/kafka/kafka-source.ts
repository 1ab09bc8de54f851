/**
 * Kafka: each topic is a stream (`shop.orders` → stream `shop_orders`).
 *
 * Records. For value_format `json` a record's data is the parsed value (the raw
 * bytes are handed to the normalizer, so malformed JSON, invalid UTF-8 and
 * oversized values become dead letters there); `string` gives `{value: text}`
 * (invalid UTF-8 is a dead letter), `bytes` gives `{value: base64}`. A null
 * value (tombstone) lands as a row with NULL data columns. The message's
 * metadata is declared as position fields, so it lands in bronze next to the
 * data: `_smelt_partition` (integer), `_smelt_offset` (bigint), `_smelt_key`
 * (text; `base64:…` when the key is not UTF-8), `_smelt_headers` (JSON object
 * name → text, a list for repeated names; NULL without headers) and
 * `_smelt_timestamp` (timestamptz). For `string`/`bytes` the size limit
 * (max_record_bytes) is the broker's own message size limit.
 *
 * Exactly once. The state stored with each batch is the next offset of every
 * partition, `{topic, partitions: {"0": "123", …}}` (offsets as text), and a
 * batch holds exactly the records between the previous state and its own. A
 * read fetches every partition from its stored offset (read_committed): the
 * warehouse state, not the group, decides where reading starts. Without state
 * a read starts at `start` (earliest/latest), so a full refresh or a new
 * warehouse reads everything again; a partition missing from a stored state
 * (added to the topic later) starts at its earliest offset. Group offsets are
 * committed only in `commit()`, which the loader calls after the warehouse
 * commit; they serve monitoring (lag). Offsets that retention deleted before
 * they were read become one dead letter per gap.
 *
 * Partitions are fetched directly from their leaders, without joining the
 * group (see kafka-client.ts for why): a killed run leaves nothing behind on
 * the broker, and the next one starts at once. One smelt process reads a
 * source at a time.
 *
 * Batch mode reads until every partition reaches the high watermark seen when
 * the read began, then returns; `follow` keeps reading (and picks up new
 * partitions) until the AbortSignal fires. The next fetch runs while the
 * loader writes the current batch.
 *
 * Lines. Where the warehouse parses NDJSON itself (`opts.jsonLines`) and values are JSON, every
 * batch after the first (which creates the table) is written as a lines file (kafka-batch.ts,
 * lines-file.ts), each line carrying its position fields; the warehouse takes it whole or hands it
 * back, and then the same messages go as records (`fallback`), with the same state.
 */
import { AbortedError, SmeltError } from '../../../core/errors.js';
import type { CallOptions, CheckResult, RecordBatch, ReadOptions, Source, SourceContext, StreamInfo } from '../../source.js';
import { topicsByStream, type KafkaConfig } from './config.js';
import { FetchBuffer } from './fetch-buffer.js';
import { createKafkaClient, type AdminClient, type KafkaClient, type PartitionFetch, type PartitionReader } from './kafka-client.js';
import { parseState, startPositions, stateOf, type KafkaState } from './kafka-state.js';
import { GroupCommits } from './group-commits.js';
import { KafkaBatch } from './kafka-batch.js';
import { gapRecord, POSITION_FIELDS } from './records.js';

/** Follow mode: a partial batch is handed over after this long. */
const LINGER_MS = 200;
/** Follow mode: how often the topic is checked for new partitions. */
const NEW_PARTITIONS_EVERY_MS = 30_000;
/** Fetch rounds in a row that move no partition while some are behind their target, before a read gives up. */
const MAX_IDLE_ROUNDS = 200;

export class KafkaSource implements Source {
  private readonly client: KafkaClient;
  private adminClient?: Promise<AdminClient>;
  private partitionReader?: PartitionReader;
  private readonly topics: Map<string, string>;
  private readonly groupId: string;
  /** Group offsets, committed after the warehouse (best effort: the warehouse holds the truth). */
  private readonly commits: GroupCommits;

  constructor(private readonly cfg: KafkaConfig, private readonly ctx: SourceContext) {
    this.topics = topicsByStream(cfg);
    this.groupId = cfg.group_id ?? `smelt-${ctx.sourceName}`;
    this.client = createKafkaClient({
      brokers: cfg.brokers,
      clientId: cfg.client_id ?? `smelt-${ctx.sourceName}`,
      ssl: cfg.ssl,
      sasl: cfg.sasl,
      connectionTimeoutMs: cfg.connection_timeout_ms,
    });
    this.commits = new GroupCommits((topic, offsets) => this.reader().commitOffsets(this.groupId, topic, offsets), (m) => this.client.scrub(m));
  }

  /** The last error a group commit met. */
  get lastCommitError(): string | undefined {
    return this.commits.lastError;
  }

  private admin(): Promise<AdminClient> {
    this.adminClient ??= (async () => {
      const a = this.client.admin();
      await a.connect();
      return a;
    })();
    const p = this.adminClient;
    p.catch(() => {
      if (this.adminClient === p) this.adminClient = undefined;
    });
    return p;
  }

  private reader(): PartitionReader {
    return (this.partitionReader ??= this.client.reader());
  }

  private fail(what: string, e: unknown): SmeltError {
    if (e instanceof SmeltError) return e;
    const msg = this.client.scrub(e instanceof Error ? e.message : String(e));
    const last = this.client.lastError();
    return new SmeltError(`kafka (${this.cfg.brokers.join(', ')}): ${what}: ${msg}${last && !last.includes(msg) ? ` (${last})` : ''}`, {
      hint: 'check brokers, ssl and sasl in the source declaration, and that the brokers are reachable from here',
    });
  }

  async check(opts?: CallOptions): Promise<CheckResult> {
    const probe = createKafkaClient({
      brokers: this.cfg.brokers,
      clientId: this.cfg.client_id ?? `smelt-${this.ctx.sourceName}`,
      ssl: this.cfg.ssl,
      sasl: this.cfg.sasl,
      connectionTimeoutMs: this.cfg.connection_timeout_ms,
      retries: 1,
    });
    const admin = probe.admin();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.cfg.connection_timeout_ms} ms`)), this.cfg.connection_timeout_ms);
      opts?.signal?.addEventListener('abort', () => reject(new AbortedError('cancelled')), { once: true });
    });
    try {
      const topics = await Promise.race([
        (async () => {
          await admin.connect();
          return admin.listTopics();
        })(),
        timeout,
      ]);
      const missing = this.cfg.topics.filter((t) => !topics.includes(t));
      if (missing.length) return { ok: false, reason: `topic${missing.length > 1 ? 's' : ''} not found: ${missing.join(', ')}` };
      return { ok: true };
    } catch (e) {
      const msg = probe.scrub(e instanceof Error ? e.message : String(e));
      const last = probe.lastError();
      return { ok: false, reason: `cannot reach ${this.cfg.brokers.join(', ')}: ${msg}${last && !last.includes(msg) ? ` (${last})` : ''}` };
    } finally {
      clearTimeout(timer);
      void admin.disconnect().catch(() => undefined);
    }
  }

  async discover(): Promise<StreamInfo[]> {
    return [...this.topics.keys()].map((name) => ({ name, positionFields: POSITION_FIELDS }));
  }

  private topicOf(stream: StreamInfo): string {
    const t = this.topics.get(stream.name);
    if (!t) throw new SmeltError(`kafka source ${this.ctx.sourceName} has no stream '${stream.name}'`);
    return t;
  }

  async *read(stream: StreamInfo, opts: ReadOptions): AsyncIterable<RecordBatch> {
    const topic = this.topicOf(stream);
    const where = `${this.ctx.sourceName}.${stream.name}`;
    const signal = opts.signal;
    const follow = Boolean(opts.follow);
    const batchSize = Math.max(1, opts.batchSize);
    const abortIfNeeded = () => {
      if (signal?.aborted) throw new AbortedError('cancelled');
    };
    abortIfNeeded();
    const stored = parseState(opts.state, topic, where);

    let marks;
    try {
      const admin = await this.admin();
      const topics = await admin.listTopics();
      if (!topics.includes(topic)) {
        throw new SmeltError(`kafka: topic '${topic}' does not exist on ${this.cfg.brokers.join(', ')}`, {
          hint: `topics there: ${topics.filter((t) => !t.startsWith('__')).slice(0, 20).join(', ') || '(none)'}`,
        });
      }
      marks = await admin.watermarks(topic);
    } catch (e) {
      throw this.fail(`reading topic ${topic}`, e);
    }

    // Where each partition starts, and the gaps retention left behind.
    const pastEnd = (what: string) => (partition: number, offset: bigint, high: string) => this.pastEnd(`${where}: ${what} ${offset}`, topic, partition, high, stream);
    const { positions, gaps } = startPositions(marks, stored, this.cfg.start, pastEnd('the stored offset'));
    const targets = follow ? undefined : new Map(marks.map((w) => [w.partition, BigInt(w.high)]));
    const initial = stateOf(topic, positions);
    const changed = JSON.stringify(initial) !== JSON.stringify(stored ? stateOf(topic, stored) : undefined);
    const buffer = new FetchBuffer(positions, targets);

    const batch = new KafkaBatch(stream.name, this.cfg.value_format, opts, stored !== undefined, gaps);
    // `latest` is resolved once and stored right away, so a restart does not skip what arrived meanwhile.
    const storesLatest = !stored && this.cfg.start === 'latest';
    if (storesLatest) yield batch.take(initial);
    if (buffer.wanted().size === 0) {
      // Nothing to read. Store the resolved start (e.g. `latest`) so the next run does not resolve it again.
      if ((changed && !storesLatest) || batch.count) yield batch.take(initial);
      return;
    }
    /** The state moved since the last batch (records, or offsets that hold no records). */
    let moved = batch.count > 0 || (changed && !storesLatest);
    let lingerFrom = Date.now();
    const emit = (): RecordBatch => {
      const b = batch.take(stateOf(topic, positions));
      moved = false;
      lingerFrom = Date.now();
      return b;
    };
    const reader = this.reader();
    const fetchOpts = { maxWaitMs: this.cfg.fetch_max_wait_ms, maxBytesPerPartition: this.cfg.fetch_max_bytes };
    const fetchRound = (at: Map<number, bigint>) => {
      const f = reader.fetch(topic, at, fetchOpts);
      f.catch(() => undefined); // awaited later, or dropped when the read ends early
      return f;
    };
    let pending: Promise<PartitionFetch[]> | undefined;
    let idleRounds = 0;
    let partitionsCheckedAt = Date.now();

    for (;;) {
      abortIfNeeded();
      // Fill the batch from what was fetched; positions move record by record.
      const size = batch.size(batchSize);
      if (buffer.fill(batch.taken, size - batch.records.length)) moved = true;
      const full = batch.count >= size;
      const lingered = follow && batch.count > 0 && Date.now() - lingerFrom >= LINGER_MS;
      if (full || lingered) {
        // The next fetch runs while the loader writes this batch.
        if (!pending) {
          const at = buffer.wanted();
          if (at.size) pending = fetchRound(at);
        }
        yield emit();
        continue;
      }
      if (!buffer.empty) continue;
      if (follow && Date.now() - partitionsCheckedAt > NEW_PARTITIONS_EVERY_MS) {
        partitionsCheckedAt = Date.now();
        await this.addNewPartitions(topic, positions);
      }
      const at = buffer.wanted();
      if (at.size === 0) break; // batch mode: every partition reached its target
      let round: PartitionFetch[];
      try {
        round = await (pending ?? fetchRound(at));
      } catch (e) {
        throw this.fail(`reading topic ${topic}`, e);
      }
      pending = undefined;
      let progressed = false;
      for (const r of round) {
        const pos = positions.get(r.partition);
        if (pos === undefined || r.fetchedOffset !== pos) continue; // a prefetch for a position that moved since
        if (r.outOfRange) {
          const w = (await (await this.admin()).watermarks(topic)).find((x) => x.partition === r.partition);
          const low = BigInt(w?.low ?? '0');
          if (pos < low) {
            batch.records.push(gapRecord(r.partition, pos, low));
            positions.set(r.partition, low);
            moved = progressed = true;
            continue;
          }
          throw pastEnd('offset')(r.partition, pos, w?.high ?? '?');
        }
        if (buffer.add(r)) progressed = true;
      }
      if (progressed || follow) idleRounds = 0;
      else if (++idleRounds > MAX_IDLE_ROUNDS) {
        throw new SmeltError(`${where}: topic ${topic} returns nothing at ${[...at].map(([p, o]) => `partition ${p} offset ${o}`).join(', ')} although its high watermark is further on`, {
          hint: 'the topic may hold records this client cannot decode, or an open transaction that never ends; SMELT_DEBUG_KAFKA=1 shows the client\'s requests',
        });
      }
    }
    if (moved) yield emit();
  }

  /** `offset` (e.g. "src.stream: offset 12") is past the partition's end: the topic was probably created again. */
  private pastEnd(offset: string, topic: string, partition: number, high: string, stream: StreamInfo): SmeltError {
    return new SmeltError(`${offset} of topic ${topic} partition ${partition} is past its end (${high}); was the topic deleted and created again?`, {
      hint: `\`smelt state reset ${this.ctx.sourceName} ${stream.name}\` reads it again from \`start\``,
    });
  }

  /** Follow mode: partitions added to the topic since the read began are read from their start. */
  private async addNewPartitions(topic: string, positions: Map<number, bigint>): Promise<void> {
    const marks = await (await this.admin()).watermarks(topic);
    for (const w of marks) if (!positions.has(w.partition)) positions.set(w.partition, BigInt(w.low));
  }

  async commit(stream: StreamInfo, state: unknown): Promise<void> {
    if (state === undefined || state === null) return;
    await this.commits.commit(stream.name, state as KafkaState);
  }

  async close(): Promise<void> {
    if (this.commits.waiting) await this.commits.flush().catch(() => undefined);
    const r = this.partitionReader;
    this.partitionReader = undefined;
    await r?.disconnect();
    const a = this.adminClient;
    this.adminClient = undefined;
    if (a) await a.then((x) => x.disconnect()).catch(() => undefined);
  }
}
