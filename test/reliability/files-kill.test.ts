/**
 * Exactly once across crashes: NDJSON files with sequenced ids are loaded by
 * `smelt ingest` processes that are SIGKILLed at random points (before the
 * stream starts, between batches, mid-file, mid-transaction), while new files
 * keep arriving and, once all are there, loaded files are rewritten (same ids,
 * new content). After a final complete run every id is in bronze exactly once,
 * each file with its latest content.
 *
 * The kill delay adapts to how long an uninterrupted run took, so kills land
 * inside the load however fast or slow the machine is.
 *
 * KILL_SEED=<n> reproduces a run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prng } from '../helpers/prng.js';
import { spawnCli } from '../helpers/project.js';
import { col, smelt, sourcesProject, sql } from '../ingest/helpers.js';

const SEED = Number(process.env.KILL_SEED ?? 7);
const FILES = 40;
const LINES = 5000;
const KILLS = 22;
/** Kills after which some, but not all, of a run's work had committed. */
const MID_LOAD = 5;
const MAX_ATTEMPTS = 120;

const fileName = (f: number) => `data/f${String(f).padStart(2, '0')}.ndjson`;
function fileText(f: number, variant = 0): string {
  const out: string[] = [];
  for (let i = 0; i < LINES; i++) {
    const id = f * LINES + i + 1;
    out.push(JSON.stringify({ id, file: f, seq: i, variant, pad: 'x'.repeat(40 + (id % 17)) }));
  }
  return `${out.join('\n')}\n`;
}

