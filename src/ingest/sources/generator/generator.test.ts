import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeSource } from '../../../../test/contract/source-contract.js';
import { ConfigError } from '../../../core/errors.js';
import { openWarehouse } from '../../../storage/registry.js';
import type { Connection, Warehouse } from '../../../storage/warehouse.js';
import { resolveSources } from '../../declarations.js';
import { ingestStream } from '../../ingest-stream.js';
import { normalizeBatch } from '../../normalize.js';
import type { RecordBatch, Source, SourceRecord, StreamInfo } from '../../source.js';
import { ensureStateTables } from '../../state.js';
import { GENERATOR_STREAMS } from './config.js';
import type { GeneratorState } from './generator-source.js';
import { generatorConnector } from './index.js';

// The contract reads the `events` stream at a fixed rate (events_per_day), so the counts are exact:
// 25 days × 10 events on the first run, then 2 days × 10 events per later run. Event ids are the
// stream's sequence numbers, 1..N.
const PER_DAY = 10;
const DAYS_PER_RUN = 2;
let contractDir: string;

describeSource('generator', {
  connector: generatorConnector,
  async setup(count) {
    if (count % PER_DAY !== 0) throw new Error(`the generator fixture needs a count divisible by ${PER_DAY}`);
    contractDir = mkdtempSync(join(tmpdir(), 'smelt-generator-'));
    return {
      config: { type: 'generator', seed: 7, initial_days: count / PER_DAY, days_per_run: DAYS_PER_RUN, events_per_day: PER_DAY },
      stream: 'events',
      projectDir: contractDir,
    };
  },
  async append(from, to) {
    // Nothing to write: simulated time moves by itself. A read from a finished run's state
    // emits the next days_per_run days, i.e. ids from..to.
    if (to - from + 1 !== PER_DAY * DAYS_PER_RUN) throw new Error(`the generator adds ${PER_DAY * DAYS_PER_RUN} events per run, not ${to - from + 1}`);
  },
  idOf: (r) => Number(r.data!.event_id),
  brokenConfig: () => ({ type: 'generator', start_date: '2023-02-30' }),
  async teardown() {
    rmSync(contractDir, { recursive: true, force: true });
  },
});

// ------------------------------------------------------------------ helpers

const ctx = { projectDir: tmpdir(), sourceName: 'shop' };

async function open(settings: Record<string, unknown>): Promise<{ src: Source; streams: Map<string, StreamInfo> }> {
  const src = await generatorConnector.create(generatorConnector.parseConfig({ type: 'generator', ...settings }), ctx);
  return { src, streams: new Map((await src.discover()).map((s) => [s.name, s])) };
}

async function readAll(src: Source, stream: StreamInfo, state?: unknown, batchSize = 10_000): Promise<RecordBatch[]> {
  const out: RecordBatch[] = [];
  for await (const b of src.read(stream, { state, batchSize })) out.push(b);
  return out;
}

const records = (batches: readonly RecordBatch[]): SourceRecord[] => batches.flatMap((b) => b.records);
const finalState = (batches: readonly RecordBatch[]) => batches[batches.length - 1]!.state as GeneratorState;
/** Records as comparable JSON (raw bytes as arrays). */
const plain = (rs: readonly SourceRecord[]) => JSON.parse(JSON.stringify(rs.map((r) => ({ ...r, raw: r.raw instanceof Uint8Array ? [...r.raw] : r.raw }))));

