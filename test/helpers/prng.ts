/**
 * A small seedable random source for the fuzz and differential tests (mulberry32), with the
 * helpers they share: ints in a range, a pick from a list, a coin with odds, a pick by weight.
 */
/** mulberry32: small, fast, seedable. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const chance = (p: number) => next() < p;
  /** Picks a kind by weight. */
  const weighted = <K extends string>(w: Record<K, number>): K => {
    const total = Object.values<number>(w).reduce((a, b) => a + b, 0);
    let r = next() * total;
    for (const [k, v] of Object.entries<number>(w)) if ((r -= v) < 0) return k as K;
    return Object.keys(w)[0] as K;
  };
  return { next, int, pick, chance, weighted };
}
export type Rng = ReturnType<typeof prng>;
