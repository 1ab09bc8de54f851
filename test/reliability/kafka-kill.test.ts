/**
 * Exactly once under SIGKILL: 120k+ sequenced messages over 4 partitions (half
 * produced up front, the rest streamed in until the last kill), `smelt ingest`
 * killed at 24 random points (drawn from the length of an uninterrupted run) and run again each time, then run to completion.
 * Bronze must hold every (partition, offset) exactly once, with no gap, and the
 * group's committed offsets must never be ahead of the warehouse state.
 * Runs on embedded DuckDB and on PostgreSQL (a fresh database per run).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupOffsets, producer, startBroker, type Broker } from '../kafka/broker.js';
import { makeProject, queryJson, runCli, spawnCli, type TempProject } from '../helpers/project.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../postgres/pg-test-db.js';

const PARTITIONS = 4;
const TOTAL = 120_000;
const UPFRONT = 60_000;
const KILLS = 24;
const TOPIC = 'seq.events';
const GROUP = 'smelt-kill';

const message = (seq: number) => ({ partition: seq % PARTITIONS, key: `k${seq}`, value: JSON.stringify({ seq, body: `event number ${seq}` }) });

type Env = Record<string, string>;

const query = <T>(dir: string, sql: string, env: Env): T[] => queryJson<T>(dir, sql, env);

function storedOffsets(dir: string, env: Env): Record<number, bigint> {
  const tables = query<{ n: number }>(dir, "select count(*) as n from information_schema.tables where table_schema = 'smelt_state' and table_name = 'ingest_state'", env);
  if (!Number(tables[0]?.n)) return {};
  const rows = query<{ state: string }>(dir, "select state from smelt_state.ingest_state where source = 'kill'", env);
  if (!rows.length) return {};
  const s = JSON.parse(rows[0]!.state) as { partitions: Record<string, string> };
  return Object.fromEntries(Object.entries(s.partitions).map(([p, o]) => [Number(p), BigInt(o)]));
}

/** Runs `smelt ingest` and SIGKILLs it `afterMs` after its ingest step started. */
function ingestAndKill(dir: string, afterMs: number, env: Env): Promise<{ killed: boolean; code: number | null; out: string; ingestMs: number }> {
  return new Promise((resolve) => {
    const child = spawnCli(['ingest'], { cwd: dir, env });
    let out = '';
    let timer: NodeJS.Timeout | undefined;
    let killed = false;
    let startedAt = 0;
    const onData = (d: Buffer) => {
      out += String(d);
      if (!timer && out.includes('START ingest')) {
        startedAt = Date.now();
        timer = setTimeout(() => {
          killed = child.kill('SIGKILL');
        }, afterMs);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ killed, code, out, ingestMs: startedAt ? Date.now() - startedAt : 0 });
    });
  });
}

const pgAvailable = await postgresAvailable();

