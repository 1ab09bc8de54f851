/**
 * The lean Fetch decoder against KafkaJS's own, on responses built with
 * KafkaJS's encoders: random keys, values, nulls and headers, gzip, several
 * batches per partition, a start offset inside a batch, a batch cut off by the
 * size limit, transactions (committed and aborted) and their control markers.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { decodeFetchResponse, type DecodedMessage } from './fetch-response.js';

const require = createRequire(import.meta.url);
type Enc = {
  writeInt8(v: number): Enc; writeInt16(v: number): Enc; writeInt32(v: number): Enc; writeInt64(v: unknown): Enc;
  writeString(v: string): Enc; writeBytes(v: Buffer): Enc; buffer: Buffer;
};
const Encoder = require('kafkajs/src/protocol/encoder.js') as new () => Enc;
const Long = require('kafkajs/src/utils/long.js') as { fromValue(v: number | string): unknown };
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch(o: Record<string, unknown>): Promise<Enc> };
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (o: Record<string, unknown>) => Enc;
const kjsV11 = require('kafkajs/src/protocol/requests/fetch/v11/response.js') as { decode(b: Buffer): Promise<{ responses: { partitions: { partition: number; abortedTransactions: unknown[] }[] }[] }> };
const kjsV4 = require('kafkajs/src/protocol/requests/fetch/v4/response.js') as typeof kjsV11;
const Batch = require('kafkajs/src/consumer/batch.js') as new (t: string, o: string, d: unknown) => { messages: { offset: string; key: Buffer | null; value: Buffer | null; headers: Record<string, unknown>; timestamp: string }[] };
const codecFor = (require('kafkajs/src/protocol/message/compression/index.js') as { lookupCodecByAttributes(a: number): { decompress(b: Buffer): Promise<Buffer> } | null }).lookupCodecByAttributes;
const decompress = (a: number, b: Buffer) => codecFor(a)?.decompress(b) ?? null;
const noLegacy = async (): Promise<DecodedMessage[]> => {
  throw new Error('no legacy record set expected');
};

/** A small deterministic PRNG, so a failure can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

interface BatchSpec {
  base: number;
  records: { key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer | Buffer[]>; tsDelta: number }[];
  gzip?: boolean;
  producerId?: number;
  transactional?: boolean;
  /** A control batch with one marker: abort (type 0) or commit (type 1). */
  control?: 'abort' | 'commit';
}

async function batchBytes(b: BatchSpec, ts0: number): Promise<Buffer> {
  const records = b.control
    ? [Record({ offsetDelta: 0, timestampDelta: 0, key: Buffer.from([0, 0, 0, b.control === 'abort' ? 0 : 1]), value: Buffer.from([0, 0, 0, 0, 0, 0]) })]
    : b.records.map((r, i) => Record({ offsetDelta: i, timestampDelta: r.tsDelta, key: r.key, value: r.value, headers: r.headers }));
  const enc = await RecordBatch({
    compression: b.gzip ? 1 : 0,
    firstOffset: Long.fromValue(b.base),
    firstTimestamp: ts0,
    maxTimestamp: ts0 + 1000,
    lastOffsetDelta: records.length - 1,
    transactional: Boolean(b.transactional || b.control),
    producerId: Long.fromValue(b.producerId ?? -1),
    records,
  });
  const buf = Buffer.from(enc.buffer);
  // KafkaJS cannot encode control batches; set the attribute bit (after offset 8, length 4, epoch 4, magic 1, crc 4).
  if (b.control) buf.writeInt16BE(buf.readInt16BE(21) | 0x20, 21);
  return buf;
}

function randomBatches(r: () => number, base: number, n: number): BatchSpec[] {
  const out: BatchSpec[] = [];
  let at = base;
  for (let b = 0; b < n; b++) {
    const count = 1 + Math.floor(r() * 20);
    const records = Array.from({ length: count }, () => {
      const headers: Record<string, Buffer | Buffer[]> = {};
      if (r() < 0.3) headers.trace = Buffer.from(`t${Math.floor(r() * 1e6)}`);
      if (r() < 0.1) headers.multi = [Buffer.from('a'), Buffer.from('b')];
      return {
        key: r() < 0.3 ? null : Buffer.from(`k${Math.floor(r() * 1e9)}é`),
        value: r() < 0.05 ? null : Buffer.from(JSON.stringify({ i: Math.floor(r() * 1e9), s: 'x'.repeat(Math.floor(r() * 300)) })),
        headers,
        tsDelta: Math.floor(r() * 5000),
      };
    });
    out.push({ base: at, records, gzip: r() < 0.3 });
    at += count;
  }
  return out;
}

async function response(version: 4 | 11, partitions: { partition: number; batches: BatchSpec[]; aborted?: { producerId: number; firstOffset: number }[]; cut?: number }[]): Promise<Buffer> {
  const e = new Encoder().writeInt32(0);
  if (version >= 7) e.writeInt16(0).writeInt32(0);
  e.writeInt32(1).writeString('t');
  e.writeInt32(partitions.length);
  for (const p of partitions) {
    e.writeInt32(p.partition).writeInt16(0).writeInt64(Long.fromValue(1_000_000)).writeInt64(Long.fromValue(1_000_000));
    if (version >= 5) e.writeInt64(Long.fromValue(0));
    e.writeInt32(p.aborted?.length ?? 0);
    for (const a of p.aborted ?? []) e.writeInt64(Long.fromValue(a.producerId)).writeInt64(Long.fromValue(a.firstOffset));
    if (version >= 11) e.writeInt32(-1);
    let set = Buffer.concat(await Promise.all(p.batches.map((b, i) => batchBytes(b, 1_700_000_000_000 + i * 10_000))));
    if (p.cut) set = set.subarray(0, set.length - p.cut);
    e.writeBytes(set);
  }
  return Buffer.from(e.buffer);
}

