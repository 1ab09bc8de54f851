import { describe, expect, it } from 'vitest';
import { payloadText, shownBytes } from './record-text.js';

describe('dead-letter payloads of bytes that are not UTF-8', () => {
  it('keeps the well-formed stretches and writes every other byte as \\xNN', () => {
    // Latin-1 é, a cut-off 3-byte character, an overlong '/', an encoded surrogate, and a 4-byte emoji that is fine.
    const bytes = Buffer.concat([Buffer.from('{"city":"Z'), Buffer.from([0xe9]), Buffer.from('rich"} '), Buffer.from([0xe2, 0x82]), Buffer.from(' '), Buffer.from([0xc0, 0xaf]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from(' 😀')]);
    expect(shownBytes(bytes)).toBe('{"city":"Z\\xE9rich"} \\xE2\\x82 \\xC0\\xAF\\xED\\xA0\\x80 😀');
  });

  it('leaves UTF-8 payloads as they decode, a real U+FFFD included', () => {
    expect(payloadText({ raw: Buffer.from('{"a":"x\uFFFDy"}'), position: {} })).toBe('{"a":"x\uFFFDy"}');
    expect(payloadText({ raw: new Uint8Array([0x7b, 0xff, 0x7d]), position: {} })).toBe('{\\xFF}');
  });
});