/** Every stream over the first run and `runs` later runs, records concatenated. */
async function history(settings: Record<string, unknown>, runs = 0): Promise<Record<string, SourceRecord[]>> {
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

// ------------------------------------------------------------------ behaviour

describe('generator: deterministic simulated time', () => {
  it('the same seed gives the same records; another seed gives others', async () => {
    const a = await history({ seed: 11, initial_days: 90, bad_record_rate: 0.02 });
    const b = await history({ seed: 11, initial_days: 90, bad_record_rate: 0.02 });
    expect(plain(a.customers!)).toEqual(plain(b.customers!));
    for (const name of GENERATOR_STREAMS) expect(plain(a[name]!), name).toEqual(plain(b[name]!));
    const c = await history({ seed: 12, initial_days: 90 });
    expect(plain(c.payments!)).not.toEqual(plain(a.payments!));
  });

  it('the first run emits initial_days, each later run days_per_run more, whatever the run boundaries', async () => {
    // 60 days at once, or 50 days and then 5 runs of 2 days: the same records.
    const once = await history({ seed: 5, initial_days: 60 });
    const { src, streams } = await open({ seed: 5, initial_days: 50, days_per_run: 2 });
    for (const name of GENERATOR_STREAMS) {
      const stream = streams.get(name)!;
      let batches = await readAll(src, stream);
      expect(finalState(batches)).toMatchObject({ day: '2023-02-19', offset: 0, until: '2023-02-19' });
      const got = records(batches);
      for (let run = 0; run < 5; run++) {
        const next = await readAll(src, stream, finalState(batches));
        // A run ends with a state on its last day even when that day had no record of this stream.
        expect(next.length).toBeGreaterThan(0);
        expect(finalState(next).day).toBe(finalState(next).until);
        got.push(...records(next));
        batches = next;
      }
      expect(finalState(batches).day).toBe('2023-03-01');
      expect(plain(got), name).toEqual(plain(once[name]!));
      // Positions: days in order, seq 1..n without gaps.
      expect(got.map((r) => r.position.seq)).toEqual(got.map((_, i) => i + 1));
      const days = got.map((r) => String(r.position.day));
      expect([...days].sort()).toEqual(days);
    }
  });

  it('the default first run covers 2023-01-01 .. 2024-12-31, and a second run adds 2025-01-01', async () => {
    const { src, streams } = await open({ seed: 42 });
    const stream = streams.get('payments')!;
    const first = await readAll(src, stream);
    const rs = records(first);
    expect(String(rs[0]!.position.day) >= '2023-01-01').toBe(true);
    expect(rs[rs.length - 1]!.position.day).toBe('2024-12-31');
    expect(finalState(first)).toMatchObject({ day: '2024-12-31', offset: 0, until: '2024-12-31', settings: { seed: 42, start_date: '2023-01-01', scale: 1 } });
    const second = records(await readAll(src, stream, finalState(first)));
    expect(second.length).toBeGreaterThan(0);
    expect(new Set(second.map((r) => r.position.day))).toEqual(new Set(['2025-01-01']));
    expect(second[0]!.position.seq).toBe(rs.length + 1);
  });

  it('resumes every stream from any batch state of a run without gaps or repeats', async () => {
    const { src, streams } = await open({ seed: 9, initial_days: 120, bad_record_rate: 0.01 });
    for (const name of GENERATOR_STREAMS) {
      const stream = streams.get(name)!;
      const whole = records(await readAll(src, stream));
      const batches = await readAll(src, stream, undefined, 37);
      for (let cut = 1; cut < batches.length; cut += Math.max(1, Math.floor(batches.length / 5))) {
        const before = records(batches.slice(0, cut));
        const after = records(await readAll(src, stream, batches[cut - 1]!.state, 37));
        expect(plain([...before, ...after]), `${name} cut after batch ${cut}`).toEqual(plain(whole));
      }
    }
  });

  it('days_per_run 0 adds nothing; changed settings are refused instead of mixing two histories', async () => {
    const { src, streams } = await open({ seed: 3, initial_days: 10, days_per_run: 0 });
    const stream = streams.get('customers')!;
    const first = await readAll(src, stream);
    expect(await readAll(src, stream, finalState(first))).toEqual([]);
    const other = await open({ seed: 4, initial_days: 10 });
    const err = await readAll(other.src, stream, finalState(first)).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).hint).toMatch(/full-refresh/);
  });

  it('scale multiplies the volumes', async () => {
    const count = async (scale: number) => {
      const { src, streams } = await open({ seed: 21, initial_days: 200, scale });
      return new Set(records(await readAll(src, streams.get('customers')!)).map((r) => r.data!.customer_id)).size;
    };
    const [one, four] = [await count(1), await count(4)];
    expect(four).toBeGreaterThan(one * 3);
    expect(four).toBeLessThan(one * 5);
  });

  it('check() explains settings that cannot run', async () => {
    expect(await (await open({})).src.check()).toEqual({ ok: true });
    const late = await (await open({ start_date: '2030-01-01' })).src.check();
    expect(late.ok).toBe(false);
    expect(late.reason).toMatch(/initial_days/);
    expect(await (await open({ start_date: '2030-01-01', initial_days: 30 })).src.check()).toEqual({ ok: true });
    expect(() => generatorConnector.parseConfig({ type: 'generator', sead: 1 })).toThrow(/unknown option 'sead'/);
  });
});

