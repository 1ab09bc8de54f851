/** The snappy framings (raw from librdkafka, xerial from the Java client); the codecs end to end are in kafka-ingest.test.ts. */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { unsnappy } from './codecs.js';

const require = createRequire(import.meta.url);
const snappy = require('snappyjs') as { compress(b: Buffer): Buffer };

/** What the Java client's SnappyOutputStream writes: magic, version 1, compatible 1, then length-prefixed blocks. */
function xerial(blocks: Buffer[]): Buffer {
  const head = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
  return Buffer.concat([head, ...blocks.flatMap((b) => {
    const c = snappy.compress(b);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(c.length);
    return [len, c];
  })]);
}

describe('snappy record sets', () => {
  const a = Buffer.from('first block '.repeat(200));
  const b = Buffer.from('second block, other text '.repeat(50));

  it('reads a raw snappy block and xerial-framed blocks to the same bytes', () => {
    expect(unsnappy(snappy.compress(Buffer.concat([a, b])))).toEqual(Buffer.concat([a, b]));
    expect(unsnappy(xerial([a, b]))).toEqual(Buffer.concat([a, b]));
    expect(unsnappy(xerial([a]))).toEqual(a);
  });

  it('refuses a xerial frame cut short, naming it', () => {
    const whole = xerial([a, b]);
    expect(() => unsnappy(whole.subarray(0, whole.length - 3))).toThrow(/xerial block is cut short/);
  });
});
