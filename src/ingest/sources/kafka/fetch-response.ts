/**
 * A lean decoder of Kafka Fetch responses (versions 4–11, record batches of
 * magic 2), used instead of KafkaJS's own.
 *
 * Why: on a 1M-message ingest, KafkaJS's response decoding was the largest
 * part of the client's CPU. Per record it makes a Decoder object, parses the
 * batch's first offset and timestamp from text into a Long twice, adds, turns
 * the results back into text, reduces the headers into a fresh object, and
 * then the consumer's Batch parses every offset again to filter. This file
 * reads the same bytes with plain integer arithmetic over one Buffer, keeps
 * key and value as views into the response (as KafkaJS does), and yields
 * offsets and timestamps as numbers.
 *
 * What it keeps from KafkaJS's semantics, and what it changes:
 * - records before the offset asked for are dropped (a batch may start earlier);
 * - control records are never returned; aborted transactions are filtered
 *   (read_committed) by the partition's aborted-transaction list, per batch,
 *   as the Java consumer does;
 * - `next` is one past the last *complete batch* (its last offset delta), not
 *   past its last surviving record, so a batch whose tail was compacted away
 *   or that ends in a control record is not fetched again;
 * - a batch cut off by the response size limit ends the partition's data;
 * - another message format (magic 0/1, brokers before 0.11) is handed to
 *   KafkaJS's decoder (`legacy`), which knows it.
 * CRCs are not checked, as KafkaJS does not check them either.
 */
import type { IHeaders } from 'kafkajs';

/** A message as the source reads it. `offset` and `timestamp` (ms since the epoch) are numbers. */
export interface DecodedMessage {
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: IHeaders;
  readonly timestamp: number;
}

export interface DecodedPartition {
  readonly partition: number;
  readonly errorCode: number;
  /** Messages at or after the offset asked for, control and aborted records removed, in offset order. */
  readonly messages: DecodedMessage[];
  /** One past the last complete batch in the response; undefined when there was none. */
  readonly next: number | undefined;
}

export interface DecodedFetch {
  readonly clientSideThrottleTime: number;
  readonly errorCode: number;
  /** KafkaJS's shape, so its error parsing (`parse`) applies unchanged. */
  readonly responses: { topicName: string; partitions: DecodedPartition[] }[];
}

/** Decompresses a record set for a batch's attributes (KafkaJS's codecs), or null when uncompressed. */
export type Decompress = (attributes: number, data: Buffer) => Promise<Buffer> | null;
/** Decodes a record set in an older message format, given with its int32 size in front (KafkaJS's decoder). */
export type LegacyDecode = (recordSet: Buffer) => Promise<DecodedMessage[]>;

const TIMESTAMP_LOG_APPEND = 0x08;
const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;
/** Bytes before a batch's records: base offset (8) … record count (4). */
const BATCH_HEADER = 61;

/** Thrown when a response cannot be read as the version says (a client or broker bug, not bad data). */
export class FetchDecodeError extends Error {
  override name = 'KafkaJSFetchDecodeError';
}

class Reader {
  pos: number;
  constructor(readonly buf: Buffer, pos = 0, readonly end = buf.length) {
    this.pos = pos;
  }
  need(n: number): void {
    if (this.pos + n > this.end) throw new FetchDecodeError(`fetch response ends early at byte ${this.pos} (needs ${n} more)`);
  }
  int8(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }
  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  int64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  /** An int64 that must be a safe integer (offsets, timestamps). */
  safe64(what: string): number {
    const v = this.int64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) throw new FetchDecodeError(`${what} ${v} is beyond 2^53`);
    return Number(v);
  }
  string(): string {
    const n = this.int16();
    if (n < 0) return '';
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  /** Zigzag varint (records, up to 64 bits read as a double: offsets/timestamp deltas fit). */
  varint(): number {
    const b = this.buf;
    let p = this.pos;
    let raw = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (p >= this.end) throw new FetchDecodeError(`record ends early at byte ${p}`);
      const byte = b[p++]!;
      raw += (byte & 0x7f) * mul;
      if ((byte & 0x80) === 0) {
        this.pos = p;
        // Zigzag: even → raw/2, odd → -(raw+1)/2; done in doubles so it holds past 32 bits.
        return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
      }
      mul *= 128;
    }
    throw new FetchDecodeError(`varint longer than 10 bytes at byte ${this.pos}`);
  }
  /** Varint-length bytes as a view into the response; null for length -1. */
  bytes(): Buffer | null {
    const n = this.varint();
    if (n < 0) return null;
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
}

/**
 * Decodes one Fetch response body (after the correlation id) of `version` 4–11.
 * `from` gives, per partition, the offset that was asked for.
 */
