/**
 * Decompression of the record batches real producers write with snappy, LZ4 or zstd, which KafkaJS
 * leaves to plug-ins (without one it refuses such a batch). They are put into smelt's own KafkaJS
 * codec table, which both decoders use (fetch-response.ts through `codecFor`, and the old
 * message-set one). Pure JavaScript (snappyjs, lz4js, fzstd): nothing to build natively, so the
 * source works wherever Node does. smelt only reads topics, so nothing here compresses.
 */
import { createRequire } from 'node:module';
import { decompress as zstdDecompress } from 'fzstd';
import type kafkajsModule from 'kafkajs';

const require = createRequire(import.meta.url);
// Neither ships types: the one function each is used for.
const snappy = require('snappyjs') as { uncompress(data: Uint8Array): Uint8Array };
const lz4 = require('lz4js') as { decompress(data: Uint8Array): Uint8Array | number[] };

const asBuffer = (u: Uint8Array | number[]): Buffer => (Buffer.isBuffer(u) ? u : u instanceof Uint8Array ? Buffer.from(u.buffer, u.byteOffset, u.byteLength) : Buffer.from(u));

/** The xerial framing the Java client writes around snappy blocks: magic, version, compatible version, then length-prefixed blocks. */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER = 16;

/** A snappy record set: one raw snappy block (librdkafka), or xerial-framed blocks (the Java client). */
export function unsnappy(data: Buffer): Buffer {
  if (data.length < XERIAL_HEADER || !data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) return asBuffer(snappy.uncompress(data));
  const blocks: Buffer[] = [];
  let pos = XERIAL_HEADER;
  while (pos < data.length) {
    if (pos + 4 > data.length) throw new Error('snappy: a xerial block is cut short');
    const len = data.readUInt32BE(pos);
    pos += 4;
    if (pos + len > data.length) throw new Error('snappy: a xerial block is cut short');
    blocks.push(asBuffer(snappy.uncompress(data.subarray(pos, pos + len))));
    pos += len;
  }
  return blocks.length === 1 ? blocks[0]! : Buffer.concat(blocks);
}

/** An LZ4 frame (the format Kafka's record batches use). */
export const unlz4 = (data: Buffer): Buffer => asBuffer(lz4.decompress(data));

/** A zstd frame. */
export const unzstd = (data: Buffer): Buffer => asBuffer(zstdDecompress(data));

/** Puts the three decoders into KafkaJS's codec table (idempotent). */
export function registerCodecs(kafkajs: typeof kafkajsModule): void {
  const { CompressionTypes: T, CompressionCodecs: C } = kafkajs;
  const codec = (name: string, decode: (b: Buffer) => Buffer) => () => ({
    compress: () => {
      throw new Error(`smelt reads ${name} record batches but does not write them`);
    },
    decompress: async (b: Buffer) => decode(b),
  });
  C[T.Snappy] = codec('snappy', unsnappy);
  C[T.LZ4] = codec('lz4', unlz4);
  C[T.ZSTD] = codec('zstd', unzstd);
}
