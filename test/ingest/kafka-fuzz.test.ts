/**
 * Fuzz: malformed Kafka values through the real CLI (`smelt ingest` against the mock broker, on a
 * DuckDB file), typed and raw landing, over several runs. Every message is accounted for: its
 * (partition, offset) is in bronze or in smelt_state.dead_letters with a non-empty reason, exactly
 * once, and every well-formed JSON object lands. FUZZ_SEED=<n> reproduces a run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest, query } from '../helpers/kafka-source.js';
import { makeProject, type TempProject } from '../helpers/project.js';
import { prng, type Rng } from '../helpers/prng.js';
import { producer, startBroker, type Broker } from '../kafka/broker.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261204);
const MAX_BYTES = 2000;
const TOPICS = { typed: 'fz.typed', raw: 'fz.raw' } as const;

type Kind = 'valid' | 'truncated' | 'random' | 'invalid_utf8' | 'huge' | 'deep' | 'not_object' | 'empty' | 'control' | 'nul_escape' | 'odd_json';
const KEYS = ['id', 'name', 'amount', 'Weird Key', 'a.b', 'A', 'a', '', 'tags', 'meta'];

function value(r: Rng, depth = 0): unknown {
  switch (r.int(0, depth > 1 ? 6 : 8)) {
    case 0: return r.int(-1000, 1000);
    case 1: return r.pick([1e20, 2 ** 63, 9007199254740993, -0, 0.5, 1e308]);
    case 2: return r.pick(['', '01234', '1e3', 'é中😀', '\u2028', 'NaN', 'true']);
    case 3: return r.chance(0.5);
    case 4: return null;
    case 5: return String(r.int(0, 99));
    case 6: return 'x'.repeat(r.int(0, 40));
    case 7: return Array.from({ length: r.int(0, 3) }, () => value(r, depth + 1));
    default: return Object.fromEntries(Array.from({ length: r.int(0, 3) }, () => [r.pick(KEYS), value(r, depth + 1)]));
  }
}

function message(r: Rng, kind: Kind): Buffer {
  const b = (s: string) => Buffer.from(s, 'utf8');
  const obj = () => JSON.stringify(Object.fromEntries(Array.from({ length: r.int(0, 5) }, () => [r.pick(KEYS), value(r)])));
  switch (kind) {
    case 'valid': return b(obj());
    case 'truncated': {
      const s = b(JSON.stringify({ id: r.int(0, 9), more: value(r) }));
      return s.subarray(0, r.int(1, s.length - 1));
    }
    case 'random': return Buffer.from(Array.from({ length: r.int(1, 120) }, () => r.int(0, 255))); // newlines and NUL included
    case 'invalid_utf8': return Buffer.concat([b('{"s":"ok'), Buffer.from(r.pick([[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xe2, 0x82]])), b('"}')]);
    case 'huge': return b(JSON.stringify({ id: 1, pad: 'y'.repeat(MAX_BYTES + r.int(0, 5000)) }));
    case 'deep': {
      const d = r.pick([100, 600]); // within max_record_bytes
      return b(`{"d":${'['.repeat(d)}${']'.repeat(d)}}`);
    }
    case 'not_object': return b(r.pick(['[1,2]', '"s"', '42', 'null', 'true', '[]']));
    case 'empty': return Buffer.alloc(0);
    case 'control': return b(`{"c":"${r.pick(['\u0000', '\u0007', '\n', '\u001f'])}"}`);
    case 'nul_escape': return b('{"n":"a\\u0000b","id":3}');
    case 'odd_json': return b(r.pick(['{"a":1,}', '[1,2,]', '{"a":NaN}', '{"a":Infinity}', '{"a":1}{"b":2}', '{"a":1} x', '{"a":"\\ud800"}']));
  }
}

describe('fuzz: malformed Kafka values through smelt ingest', () => {
  let broker: Broker;
  let project: TempProject;
  let prod: Awaited<ReturnType<typeof producer>>;
  beforeAll(async () => {
    broker = await startBroker({ topics: { [TOPICS.typed]: 3, [TOPICS.raw]: 3 } });
    prod = await producer(broker.bootstrap);
    const source = (topic: string, landing: string) => JSON.stringify({ type: 'kafka', brokers: [broker.bootstrap], topics: [topic], max_record_bytes: MAX_BYTES, batch_size: 97, landing });
    // Two sources, one per landing, in one project.
    const config = `import { defineConfig } from 'smelt';\nexport default defineConfig({ name: 'fuzz', sources: { ev: ${source(TOPICS.typed, 'typed')}, evraw: ${source(TOPICS.raw, 'raw')} } });\n`;
    project = makeProject({ 'smelt.config.ts': config }, 'smelt-kafka-fuzz-');
  });
  afterAll(async () => {
    project?.remove();
    await prod?.disconnect();
    await broker?.stop();
  });

  it(`accounts for every message over 3 runs, typed and raw (seed ${SEED})`, async () => {
    const r = prng(SEED);
    const valid = { typed: 0, raw: 0 };
    let produced = 0;
    for (let run = 0; run < 3; run++) {
      for (const landing of ['typed', 'raw'] as const) {
        const messages = Array.from({ length: 400 }, () => {
          const kind = r.weighted<Kind>({ valid: 50, truncated: 6, random: 6, invalid_utf8: 5, huge: 3, deep: 3, not_object: 5, empty: 3, control: 4, nul_escape: 3, odd_json: 6 });
          if (kind === 'valid') valid[landing]++;
          return { value: message(r, kind), partition: r.int(0, 2) };
        });
        await prod.produce(TOPICS[landing], messages);
        produced += messages.length;
      }
      ingest(project.dir);
    }
    expect(produced).toBe(2400);
    for (const [landing, source, table] of [['typed', 'ev', 'bronze.ev_fz_typed'], ['raw', 'evraw', 'bronze.evraw_fz_raw']] as const) {
      const landed = query<{ p: number; o: number }>(project.dir, `select _smelt_partition as p, _smelt_offset as o from ${table}`);
      const dead = query<{ position: string; error: string }>(project.dir, `select position, error from smelt_state.dead_letters where source = '${source}'`);
      expect(dead.length, `${landing}: the bad kinds reached the dead letters`).toBeGreaterThan(100);
      for (const d of dead) expect(d.error.trim(), `${landing}: a dead letter without a reason`).not.toBe('');
      const seen = [...landed.map((x) => `${x.p}:${x.o}`), ...dead.map((d) => { const p = JSON.parse(d.position) as { partition: number; offset: number | string }; return `${p.partition}:${p.offset}`; })];
      expect(new Set(seen).size, `${landing}: a message both landed and dead-lettered, or twice`).toBe(seen.length);
      expect(seen.length, `${landing}: every message accounted for`).toBe(1200);
      // Offsets per partition run 0..n-1 with no gap.
      const byPartition = new Map<string, number[]>();
      for (const k of seen) {
        const [p, o] = k.split(':');
        byPartition.set(p!, [...(byPartition.get(p!) ?? []), Number(o)]);
      }
      for (const [p, offs] of byPartition) expect(offs.sort((a, b) => a - b), `${landing}: partition ${p}`).toEqual(offs.map((_, i) => i));
      // No well-formed JSON object is lost to its neighbours.
      expect(landed.length, `${landing}: every valid message landed`).toBeGreaterThanOrEqual(valid[landing]);
    }
  });
});
