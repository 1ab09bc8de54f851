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
 * read seeks every assigned partition to the stored offset: the warehouse
 * state wins over the group's committed offset. Without state a read starts
 * at `start` (earliest/latest; the group's offsets are not used, so a full
 * refresh or a new warehouse reads everything again); a partition that is
 * missing from a stored state (added to the topic later) starts at its
 * earliest offset. Group offsets are committed only in `commit()`, which the
 * loader calls after the warehouse commit; they serve monitoring (lag) and
 * never decide where reading starts. Offsets that retention deleted before
 * they were read become one dead letter per gap.
 *
 * Every fetched batch is checked against the offset the reader expects for its
 * partition, so a rebalance, a stale fetch or a seek that has not applied yet
 * can never skip or repeat a record: such batches are dropped and the partition
 * is sought again.
 *
 * Batch mode reads until every partition reaches the high watermark seen when
 * the read began, then returns; `follow` keeps reading until the AbortSignal
 * fires. One consumer per stream joins the group (its members may read
 * different topics); one reader per topic and group at a time.
 */
import { AbortedError, SmeltError } from '../../../core/errors.js';
import type { CallOptions, CheckResult, RecordBatch, ReadOptions, Source, SourceContext, SourceRecord, StreamInfo } from '../../source.js';
import { topicsByStream, type KafkaConfig } from './config.js';
import { createKafkaClient, type AdminClient, type FetchedBatch, type FetchedMessage, type GroupConsumer, type KafkaClient } from './kafka-client.js';
import { gapRecord, POSITION_FIELDS, toSourceRecord } from './records.js';

export interface KafkaState {
  topic: string;
  /** Partition → next offset to read. */
  partitions: Record<string, string>;
}

/** A partial batch is handed over after this long without new messages. */
const LINGER_MS = 200;

type Item =
  | { kind: 'msgs'; partition: number; msgs: readonly FetchedMessage[]; i: number }
  | { kind: 'advance'; partition: number; next: bigint }
  | { kind: 'gap'; partition: number; from: bigint; to: bigint };

/** One topic's group consumer and the records it fetched, kept across reads of one Source. */
class TopicReader {
  consumer?: GroupConsumer;
  private started?: Promise<void>;
  /** Partitions this member holds, once the group assigned them. */
  assignment?: Set<number>;
  /** Next offset the reader accepts per partition (≥ what the read loop has taken). */
  readonly expected = new Map<number, bigint>();
  /** Partitions whose client position is known to equal `expected`. */
  private readonly confirmed = new Set<number>();
  private readonly skipHint = new Map<number, { from: bigint; next: bigint }>();
  private readonly mismatches = new Map<number, number>();
  /** Batch mode: stop at these offsets. */
  targets?: Map<number, bigint>;
  private follow = false;
  active = false;
  private queue: Item[] = [];
  buffered = 0;
  private maxBuffered = 20_000;
  error?: Error;
  /** Groups joined so far (for tests and diagnostics). */
  joins = 0;
  private wakeRead?: () => void;
  private wakeFetch?: () => void;
  private resolvingNew = new Set<number>();

  constructor(
    private readonly client: KafkaClient,
    private readonly admin: () => Promise<AdminClient>,
    readonly topic: string,
    private readonly cfg: KafkaConfig,
    private readonly groupId: string,
  ) {}

  /** Connects and joins the group (once per Source). */
  start(): Promise<void> {
    this.started ??= (async () => {
      const c = this.client.consumer({ groupId: this.groupId, sessionTimeoutMs: this.cfg.session_timeout_ms });
      await c.connect();
      this.consumer = c;
      await c.subscribe(this.topic);
      await c.run({
        onAssign: (a) => this.onAssign(a),
        onBatch: (b, hb) => this.onBatch(b, hb),
        onSkipped: (t, p, first, next) => this.onSkipped(t, p, first, next),
        onCrash: (e, restarting) => {
          if (!restarting) {
            this.error = e;
            this.notify();
          }
        },
      });
    })();
    return this.started;
  }