export async function decodeFetchResponse(
  raw: Buffer,
  version: number,
  from: ReadonlyMap<number, number>,
  decompress: Decompress,
  legacy: LegacyDecode,
): Promise<DecodedFetch> {
  if (version < 4 || version > 11) throw new FetchDecodeError(`fetch response version ${version} is not decoded here`);
  const r = new Reader(raw);
  const clientSideThrottleTime = r.int32();
  let errorCode = 0;
  if (version >= 7) {
    errorCode = r.int16();
    r.int32(); // session id
  }
  const responses: DecodedFetch['responses'] = [];
  for (let t = r.int32(); t > 0; t--) {
    const topicName = r.string();
    const partitions: DecodedPartition[] = [];
    for (let n = r.int32(); n > 0; n--) {
      const partition = r.int32();
      const code = r.int16();
      r.int64(); // high watermark
      r.int64(); // last stable offset
      if (version >= 5) r.int64(); // log start offset
      const aborted: { producerId: bigint; firstOffset: number }[] = [];
      for (let a = r.int32(); a > 0; a--) aborted.push({ producerId: r.int64(), firstOffset: r.safe64('aborted transaction offset') });
      if (version >= 11) r.int32(); // preferred read replica
      const size = r.int32();
      let messages: DecodedMessage[] = [];
      let next: number | undefined;
      if (size > 0) {
        r.need(size);
        const start = r.pos;
        r.pos += size;
        const at = from.get(partition) ?? 0;
        // The magic byte sits at the same place in every message format.
        if (size > 16 && raw.readInt8(start + 16) !== 2) {
          messages = (await legacy(raw.subarray(start - 4, start + size))).filter((m) => m.offset >= at);
          if (messages.length) next = messages[messages.length - 1]!.offset + 1;
        } else {
          ({ messages, next } = await decodeRecordBatches(raw, start, start + size, at, aborted, decompress));
        }
      }
      partitions.push({ partition, errorCode: code, messages, next });
    }
    responses.push({ topicName, partitions });
  }
  return { clientSideThrottleTime, errorCode, responses };
}

async function decodeRecordBatches(
  raw: Buffer,
  start: number,
  end: number,
  at: number,
  abortedList: readonly { producerId: bigint; firstOffset: number }[],
  decompress: Decompress,
): Promise<{ messages: DecodedMessage[]; next: number | undefined }> {
  const messages: DecodedMessage[] = [];
  let next: number | undefined;
  const pendingAborts = [...abortedList].sort((a, b) => a.firstOffset - b.firstOffset);
  const abortedProducers = new Set<bigint>();
  let p = start;
  while (p + 12 <= end) {
    const batchLength = raw.readInt32BE(p + 8);
    const batchEnd = p + 12 + batchLength;
    // A batch cut off by the size limit ends the data; the next fetch starts at it.
    if (batchEnd > end || batchLength < BATCH_HEADER - 12) break;
    const h = new Reader(raw, p, batchEnd);
    const baseOffset = h.safe64('offset');
    h.pos += 4 + 4 + 1 + 4; // length, leader epoch, magic, crc
    const attributes = h.int16();
    const lastOffsetDelta = h.int32();
    const baseTimestamp = h.safe64('timestamp');
    const maxTimestamp = h.safe64('timestamp');
    const producerId = h.int64();
    h.pos += 2 + 4; // producer epoch, base sequence
    const count = h.int32();
    p = batchEnd;
    const lastOffset = baseOffset + lastOffsetDelta;
    next = lastOffset + 1;

    // read_committed: a transaction listed as aborted starts at its first offset; its records are
    // skipped until that producer's abort marker (a control batch).
    while (pendingAborts.length && pendingAborts[0]!.firstOffset <= lastOffset) abortedProducers.add(pendingAborts.shift()!.producerId);
    const transactional = (attributes & TRANSACTIONAL) !== 0;
    if (attributes & CONTROL) {
      if (transactional && abortedProducers.has(producerId) && isAbortMarker(raw, h, attributes, count)) abortedProducers.delete(producerId);
      continue;
    }
    if (lastOffset < at || (transactional && abortedProducers.has(producerId))) continue;

    const logAppend = (attributes & TIMESTAMP_LOG_APPEND) !== 0;
    let rec = h;
    const inflate = decompress(attributes, raw.subarray(h.pos, batchEnd));
    if (inflate) {
      const plain = await inflate;
      rec = new Reader(plain);
    }
    for (let i = 0; i < count; i++) {
      const len = rec.varint();
      const recEnd = rec.pos + len;
      if (recEnd > rec.end) throw new FetchDecodeError(`record ${i} of the batch at offset ${baseOffset} ends past its batch`);
      rec.pos++; // attributes
      const tsDelta = rec.varint();
      const offset = baseOffset + rec.varint();
      const key = rec.bytes();
      const value = rec.bytes();
      const nh = rec.varint();
      let headers: IHeaders | undefined;
      for (let k = 0; k < nh; k++) {
        const hk = rec.bytes();
        const hv = rec.bytes();
        const name = hk ? hk.toString('utf8') : '';
        headers ??= {};
        const prev = headers[name];
        // Repeated header keys become an array, as KafkaJS gives them.
        headers[name] = prev === undefined ? (hv as Buffer) : Array.isArray(prev) ? [...prev, hv as Buffer] : [prev as Buffer, hv as Buffer];
      }
      rec.pos = recEnd;
      if (offset < at) continue;
      const timestamp = logAppend ? maxTimestamp : baseTimestamp + tsDelta;
      messages.push(headers ? { offset, key, value, headers, timestamp } : { offset, key, value, timestamp });
    }
  }
  return { messages, next };
}

/** A control batch's record is an abort marker when its key is (version 0, type 0). */
function isAbortMarker(raw: Buffer, h: Reader, attributes: number, count: number): boolean {
  // Control batches are never compressed in practice; a compressed one is treated as not an abort.
  if (count < 1 || (attributes & 0x07) !== 0) return false;
  const r = new Reader(raw, h.pos, h.end);
  r.varint(); // length
  r.pos++; // attributes
  r.varint(); // timestamp delta
  r.varint(); // offset delta
  const key = r.bytes();
  return key !== null && key.length >= 4 && key.readInt16BE(2) === 0;
}
