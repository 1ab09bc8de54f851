import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prng } from '../../../../test/helpers/prng.js';
import type { Taken } from './kafka-client.js';
import { writeLinesFile } from './lines-file.js';
import { positionOf } from './records.js';

/** The line format as the module documents it, built the plain way: positionOf's fields as JSON texts. */
function reference(taken: readonly Taken[]): Buffer {
  const text = (v: unknown) => (v === null || v === undefined ? 'null' : typeof v === 'number' ? String(v) : JSON.stringify(v));
  return Buffer.concat(taken.flatMap(({ partition, m }) => {
    const p = positionOf(partition, m);
    return [Buffer.from(`${p.partition}\x01${p.offset}\x01${text(p.key)}\x01${text(p.headers)}\x01${text(p.timestamp)}\x01`), m.value ?? Buffer.from('{}'), Buffer.from('\n')];
  }));
}

describe('writeLinesFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smelt-lines-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes every message as its position fields and value, byte for byte as the plain format says', () => {
    const r = prng(5);
    const taken: Taken[] = [];
    for (let i = 0; i < 5000; i++) {
      const usual = r.chance(0.7);
      const ts = usual ? 1_704_067_200_000 + r.int(0, 3_600_000) : r.pick([-1, 0, 59_999, 253_402_300_799_999, 253_402_300_800_000, r.int(0, 253_402_300_799_999)]);
      taken.push({
        partition: r.int(0, 300),
        m: {
          offset: r.chance(0.1) ? r.int(0, Number.MAX_SAFE_INTEGER) : r.int(0, 99_999),
          timestamp: ts,
          key: usual || r.chance(0.5) ? null : r.pick([Buffer.from('k-ü'), Buffer.from([0xff, 0xfe]), Buffer.from('')]),
          headers: usual || r.chance(0.5) ? (r.chance(0.5) ? {} : undefined) : { h: Buffer.from('v"1'), many: [Buffer.from('a'), null as unknown as Buffer] },
          value: r.chance(0.05) ? null : Buffer.from(JSON.stringify({ i, s: 'é\\"x' })),
        },
      });
    }
    const path = join(dir, 'a.lines');
    expect(writeLinesFile(path, taken)).toBe(true);
    expect(readFileSync(path).equals(reference(taken))).toBe(true);
  });

  it('writes nothing for a value a line cannot hold as it is', () => {
    const m = (value: string) => ({ partition: 0, m: { offset: 1, timestamp: 0, key: null, value: Buffer.from(value) } });
    for (const bad of ['[1]', '{"a":\n1}', '{"a":1}\r', '1']) expect(writeLinesFile(join(dir, 'b.lines'), [m('{"ok":1}'), m(bad)])).toBe(false);
    expect(existsSync(join(dir, 'b.lines'))).toBe(false);
  });
});