  begin(start: Map<number, bigint>, targets: Map<number, bigint> | undefined, follow: boolean, batchSize: number): void {
    this.active = true;
    this.follow = follow;
    this.targets = targets;
    this.queue = [];
    this.buffered = 0;
    this.maxBuffered = Math.max(2 * batchSize, 5_000);
    this.error = undefined;
    this.expected.clear();
    for (const [p, o] of start) this.expected.set(p, o);
    this.confirmed.clear();
    this.skipHint.clear();
    this.mismatches.clear();
    const c = this.consumer;
    if (c && this.assignment) {
      for (const p of this.assignment) this.position(p);
      c.resume(this.topic);
      for (const p of this.assignment) if (this.reachedTarget(p) || !this.expected.has(p)) c.pause(this.topic, [p]);
      for (const p of this.assignment) if (!this.expected.has(p)) this.resolveNewPartition(p);
    }
  }

  end(): void {
    this.active = false;
    this.queue = [];
    this.buffered = 0;
    try {
      this.consumer?.pause(this.topic);
    } catch {
      // not running
    }
    this.notifyFetch();
  }

  /** Seeks a partition to the offset the reader expects. */
  private position(p: number): void {
    const o = this.expected.get(p);
    this.confirmed.delete(p);
    if (o !== undefined) this.consumer?.seek(this.topic, p, o.toString());
  }

  private reachedTarget(p: number): boolean {
    const t = this.targets?.get(p);
    if (!this.targets) return false;
    if (t === undefined) return true; // created after the read began: next run
    return (this.expected.get(p) ?? 0n) >= t;
  }

  /** Batch mode: every partition this member holds reached its target. */
  caughtUp(): boolean {
    if (!this.targets || !this.assignment) return false;
    for (const [p, t] of this.targets) {
      if (!this.assignment.has(p)) continue;
      if ((this.expected.get(p) ?? -1n) < t) return false;
    }
    return true;
  }

  private onAssign(a: Readonly<Record<string, readonly number[]>>): void {
    this.joins++;
    const parts = [...(a[this.topic] ?? [])];
    this.assignment = new Set(parts);
    const c = this.consumer;
    if (!c) return;
    if (!this.active) {
      c.pause(this.topic);
      return;
    }
    for (const p of parts) {
      if (this.expected.has(p)) this.position(p);
      else {
        c.pause(this.topic, [p]);
        this.resolveNewPartition(p);
      }
      if (this.reachedTarget(p)) c.pause(this.topic, [p]);
    }
    this.notify();
  }

  /** A partition this read has no offset for (added to the topic meanwhile): follow reads it from its start. */
  private resolveNewPartition(p: number): void {
    if (!this.follow || this.resolvingNew.has(p)) return;
    this.resolvingNew.add(p);
    void (async () => {
      try {
        const w = (await (await this.admin()).watermarks(this.topic)).find((x) => x.partition === p);
        if (!this.active || !w || this.expected.has(p)) return;
        this.expected.set(p, BigInt(w.low));
        this.position(p);
        this.consumer?.resume(this.topic, [p]);
      } catch (e) {
        this.error = e as Error;
        this.notify();
      } finally {
        this.resolvingNew.delete(p);
      }
    })();
  }

  private push(item: Item): void {
    this.queue.push(item);
    if (item.kind === 'msgs') this.buffered += item.msgs.length - item.i;
  }