describe('generator: the dirty business', () => {
  let h: Record<string, SourceRecord[]>;
  beforeAll(async () => {
    h = await history({ seed: 42 }, 3);
  }, 60_000);
  const rows = (name: string) => h[name]!.filter((r) => r.data).map((r) => r.data!);

  it('emits the columns of the old seeds, dirty values as text', () => {
    expect(Object.keys(rows('customers')[0]!)).toEqual(['customer_id', 'email', 'full_name', 'country', 'signup_date', 'updated_at', 'deleted_at']);
    expect(Object.keys(rows('plans')[0]!)).toEqual(['plan_id', 'plan_code', 'plan_name', 'billing_period', 'price', 'currency', 'updated_at']);
    expect(Object.keys(rows('subscriptions')[0]!)).toEqual(['subscription_id', 'customer_id', 'plan_id', 'status', 'started_at', 'canceled_at', 'is_deleted', 'updated_at']);
    expect(Object.keys(rows('payments')[0]!)).toEqual(['payment_id', 'subscription_id', 'bank_id', 'amount', 'currency', 'status', 'paid_at', 'updated_at']);
    expect(Object.keys(rows('banks')[0]!)).toEqual(['bank_id', 'bank_name', 'country_code']);
    expect(Object.keys(rows('events')[0]!)).toEqual(['event_id', 'customer_id', 'anonymous_id', 'type', 'at', 'properties']);
    for (const p of rows('payments')) expect(p.amount === null || typeof p.amount === 'string').toBe(true);
  });

  it('holds the dirt staging cleans', () => {
    const payments = rows('payments');
    const amounts = payments.map((p) => String(p.amount));
    expect(amounts.some((a) => a.startsWith('$'))).toBe(true);
    expect(amounts.some((a) => /^\d+,\d\d$/.test(a))).toBe(true);
    expect(amounts.some((a) => a.includes('USD'))).toBe(true);
    const dupIds = (rs: Record<string, unknown>[], key: string) => rs.length - new Set(rs.map((r) => r[key])).size;
    expect(dupIds(payments, 'payment_id')).toBeGreaterThan(0);
    expect(payments.some((p) => p.status === 'Refunded' || p.status === 'refunded' || p.status === 'refund')).toBe(true);
    expect(dupIds(rows('customers'), 'customer_id')).toBeGreaterThan(0);
    expect(rows('customers').some((c) => c.signup_date === 'n/a')).toBe(true);
    expect(rows('customers').some((c) => c.deleted_at !== null)).toBe(true);
    expect(rows('customers').some((c) => /^\s|\s$/.test(String(c.email)))).toBe(true);
    const subs = rows('subscriptions');
    expect(new Set(subs.map((s) => String(s.status).trim().toLowerCase()))).toEqual(new Set(['active', 'canceled', 'cancelled', 'past_due']));
    expect(subs.some((s) => /^\d\d\/\d\d\/\d{4}$/.test(String(s.started_at)))).toBe(true);
    expect(subs.some((s) => Number(s.customer_id) >= 9_000_000)).toBe(true); // customers missing from the export
    expect(rows('plans').find((p) => p.plan_id === 3)!.price).toBe('2.90'); // the typo, fixed by a later row
    expect(rows('banks').map((b) => b.bank_name)).toContain('  chase ');
  });

  it('is consistent across streams: nothing points at a row that has not happened yet', () => {
    const firstDay = (name: string, key: string) => {
      const m = new Map<unknown, string>();
      for (const r of h[name]!) if (r.data && !m.has(r.data[key])) m.set(r.data[key], String(r.position.day));
      return m;
    };
    const subsFirst = firstDay('subscriptions', 'subscription_id');
    const customersFirst = firstDay('customers', 'customer_id');
    const early = (m: Map<unknown, string>, id: unknown, day: unknown) => !(m.get(id)! <= String(day));
    expect(h.payments!.filter((p) => early(subsFirst, p.data!.subscription_id, p.position.day))).toEqual([]);
    expect(h.subscriptions!.filter((s) => Number(s.data!.customer_id) < 9_000_000 && early(customersFirst, s.data!.customer_id, s.position.day))).toEqual([]);
    expect(h.events!.filter((e) => e.data!.customer_id !== null && early(customersFirst, e.data!.customer_id, e.position.day))).toEqual([]);
    expect(h.events!.filter((e) => String(e.data!.at).slice(0, 10) !== e.position.day)).toEqual([]);
  });

  it('a subscription changes by new versions with later timestamps; its last one is canceled exactly when it has canceled_at', () => {
    const ts = (t: string) => {
      const m = /^(\d\d)\/(\d\d)\/(\d{4}) (.*)$/.exec(t);
      return Date.parse(m ? `${m[3]}-${m[2]}-${m[1]}T${m[4]}Z` : `${t.replace(' ', 'T').replace(/Z?$/, 'Z')}`);
    };
    const latest = new Map<unknown, Record<string, unknown>>();
    for (const s of rows('subscriptions')) {
      const prev = latest.get(s.subscription_id);
      expect(prev === undefined || ts(String(s.updated_at)) >= ts(String(prev.updated_at))).toBe(true);
      latest.set(s.subscription_id, s);
    }
    for (const s of latest.values()) expect(/cancel/i.test(String(s.status))).toBe(s.canceled_at !== null);
    expect([...latest.values()].some((s) => s.canceled_at !== null)).toBe(true);
  });
});