/** The scenario, on one warehouse engine. */
function killSuite(engine: 'duckdb' | 'postgres') {
  describe(`kafka → ${engine}: SIGKILL at random points, exactly once`, () => {
    let broker: Broker;
    let prod: Awaited<ReturnType<typeof producer>>;
    let project: TempProject;
    let db: TestDatabase | undefined;
    let env: Env = {};

    beforeAll(async () => {
      broker = await startBroker({ topics: { [TOPIC]: PARTITIONS } });
      prod = await producer(broker.bootstrap);
      if (engine === 'postgres') {
        db = await createTestDatabase();
        env = { SMELT_TEST_DATABASE_URL: db.url };
      }
      const warehouse = engine === 'postgres' ? `{ type: 'postgres', url: env('SMELT_TEST_DATABASE_URL') }` : `{ type: 'duckdb' }`;
      project = makeProject(
        {
          'smelt.config.ts': `import { defineConfig, env } from 'smelt';
  export default defineConfig({ name: 'kill', targets: { dev: { warehouse: ${warehouse} } }, sources: { kill: ${JSON.stringify({
            type: 'kafka',
            brokers: [broker.bootstrap],
            topics: [TOPIC],
            group_id: GROUP,
            batch_size: 2000,
          })} } });
  `,
        },
        'smelt-kafka-kill-',
      );
    });
    afterAll(async () => {
      await prod?.disconnect();
      await broker?.stop();
      project?.remove();
      await db?.drop();
    });

    it('lands every (partition, offset) exactly once across 24 kills', { timeout: 600_000 }, async () => {
      let produced = 0;
      const send = async (n: number) => {
        const batch = Array.from({ length: n }, (_, i) => message(produced + i));
        await prod.produce(TOPIC, batch);
        produced += n;
      };
      await send(UPFRONT);
      // The rest streams in while the loads run and get killed, and keeps coming until the last kill,
      // so every run has something to load (the mock broker keeps ~5 MB per partition: the rate stays low).
      let producing = true;
      let killing = true;
      const streaming = (async () => {
        while (produced < TOTAL || killing) {
          await send(400);
          await new Promise((r) => setTimeout(r, 200));
        }
        producing = false;
      })();

      // A seeded random, so a failure can be replayed.
      let seed = Number(process.env.KILL_SEED ?? Date.now() % 100_000);
      const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
      const seedUsed = seed;
      let kills = 0;
      // The kill point is drawn from the length of the last run that ended on its own, so kills land
      // inside the load whether the machine is fast or busy.
      let fullRunMs = 2_500;
      for (let i = 0; kills < KILLS && i < 4 * KILLS; i++) {
        const at = Math.floor(random() * Math.max(50, fullRunMs * 0.9));
        const r = await ingestAndKill(project.dir, at, env);
        if (r.killed) kills++;
        else {
          expect(r.code, `run ${i} (seed ${seedUsed}) ended on its own:\n${r.out}`).toBe(0);
          fullRunMs = r.ingestMs;
          if (process.env.KILL_DEBUG) console.log(`run ${i}: ended on its own after ${r.ingestMs} ms (kill was at ${at} ms)\n${r.out}`);
        }
        // The group never runs ahead of the warehouse: offsets are committed after the warehouse commit.
        const stored = storedOffsets(project.dir, env);
        const group = await groupOffsets(broker.bootstrap, GROUP, TOPIC);
        for (const [p, o] of Object.entries(group)) {
          expect(BigInt(o), `partition ${p}: group offset vs stored state after run ${i} (seed ${seedUsed})`).toBeLessThanOrEqual(stored[Number(p)] ?? 0n);
        }
      }
      killing = false;
      expect(kills, `seed ${seedUsed}`).toBeGreaterThanOrEqual(KILLS);
      await streaming;
      const total = produced;
      expect(producing).toBe(false);

      // Run to completion.
      const done = runCli(['ingest'], { cwd: project.dir, env });
      expect(done.code, done.stdout + done.stderr).toBe(0);

      const perPartition = query<{ p: number; n: number; d: number; lo: number; hi: number }>(
        project.dir,
        `select _smelt_partition as p, count(*) as n, count(distinct _smelt_offset) as d, min(_smelt_offset) as lo, max(_smelt_offset) as hi
         from bronze.kill_seq_events group by 1 order by 1`,
        env,
      );
      const expected = Array.from({ length: PARTITIONS }, (_, p) => {
        const n = total / PARTITIONS;
        return { p, n, d: n, lo: 0, hi: n - 1 };
      });
      expect(perPartition, `seed ${seedUsed}`).toEqual(expected);
      // Each (partition, offset) holds the message produced there: seq = offset * PARTITIONS + partition.
      const wrong = query<{ n: number; seqs: number; lo: number; hi: number }>(
        project.dir,
        `select count(*) filter (where seq <> _smelt_offset * ${PARTITIONS} + _smelt_partition) as n, count(distinct seq) as seqs, min(seq) as lo, max(seq) as hi
         from bronze.kill_seq_events`,
        env,
      );
      expect(wrong[0], `seed ${seedUsed}`).toEqual({ n: 0, seqs: total, lo: 0, hi: total - 1 });
      expect(query<{ n: number }>(project.dir, 'select count(*) as n from smelt_state.dead_letters', env)[0]!.n).toBe(0);
      // And the group ends where the warehouse does.
      const stored = storedOffsets(project.dir, env);
      const group = await groupOffsets(broker.bootstrap, GROUP, TOPIC);
      expect(Object.fromEntries(Object.entries(group).map(([p, o]) => [p, BigInt(o)]))).toEqual(Object.fromEntries(Object.entries(stored).map(([p, o]) => [String(p), o])));
    });
  });
}

killSuite('duckdb');
if (pgAvailable) killSuite('postgres');