  private async onBatch(b: FetchedBatch, heartbeat: () => Promise<void>): Promise<void> {
    if (b.topic !== this.topic) return;
    const c = this.consumer!;
    const p = b.partition;
    if (!this.active) {
      c.pause(this.topic);
      return;
    }
    let exp = this.expected.get(p);
    if (exp === undefined) return;
    if (this.targets && this.reachedTarget(p)) {
      c.pause(this.topic, [p]);
      return;
    }
    if (b.fetchedOffset !== undefined) {
      const fetched = BigInt(b.fetchedOffset);
      if (fetched > exp) {
        const hint = this.skipHint.get(p);
        if (hint && hint.from >= exp && hint.next === fetched) {
          // The client skipped only filtered records to get here.
          exp = this.advance(p, fetched);
        } else {
          const low = BigInt((await (await this.admin()).watermarks(this.topic)).find((w) => w.partition === p)?.low ?? '0');
          if (!this.active) return;
          if (low > exp && low <= fetched) {
            this.push({ kind: 'gap', partition: p, from: exp, to: low });
            exp = this.advance(p, low);
          }
        }
      }
      if (fetched !== exp) {
        const n = (this.mismatches.get(p) ?? 0) + 1;
        this.mismatches.set(p, n);
        if (n > 50) {
          this.error = new SmeltError(`kafka: topic ${this.topic} partition ${p}: the consumer keeps fetching from offset ${fetched}, expected ${exp}`);
          this.notify();
          return;
        }
        this.position(p);
        return;
      }
    }
    this.mismatches.delete(p);
    this.skipHint.delete(p);
    this.confirmed.add(p);
    const target = this.targets?.get(p);
    let msgs = b.messages;
    let from = 0;
    while (from < msgs.length && BigInt(msgs[from]!.offset) < exp) from++;
    let to = msgs.length;
    if (target !== undefined) while (to > from && BigInt(msgs[to - 1]!.offset) >= target) to--;
    if (from > 0 || to < msgs.length) msgs = msgs.slice(from, to);
    let next = msgs.length ? BigInt(msgs[msgs.length - 1]!.offset) + 1n : exp;
    if (msgs.length) this.push({ kind: 'msgs', partition: p, msgs, i: 0 });
    // Filtered records at the end of the fetch (control records) move the position too.
    let end = BigInt(b.lastOffset) + 1n;
    if (target !== undefined && end > target) end = target;
    if (end > next) {
      this.push({ kind: 'advance', partition: p, next: end });
      next = end;
    }
    this.expected.set(p, next);
    if (this.reachedTarget(p)) c.pause(this.topic, [p]);
    this.notify();
    // Back-pressure: hold the fetch loop while the writer catches up, heartbeating.
    while (this.active && this.buffered > this.maxBuffered) {
      await heartbeat();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 500);
        this.wakeFetch = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  private advance(p: number, to: bigint): bigint {
    this.push({ kind: 'advance', partition: p, next: to });
    this.expected.set(p, to);
    return to;
  }

  private onSkipped(topic: string, p: number, first: string | null, nextText: string): void {
    if (topic !== this.topic || !this.active) return;
    const exp = this.expected.get(p);
    if (exp === undefined) return;
    let next = BigInt(nextText);
    const target = this.targets?.get(p);
    if (target !== undefined && next > target) next = target;
    const inStep = this.confirmed.has(p) && (first === null ? next === exp + 1n : BigInt(first) >= exp);
    if (inStep && next > exp) {
      this.advance(p, next);
      if (this.reachedTarget(p)) this.consumer?.pause(this.topic, [p]);
      this.notify();
    } else if (!inStep) {
      this.skipHint.set(p, { from: first === null ? next - 1n : BigInt(first), next });
    }
  }

  /** Takes the next item for the read loop. */
  take(): Item | undefined {
    const head = this.queue[0];
    if (!head) return undefined;
    if (head.kind !== 'msgs') {
      this.queue.shift();
      return head;
    }
    return head;
  }

  /** Consumes up to `n` messages of the head item (which must be `msgs`). */
  takeMessages(n: number): { partition: number; msgs: readonly FetchedMessage[] } {
    const head = this.queue[0] as Extract<Item, { kind: 'msgs' }>;
    const k = Math.min(n, head.msgs.length - head.i);
    const msgs = head.i === 0 && k === head.msgs.length ? head.msgs : head.msgs.slice(head.i, head.i + k);
    head.i += k;
    if (head.i >= head.msgs.length) this.queue.shift();
    this.buffered -= k;
    if (this.buffered <= this.maxBuffered) this.notifyFetch();
    return { partition: head.partition, msgs };
  }

  get empty(): boolean {
    return this.queue.length === 0;
  }

  private notify(): void {
    const w = this.wakeRead;
    this.wakeRead = undefined;
    w?.();
  }

  private notifyFetch(): void {
    const w = this.wakeFetch;
    this.wakeFetch = undefined;
    w?.();
  }

  /** Waits for new items, an error, an abort or `ms`. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        if (this.wakeRead === done) this.wakeRead = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      this.wakeRead = done;
    });
  }

  async close(): Promise<void> {
    this.end();
    try {
      await this.started;
    } catch {
      // failed to start: nothing to leave
    }
    await this.consumer?.disconnect().catch(() => undefined);
    this.consumer = undefined;
  }
}

function parseState(raw: unknown, topic: string, where: string): Map<number, bigint> | undefined {
  if (raw === undefined || raw === null) return undefined;
  const s = raw as Partial<KafkaState>;
  if (typeof s !== 'object' || typeof s.partitions !== 'object' || s.partitions === null) {
    throw new SmeltError(`${where}: the stored state is not a Kafka state`, { hint: 'reset it with `smelt state reset <source> <stream>`' });
  }
  if (s.topic !== undefined && s.topic !== topic) {
    throw new SmeltError(`${where}: the stored state belongs to topic '${s.topic}', not '${topic}'`, { hint: 'reset it with `smelt state reset <source> <stream>` to read the new topic from `start`' });
  }
  const out = new Map<number, bigint>();
  for (const [p, o] of Object.entries(s.partitions)) out.set(Number(p), BigInt(String(o)));
  return out;
}

const stateOf = (topic: string, positions: Map<number, bigint>): KafkaState => ({
  topic,
  partitions: Object.fromEntries([...positions.entries()].sort((a, b) => a[0] - b[0]).map(([p, o]) => [String(p), o.toString()])),
});

export class KafkaSource implements Source {
  private readonly client: KafkaClient;
  private adminClient?: Promise<AdminClient>;
  private readonly readers = new Map<string, TopicReader>();
  private readonly topics: Map<string, string>;
  private readonly groupId: string;
  /** Offsets a commit could not deliver yet (a rebalance was running); retried on the next commit and on close. */
  private readonly pendingCommits = new Map<string, KafkaState>();
  /** The last error a group commit met (commits are best effort: the warehouse holds the truth). */
  lastCommitError?: string;

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
    const positions = new Map<number, bigint>(stored ?? []);
    const start = new Map<number, bigint>();
    const gaps: SourceRecord[] = [];
    for (const w of marks) {
      const low = BigInt(w.low);
      const high = BigInt(w.high);
      let at = stored?.get(w.partition);
      if (at === undefined) at = stored || this.cfg.start === 'earliest' ? low : high;
      if (at > high) {
        throw new SmeltError(`${where}: the stored offset ${at} of topic ${topic} partition ${w.partition} is past its end (${high}); was the topic deleted and created again?`, {
          hint: `\`smelt state reset ${this.ctx.sourceName} ${stream.name}\` reads it again from \`start\``,
        });
      }
      if (at < low) {
        gaps.push(gapRecord(w.partition, at, low));
        at = low;
      }
      start.set(w.partition, at);
      positions.set(w.partition, at);
    }
    const targets = follow ? undefined : new Map(marks.map((w) => [w.partition, BigInt(w.high)]));
    const initial = stateOf(topic, positions);
    const changed = JSON.stringify(initial) !== JSON.stringify(stored ? stateOf(topic, stored) : undefined);
    const nothingToRead = targets !== undefined && [...targets].every(([p, t]) => (start.get(p) ?? t) >= t);

    if (nothingToRead) {
      // Store the resolved start (e.g. `latest`) so the next run does not resolve it again.
      if (changed || gaps.length) yield { records: gaps, state: initial };
      return;
    }

    let reader = this.readers.get(stream.name);
    if (!reader) {
      reader = new TopicReader(this.client, () => this.admin(), topic, this.cfg, this.groupId);
      this.readers.set(stream.name, reader);
    }
    const r = reader;
    try {
      await r.start();
    } catch (e) {
      this.readers.delete(stream.name);
      await r.close();
      throw this.fail(`joining group ${this.groupId}`, e);
    }
    r.begin(start, targets, follow, batchSize);
    const joinDeadline = Date.now() + this.cfg.connection_timeout_ms + 6 * this.cfg.session_timeout_ms;
    try {
      let records: SourceRecord[] = gaps;
      // `latest` is resolved once and stored right away, so a restart does not skip what arrived meanwhile.
      if (!stored && this.cfg.start === 'latest') {
        yield { records, state: initial };
        records = [];
      }
      /** The state moved since the last batch (records, or offsets that hold no records). */
      let moved = records.length > 0 || (changed && !(!stored && this.cfg.start === 'latest'));
      /** Moved by fetching (not just by resolving the start): worth a batch of its own. */
      let fetched = records.length > 0;
      let lingerFrom = Date.now();
      const emit = (): RecordBatch => {
        const b = { records, state: stateOf(topic, positions) };
        records = [];
        moved = false;
        fetched = false;
        lingerFrom = Date.now();
        return b;
      };
      for (;;) {
        abortIfNeeded();
        if (r.error) throw this.fail(`reading topic ${topic}`, r.error);
        // Drain what was fetched into the batch.
        while (records.length < batchSize) {
          const item = r.take();
          if (!item) break;
          if (!fetched) lingerFrom = Date.now();
          moved = fetched = true;
          if (item.kind === 'advance') {
            positions.set(item.partition, item.next);
          } else if (item.kind === 'gap') {
            records.push(gapRecord(item.partition, item.from, item.to));
            positions.set(item.partition, item.to);
          } else {
            const { partition, msgs } = r.takeMessages(batchSize - records.length);
            for (const m of msgs) records.push(toSourceRecord(partition, m, this.cfg.value_format));
            positions.set(partition, BigInt(msgs[msgs.length - 1]!.offset) + 1n);
          }
        }
        if (records.length >= batchSize) {
          yield emit();
          continue;
        }
        if (r.empty) {
          if (!follow && r.caughtUp()) break;
          if (fetched && Date.now() - lingerFrom >= LINGER_MS) {
            yield emit();
            continue;
          }
          if (!r.assignment && Date.now() > joinDeadline) {
            throw this.fail(`joining group ${this.groupId}`, new Error('no partitions were assigned in time'));
          }
          await r.wait(fetched ? Math.max(1, LINGER_MS - (Date.now() - lingerFrom)) : 1_000, signal);
        }
      }
      if (moved) yield emit();
    } finally {
      r.end();
    }
  }

