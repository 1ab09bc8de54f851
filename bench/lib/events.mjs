/**
 * The synthetic event the ingestion benchmarks load (NDJSON files, Kafka messages): about 150 bytes
 * of JSON with ints, a double, strings, a timestamp string, a bool, an array and a nested object.
 * Deterministic in `i`, so every run and every peer sees the same bytes.
 */
const EVENTS = ['click', 'view', 'purchase', 'signup', 'logout'];

export function eventLine(i) {
  return JSON.stringify({
    id: i,
    ts: new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString(),
    user: `user_${(i * 7919) % 100_000}`,
    event: EVENTS[i % EVENTS.length],
    amount: Math.round(((i * 37) % 100_000) / 1.7) / 100,
    qty: i % 13,
    ok: i % 3 !== 0,
    tags: [`t${i % 7}`, `t${i % 11}`],
    meta: { ip: `10.${i % 256}.${(i >> 8) % 256}.${(i >> 16) % 256}`, ref: i % 5 ? 'ads' : 'seo' },
  });
}