// Both ways NDJSON loads: parsed by smelt (a transaction per batch_size records, so kills also land
// mid-file), and parsed by DuckDB (a transaction per group of whole files, kills land between and
// inside those; a partly loaded file is then only the very first batch's).
describe.each([
  { parse: 'smelt', parseInWarehouse: false, midFile: 3, rewrites: 2 },
  // Every file rewritten in each run: five groups (five transactions) per run, so kills also land between them.
  { parse: 'DuckDB', parseInWarehouse: true, midFile: 0, rewrites: FILES },
])('files parsed by $parse: exactly once across SIGKILLs', ({ parseInWarehouse, midFile, rewrites }) => {
  const p = sourcesProject({ shop: { type: 'files', batch_size: 800, streams: { ev: { path: 'data/*.ndjson', parse_in_warehouse: parseInWarehouse } } } }, {}, 'smelt-kill-');
  afterAll(() => p.remove());

  it(`every id lands once after ${KILLS} kills and reruns (seed ${SEED})`, async () => {
    const rand = prng(SEED).int;
    mkdirSync(join(p.dir, 'data'), { recursive: true });
    let present = 20;
    for (let f = 0; f < present; f++) writeFileSync(join(p.dir, fileName(f)), fileText(f));

    let kills = 0;
    let killedMidLoad = 0; // kills after which some, but not all, of the run's work was committed
    let killedMidFile = 0; // kills that left a partly loaded file in the state
    const variant = new Map<number, number>();
    let fullRunMs = 1200; // the last uninterrupted run's length, START to exit
    const lastBatch = async () => String((await sql(p.dir, `SELECT batch_id FROM smelt_state.ingest_state WHERE source = 'shop'`).catch(() => []))[0]?.batch_id ?? '');
    // Runs go on until the kills include the ones this test is about (mid-load, mid-file): on a
    // loaded machine more of them land before or after the work (MAX_ATTEMPTS bounds the test).
    const enough = () => kills >= KILLS && killedMidLoad >= MID_LOAD && killedMidFile >= midFile;
    for (let attempt = 0; !enough() && attempt < MAX_ATTEMPTS; attempt++) {
      const before = await lastBatch();
      const child = spawnCli(['ingest', '--project-dir', p.dir]);
      let out = '';
      const started = new Promise<void>((resolve) => {
        const onData = (d: Buffer) => {
          out += d;
          if (/START ingest/.test(out)) resolve();
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', (d) => (out += d));
      });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
      // Mostly during the load; sometimes still during start-up.
      const duringLoad = rand(0, 9) > 0;
      if (duringLoad) await Promise.race([started, exited]);
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, rand(0, Math.max(20, Math.floor(fullRunMs * 0.9)))));
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      const res = await exited;
      if (res.signal === 'SIGKILL') kills++;
      else if (res.code !== 0) throw new Error(`smelt ingest exited ${res.code}:\n${out}`);
      else if (duringLoad) fullRunMs = Date.now() - t0;

      const progressed = (await lastBatch()) !== before;
      // A kill before anything committed: the runs got longer (more files changed) than the last
      // uninterrupted one, so later kills may land later.
      if (res.signal === 'SIGKILL' && !progressed) fullRunMs = Math.round(fullRunMs * 1.3);
      if (res.signal === 'SIGKILL' && progressed) {
        // Something committed: was it all of what the files on disk ask for?
        const landed = await sql(p.dir, `SELECT "file" AS f, count(*) AS n, min(variant) AS lo, max(variant) AS hi FROM bronze.shop_ev GROUP BY 1`);
        const done = landed.length === present && landed.every((r) => r.n === LINES && r.lo === r.hi && r.hi === (variant.get(Number(r.f)) ?? 0));
        if (!done) killedMidLoad++;
        // All of it had committed: the kill came late, so later ones come earlier.
        else fullRunMs = Math.round(fullRunMs * 0.8);
      }
      const state = await sql(p.dir, `SELECT state FROM smelt_state.ingest_state WHERE source = 'shop'`).catch(() => []);
      if (res.signal === 'SIGKILL' && state.length && JSON.parse(String(state[0]!.state)).current) killedMidFile++;

      // Files keep arriving; once all are there, loaded files are rewritten (same ids, new content),
      // so every run has work to be killed in.
      if (present < FILES) {
        writeFileSync(join(p.dir, fileName(present)), fileText(present));
        present++;
      }
      if (attempt >= 8) {
        for (const f of rewrites >= present ? Array.from({ length: present }, (_, i) => i) : Array.from({ length: rewrites }, () => rand(0, present - 1))) {
          const v = (variant.get(f) ?? 0) + 1;
          variant.set(f, v);
          writeFileSync(join(p.dir, fileName(f)), fileText(f, v));
        }
      }
    }
    while (present < FILES) {
      writeFileSync(join(p.dir, fileName(present)), fileText(present));
      present++;
    }
    expect(kills).toBeGreaterThanOrEqual(KILLS);
    expect(killedMidLoad).toBeGreaterThanOrEqual(MID_LOAD);
    expect(killedMidFile).toBeGreaterThanOrEqual(midFile);

    smelt(p.dir, ['ingest']);
    const [summary] = await sql(p.dir, 'SELECT count(*) AS n, count(DISTINCT id) AS ids, min(id) AS lo, max(id) AS hi FROM bronze.shop_ev');
    expect(summary).toEqual({ n: FILES * LINES, ids: FILES * LINES, lo: 1, hi: FILES * LINES });
    expect(await sql(p.dir, 'SELECT id, count(*) AS c FROM bronze.shop_ev GROUP BY id HAVING count(*) <> 1 LIMIT 5')).toEqual([]);
    // Rows sit at their own file and line; the rewritten file holds only its new content.
    expect(await col(p.dir, `SELECT count(*) FROM bronze.shop_ev WHERE _smelt_file <> 'data/f' || lpad(CAST("file" AS VARCHAR), 2, '0') || '.ndjson' OR _smelt_line <> seq + 1`)).toEqual([0]);
    const landed = await sql(p.dir, `SELECT "file" AS f, string_agg(DISTINCT CAST(variant AS VARCHAR), ',') AS v FROM bronze.shop_ev GROUP BY 1 ORDER BY 1`);
    expect(landed.map((r) => [Number(r.f), String(r.v)])).toEqual(
      Array.from({ length: FILES }, (_, f) => [f, String(variant.get(f) ?? 0)]),
    );
    expect(variant.size).toBeGreaterThan(0);
    expect(smelt(p.dir, ['ingest']).stdout).toMatch(/ 0 rows/);
    console.log(`kill test seed ${SEED}: ${kills} kills (${killedMidLoad} mid-load, ${killedMidFile} mid-file)`);
  }, 900_000);
});