  async commit(stream: StreamInfo, state: unknown): Promise<void> {
    if (state === undefined || state === null) return;
    this.pendingCommits.set(stream.name, state as KafkaState);
    await this.flushCommits();
  }

  private async flushCommits(): Promise<void> {
    for (const [name, state] of [...this.pendingCommits]) {
      const reader = this.readers.get(name);
      if (!reader?.consumer || !reader.assignment) {
        // Never joined (nothing was read): the group keeps its offsets.
        this.pendingCommits.delete(name);
        continue;
      }
      const offsets = Object.entries(state.partitions).map(([p, o]) => ({ topic: state.topic, partition: Number(p), offset: String(o) }));
      for (let attempt = 0; ; attempt++) {
        try {
          await reader.consumer.commit(offsets);
          if (this.pendingCommits.get(name) === state) this.pendingCommits.delete(name);
          this.lastCommitError = undefined;
          break;
        } catch (e) {
          // A rebalance is running: the warehouse already holds the state, so retry later rather than fail the load.
          this.lastCommitError = this.client.scrub(e instanceof Error ? e.message : String(e));
          if (attempt >= 2) break;
          await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
        }
      }
    }
  }

  async close(): Promise<void> {
    if (this.pendingCommits.size) await this.flushCommits().catch(() => undefined);
    await Promise.all([...this.readers.values()].map((r) => r.close()));
    this.readers.clear();
    const a = this.adminClient;
    this.adminClient = undefined;
    if (a) await a.then((x) => x.disconnect()).catch(() => undefined);
  }
}
