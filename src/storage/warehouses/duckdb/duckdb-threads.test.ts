import { describe, expect, it } from 'vitest';
import { ThreadShare } from './duckdb-threads.js';

describe('ThreadShare', () => {
  it('lowers the count by one for a load and restores it after, also when the load fails', async () => {
    const sets: number[] = [];
    const share = new ThreadShare(4, async (n) => sets.push(n));
    expect(await share.during(async (threads) => `x${threads}`)).toBe('x3');
    await expect(share.during(async () => { throw new Error('bad file'); })).rejects.toThrow('bad file');
    expect(sets).toEqual([3, 4, 3, 4]);
  });

  it('overlapping loads set the count once and restore it when the last one ends', async () => {
    const sets: number[] = [];
    const share = new ThreadShare(2, async (n) => sets.push(n));
    let release!: () => void;
    const first = share.during(() => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setTimeout(r, 0));
    await share.during(async () => expect(sets).toEqual([1]));
    expect(sets).toEqual([1]);
    release();
    await first;
    expect(sets).toEqual([1, 2]);
  });

  it('never goes below one thread', async () => {
    const sets: number[] = [];
    expect(await new ThreadShare(1, async (n) => sets.push(n)).during(async (threads) => threads)).toBe(1);
    expect(sets).toEqual([]);
  });
});
