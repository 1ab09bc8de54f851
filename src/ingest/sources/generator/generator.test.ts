import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeSource } from '../../../../test/contract/source-contract.js';
import { ConfigError } from '../../../core/errors.js';
import { GENERATOR_STREAMS } from './config.js';
import { generatorConnector } from './index.js';
import { finalState, history, open, plain, readAll, records } from '../../../../test/helpers/generator-source.js';

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
