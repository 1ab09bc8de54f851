import { describe, expect, it } from 'vitest';
import { MinHeap } from './heap.js';

describe('MinHeap', () => {
  it('pops in order, whatever the order of pushes', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    const xs = Array.from({ length: 2000 }, () => Math.floor(rand() * 500));
    const h = new MinHeap<number>((a, b) => a < b);
    for (const x of xs) h.push(x);
    expect(h.size).toBe(xs.length);
    const out: number[] = [];
    for (let x = h.pop(); x !== undefined; x = h.pop()) out.push(x);
    expect(out).toEqual([...xs].sort((a, b) => a - b));
    expect(h.pop()).toBeUndefined();
  });

  it('interleaves pushes and pops', () => {
    const h = new MinHeap<string>((a, b) => a < b);
    h.push('m');
    h.push('c');
    expect(h.peek()).toBe('c');
    expect(h.pop()).toBe('c');
    h.push('a');
    h.push('z');
    expect([h.pop(), h.pop(), h.pop(), h.pop()]).toEqual(['a', 'm', 'z', undefined]);
  });
});
