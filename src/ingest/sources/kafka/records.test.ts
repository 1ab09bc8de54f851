import { describe, expect, it } from 'vitest';
import { prng } from '../../../../test/helpers/prng.js';
import { timestampOf } from './records.js';

const iso = (ms: number) => new Date(ms).toISOString();

describe('timestampOf', () => {
  it('writes what toISOString writes, in any order of timestamps (the cached minute never leaks)', () => {
    const r = prng(11);
    const values: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      // Runs within one minute, jumps back and forth, and anything up to year 9999.
      const base = r.chance(0.5) ? 1_704_067_200_000 + r.int(0, 600_000) : r.int(0, 253_402_300_799_999);
      values.push(base, base + r.int(0, 1500), base - r.int(0, 1500));
    }
    values.push(0, 59_999, 60_000, 999, 1000, 253_402_300_799_999, 253_402_300_800_000, 8.64e15, 1.5, 1_704_067_259_999, 1_704_067_260_000);
    for (const ms of values) if (ms >= 0) expect(timestampOf(ms), String(ms)).toBe(iso(ms));
  });

  it('is null where there is no valid timestamp', () => {
    for (const ms of [-1, Number.NaN, Number.POSITIVE_INFINITY, 8.64e15 + 1]) expect(timestampOf(ms)).toBeNull();
  });
});