const norm = (m: { offset: string | number; key: Buffer | null; value: Buffer | null; headers?: Record<string, unknown>; timestamp: string | number }) => ({
  offset: Number(m.offset),
  key: m.key?.toString('hex') ?? null,
  value: m.value?.toString('hex') ?? null,
  headers: JSON.stringify(m.headers && Object.keys(m.headers).length ? m.headers : {}),
  timestamp: Number(m.timestamp),
});

async function both(version: 4 | 11, parts: Parameters<typeof response>[1], from: Map<number, number>) {
  const buf = await response(version, parts);
  const ours = await decodeFetchResponse(buf, version, from, decompress, noLegacy);
  const theirs = await (version === 11 ? kjsV11 : kjsV4).decode(buf);
  const kjs = new Map(theirs.responses[0]!.partitions.map((pd) => [pd.partition, new Batch('t', String(from.get(pd.partition) ?? 0), pd).messages.map(norm)]));
  return { ours: ours.responses[0]!.partitions, kjs };
}

describe('fetch response decoder', () => {
  it('decodes the same messages as KafkaJS on random record batches (v4 and v11, gzip, headers, nulls)', async () => {
    for (let seed = 1; seed <= 25; seed++) {
      const r = rng(seed);
      const version = seed % 2 ? 11 : 4;
      const parts = [0, 1, 2].map((partition) => ({ partition, batches: randomBatches(r, Math.floor(r() * 1e6), 1 + Math.floor(r() * 5)) }));
      // Ask from inside the first batch sometimes: records before it must be dropped.
      const from = new Map(parts.map((p) => [p.partition, p.batches[0]!.base + (r() < 0.5 ? Math.floor(r() * p.batches[0]!.records.length) : 0)]));
      const { ours, kjs } = await both(version, parts, from);
      for (const p of parts) {
        const o = ours.find((x) => x.partition === p.partition)!;
        expect(o.messages.map(norm), `seed ${seed} partition ${p.partition}`).toEqual(kjs.get(p.partition));
        const last = p.batches[p.batches.length - 1]!;
        expect(o.next).toBe(last.base + last.records.length);
      }
    }
  });

  it('stops at a batch cut off by the size limit; next is the cut batch\'s start', async () => {
    const r = rng(99);
    const batches = randomBatches(r, 500, 3);
    const { ours, kjs } = await both(11, [{ partition: 0, batches, cut: 7 }], new Map([[0, 500]]));
    const third = batches[2]!;
    expect(ours[0]!.messages.map(norm)).toEqual(kjs.get(0));
    expect(ours[0]!.messages.at(-1)!.offset).toBe(third.base - 1);
    expect(ours[0]!.next).toBe(third.base);
  });

  it('drops aborted transactions and control records; keeps committed transactions and other producers', async () => {
    const rec = (v: string) => ({ key: null, value: Buffer.from(v), headers: {}, tsDelta: 0 });
    const batches: BatchSpec[] = [
      { base: 0, records: [rec('plain-0'), rec('plain-1')] },
      { base: 2, records: [rec('aborted-2'), rec('aborted-3')], producerId: 7, transactional: true },
      { base: 4, records: [rec('other-4')], producerId: 8, transactional: true },
      { base: 5, records: [], producerId: 7, control: 'abort' },
      { base: 6, records: [rec('committed-6')], producerId: 7, transactional: true },
      { base: 7, records: [], producerId: 7, control: 'commit' },
      { base: 8, records: [], producerId: 8, control: 'commit' },
      { base: 9, records: [rec('aborted-9')], producerId: 8, transactional: true, gzip: true },
      { base: 10, records: [], producerId: 8, control: 'abort' },
    ];
    const aborted = [{ producerId: 7, firstOffset: 2 }, { producerId: 8, firstOffset: 9 }];
    const { ours, kjs } = await both(11, [{ partition: 0, batches, aborted }], new Map([[0, 0]]));
    const values = ours[0]!.messages.map((m) => m.value!.toString());
    expect(values).toEqual(['plain-0', 'plain-1', 'other-4', 'committed-6']);
    expect(ours[0]!.messages.map(norm)).toEqual(kjs.get(0));
    // Past the final control batch, so the next fetch does not read the marker again.
    expect(ours[0]!.next).toBe(11);
  });

  it('an empty record set gives no messages and no next', async () => {
    const { ours } = await both(11, [{ partition: 3, batches: [] }], new Map([[3, 42]]));
    expect(ours[0]).toMatchObject({ partition: 3, errorCode: 0, messages: [], next: undefined });
  });

  it('a record longer than its batch is an error, not a wrong message', async () => {
    const small = await response(11, [{ partition: 0, batches: [{ base: 0, records: [{ key: null, value: Buffer.from('x'), headers: {}, tsDelta: 0 }] }] }]);
    // v11 header up to the record set: throttle 4, error 2, session 4, topics 4, "t" 3, partitions 4,
    // partition 4, error 2, watermarks 3 × 8, aborted 4, replica 4, size 4 = 63 bytes. The first record's
    // length varint follows the 61-byte batch header. 0x7e is 63 in zigzag: far past this small record.
    expect(small.readBigInt64BE(63)).toBe(0n);
    small.writeUInt8(0x7e, 63 + 61);
    await expect(decodeFetchResponse(small, 11, new Map([[0, 0]]), decompress, noLegacy)).rejects.toThrow(/ends past its batch/);
  });
});