describe('generator: malformed events', () => {
  it('bad_record_rate turns a share of events into raw payloads the loader dead-letters, leaving the good ones as they were', async () => {
    const { src, streams } = await open({ seed: 8, initial_days: 60, bad_record_rate: 0.05 });
    const clean = await open({ seed: 8, initial_days: 60 });
    const stream = streams.get('events')!;
    const dirty = records(await readAll(src, stream));
    const good = records(await readAll(clean.src, stream));
    expect(dirty.length).toBe(good.length);
    const bad = dirty.filter((r) => r.raw !== undefined);
    expect(bad.length).toBeGreaterThan(dirty.length * 0.02);
    expect(bad.length).toBeLessThan(dirty.length * 0.1);
    for (let i = 0; i < dirty.length; i++) if (dirty[i]!.data) expect(dirty[i]).toEqual(good[i]);
    const n = normalizeBatch({ stream, options: { landing: 'typed', schema_contract: 'evolve', max_record_bytes: 1_000_000 }, tableColumns: [], tableExists: false, records: dirty });
    expect(n.deadLetters.length).toBe(bad.length);
    expect(n.rows.length).toBe(dirty.length - bad.length);
    expect(new Set(n.deadLetters.map((d) => d.error.split(':')[0]))).toEqual(new Set(['malformed JSON', 'expected a JSON object, got an array', 'invalid UTF-8']));
    const types = Object.fromEntries(n.columns.map((c) => [c.name, c.type]));
    expect(types).toMatchObject({ event_id: 'bigint', customer_id: 'bigint', type: 'varchar', at: 'varchar', properties: 'json' });
  });
});

