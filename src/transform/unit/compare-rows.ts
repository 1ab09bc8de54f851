/** Order-insensitive comparison of expected and actual rows, on the expected columns only. */
import type { Row } from '../../core/types.js';

/** Canonical text for a value, so 10, 10.0 and '10' compare equal, and dates compare as text. */
export function canonical(v: unknown): string {
  if (v === null || v === undefined) return '∅';
  if (typeof v === 'number' || typeof v === 'bigint') return `n:${Number(v)}`;
  if (typeof v === 'boolean') return `b:${v}`;
  if (typeof v === 'object') return `j:${JSON.stringify(v)}`;
  const s = String(v);
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(s.trim())) return `n:${Number(s)}`;
  if (/^(true|false)$/i.test(s)) return `b:${s.toLowerCase()}`;
  const ts = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.0+)?$/.exec(s);
  if (ts) return ts[2] === '00:00:00' ? `s:${ts[1]}` : `s:${ts[1]} ${ts[2]}`;
  return `s:${s}`;
}

export interface RowDiff {
  readonly missing: Row[];
  readonly unexpected: Row[];
}

export function diffRows(expected: readonly Row[], actual: readonly Row[]): RowDiff {
  const cols = [...new Set(expected.flatMap((r) => Object.keys(r)))];
  const key = (r: Row) => cols.map((c) => canonical(r[c])).join('\u0000');
  const pool = new Map<string, Row[]>();
  for (const r of actual) {
    const k = key(r);
    pool.set(k, [...(pool.get(k) ?? []), r]);
  }
  const missing: Row[] = [];
  for (const r of expected) {
    const hit = pool.get(key(r));
    if (hit?.length) hit.pop();
    else missing.push(r);
  }
  const unexpected = [...pool.values()].flat().map((r) => Object.fromEntries(cols.map((c) => [c, r[c]])));
  return { missing, unexpected };
}
