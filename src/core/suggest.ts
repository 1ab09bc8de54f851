import { distance } from 'fastest-levenshtein';

/**
 * Picks the candidate closest to `name`, if it is close enough to be a likely typo.
 * Used for "did you mean …?" hints on unknown models, sources, columns and options.
 */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  const lower = name.toLowerCase();
  for (const c of candidates) {
    const d = distance(lower, c.toLowerCase());
    if (d < bestScore) {
      bestScore = d;
      best = c;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(2, Math.floor(name.length / 3));
  return bestScore <= limit ? best : undefined;
}

/** `did you mean 'x'?` or undefined, ready to use as an error hint. */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const c = closest(name, candidates);
  return c ? `did you mean '${c}'?` : undefined;
}