describe('generator → bronze: a killed run resumes from its last committed batch', () => {
  let dir: string;
  let wh: Warehouse;
  let conn: Connection;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'smelt-generator-kill-'));
    wh = await openWarehouse({ type: 'duckdb', path: 'kill.duckdb' }, { projectDir: dir });
    conn = await wh.connect();
    await ensureStateTables(conn, wh.dialect);
  });
  afterAll(async () => {
    await conn?.close();
    await wh?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('no duplicates, no gaps, the same rows as an uninterrupted load', async () => {
    const settings = { type: 'generator', seed: 13, initial_days: 150, bad_record_rate: 0.01, batch_size: 40 };
    const [killed, clean] = await resolveSources([
      { name: 'killed', file: 'sources/killed.ts', value: settings },
      { name: 'clean', file: 'sources/clean.ts', value: settings },
    ]);
    for (const stream of ['payments', 'events']) {
      const ac = new AbortController();
      let batches = 0;
      const interrupted = ingestStream(killed!, stream, wh, conn, { projectDir: dir, signal: ac.signal, onBatch: () => { if (++batches === 3) ac.abort(); } });
      await expect(interrupted).rejects.toThrow(/cancel/);
      const partial = await conn.execute(`SELECT count(*) AS n FROM bronze.killed_${stream}`);
      expect(Number(partial.rows[0]!.n)).toBeGreaterThan(0);
      await ingestStream(killed!, stream, wh, conn, { projectDir: dir });
      await ingestStream(clean!, stream, wh, conn, { projectDir: dir });
      const seqs = await conn.execute(`SELECT count(*) AS n, count(DISTINCT _smelt_seq) AS d, min(_smelt_seq) AS lo, max(_smelt_seq) AS hi FROM bronze.killed_${stream}`);
      const dead = await conn.execute(`SELECT count(*) AS n, count(DISTINCT position) AS d FROM smelt_state.dead_letters WHERE source = 'killed' AND stream = '${stream}'`);
      const state = await conn.execute(`SELECT state FROM smelt_state.ingest_state WHERE source = 'killed' AND stream = '${stream}'`);
      const s = seqs.rows[0]!;
      expect(Number(s.n)).toBe(Number(s.d));
      expect(Number(s.lo)).toBeLessThanOrEqual(2); // seq 1 may be a malformed event (a dead letter)
      expect(Number(dead.rows[0]!.n)).toBe(Number(dead.rows[0]!.d));
      if (stream === 'events') expect(Number(dead.rows[0]!.n)).toBeGreaterThan(0);
      // Every sequence number landed once, as a row or as a dead letter.
      expect(Number(s.n) + Number(dead.rows[0]!.n)).toBe((JSON.parse(String(state.rows[0]!.state)) as GeneratorState).seq);
      const cols = Object.keys((await conn.execute(`SELECT * FROM bronze.clean_${stream} LIMIT 1`)).rows[0]!).filter((c) => c !== '_smelt_loaded_at' && c !== '_smelt_batch_id').map((c) => `"${c}"`).join(', ');
      const diff = await conn.execute(`SELECT count(*) AS n FROM ((SELECT ${cols} FROM bronze.killed_${stream} EXCEPT ALL SELECT ${cols} FROM bronze.clean_${stream}) UNION ALL (SELECT ${cols} FROM bronze.clean_${stream} EXCEPT ALL SELECT ${cols} FROM bronze.killed_${stream})) AS d`);
      expect(Number(diff.rows[0]!.n)).toBe(0);
    }
  });
});
