/**
 * The contract every source connector passes (Hono's runAdapterContract). Each
 * connector's test calls `describeSource(name, fixture)` once with a fixture that
 * talks to a real peer (PostgreSQL, MariaDB, a Kafka-protocol broker, a local
 * HTTP server, files). `SOURCES=files,postgres` runs a subset.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Source, SourceConnector, StreamInfo, RecordBatch } from '../../src/ingest/source.js';
import { readAll } from '../helpers/read-stream.js';

export interface SourceFixture<Cfg = unknown> {
  readonly connector: SourceConnector<Cfg>;
  /** Creates the peer's data: `count` records with ids 1..count in stream `stream`. Called once per suite. */
  setup(count: number): Promise<{ config: unknown; stream: string; projectDir: string }>;
  /** Adds records with ids from..to (inclusive) after the first read, for incremental resume checks. */
  append(from: number, to: number): Promise<void>;
  /** The business id of a record (to check exactly-once delivery). */
  idOf(record: { data?: Record<string, unknown>; raw?: string | Uint8Array }): number;
  /** Settings that cannot work (wrong host, missing file…), for check(). */
  brokenConfig(): unknown;
  teardown?(): Promise<void>;
}

const selected = (name: string) => {
  const only = process.env.SOURCES?.split(',').map((s) => s.trim()).filter(Boolean);
  return !only || only.length === 0 || only.includes(name);
};


const ids = (fx: SourceFixture, batches: RecordBatch[]) => batches.flatMap((b) => b.records.map((r) => fx.idOf(r)));

export function describeSource<Cfg>(name: string, fx: SourceFixture<Cfg>): void {
  describe.runIf(selected(name))(`source contract: ${name}`, () => {
    const N = 250;
    let config: Cfg;
    let streamName: string;
    let projectDir: string;
    let src: Source;
    let stream: StreamInfo;

    beforeAll(async () => {
      const s = await fx.setup(N);
      config = fx.connector.parseConfig(s.config);
      streamName = s.stream;
      projectDir = s.projectDir;
      src = await fx.connector.create(config, { projectDir, sourceName: 'contract' });
      const streams = await src.discover();
      stream = streams.find((x) => x.name === streamName)!;
    });
    afterAll(async () => {
      await src?.close();
      await fx.teardown?.();
    });

    it('declares its streams without I/O, and discover() agrees', async () => {
      expect(fx.connector.declaredStreams(config)).toContain(streamName);
      expect(stream, `discover() lists ${streamName}`).toBeDefined();
      expect(stream.positionFields.length).toBeGreaterThan(0);
    });

    it('check() succeeds against the peer and returns a reason (not a throw) for broken settings', async () => {
      expect(await src.check()).toEqual({ ok: true });
      const broken = await fx.connector.create(fx.connector.parseConfig(fx.brokenConfig()), { projectDir, sourceName: 'contract' });
      try {
        const r = await broken.check();
        expect(r.ok).toBe(false);
        expect(r.reason).toMatch(/\w/);
      } finally {
        await broken.close();
      }
    });

    it('reads every record once, in batches no larger than asked, with positions and JSON state', async () => {
      const batches = await readAll(src, stream, undefined, 40);
      const got = ids(fx, batches);
      expect(new Set(got).size).toBe(got.length);
      expect([...got].sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
      for (const b of batches) {
        expect(b.records.length).toBeLessThanOrEqual(40);
        expect(JSON.parse(JSON.stringify(b.state ?? null))).toEqual(b.state ?? null);
        for (const r of b.records) for (const f of stream.positionFields) expect(r.position[f.name], `position field ${f.name}`).not.toBeUndefined();
      }
    });

    // `replayable` lets --full-refresh rebuild bronze from a fresh read: it must give back all it gave.
    // (Declared only where it applies: CI runs no skipped tests.)
    if (fx.connector.capabilities.replayable) {
      it('replayable: a read with no state gives again every record an earlier one gave', async () => {
        const first = ids(fx, await readAll(src, stream, undefined, 70));
        const again = ids(fx, await readAll(src, stream, undefined, 30));
        expect([...again].sort((a, b) => a - b)).toEqual([...first].sort((a, b) => a - b));
        expect(first.length).toBe(N);
      });
    }

    it('resumes from any committed state without gaps or repeats', async () => {
      const first = await readAll(src, stream, undefined, 60);
      expect(first.length).toBeGreaterThan(1);
      const cut = Math.floor(first.length / 2);
      const before = ids(fx, first.slice(0, cut));
      const after = ids(fx, await readAll(src, stream, first[cut - 1]!.state, 60));
      expect([...before, ...after].sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    });

    it('after a complete read, a new read from the final state yields only new records', async () => {
      const all = await readAll(src, stream, undefined, 100);
      const finalState = all[all.length - 1]!.state;
      await fx.append(N + 1, N + 20);
      const next = ids(fx, await readAll(src, stream, finalState, 100));
      expect([...next].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => N + 1 + i));
    });

    it('stops when its AbortSignal fires', async () => {
      const ac = new AbortController();
      let seen = 0;
      await expect(
        (async () => {
          for await (const b of src.read(stream, { batchSize: 10, signal: ac.signal, state: undefined })) {
            seen += b.records.length;
            ac.abort();
          }
        })(),
      ).rejects.toThrow();
      expect(seen).toBeGreaterThan(0);
    });
  });
}
