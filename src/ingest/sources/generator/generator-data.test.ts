/** The generator's data: the dirty business, malformed events, and resuming into bronze after a kill. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWarehouse } from '../../../storage/registry.js';
import type { Connection, Warehouse } from '../../../storage/warehouse.js';
import { resolveSources } from '../../declarations.js';
import { ingestStream } from '../../ingest-stream.js';
import { normalizeBatch } from '../../normalize.js';
import type { SourceRecord } from '../../source.js';
import { ensureStateTables } from '../../state.js';
import type { GeneratorState } from './generator-source.js';
import { history, open, readAll, records } from '../../../../test/helpers/generator-source.js';

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
