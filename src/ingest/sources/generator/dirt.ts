/**
 * How the (fictional) source system exports values: mixed date formats, padded
 * and mixed-case text, amounts with currency markers and decimal commas, several
 * spellings of one status. Every draw comes from the world's Rng, so the dirt is
 * as deterministic as the data. Conventions: slash dates are DD/MM/YYYY, timestamps UTC.
 */
import type { Rng } from './prng.js';

export const DAY = 86_400_000;

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const d = (ms: number) => new Date(ms);

export const isoDate = (ms: number) => `${d(ms).getUTCFullYear()}-${pad(d(ms).getUTCMonth() + 1)}-${pad(d(ms).getUTCDate())}`;
export const isoTime = (ms: number) => `${pad(d(ms).getUTCHours())}:${pad(d(ms).getUTCMinutes())}:${pad(d(ms).getUTCSeconds())}`;
export const euDate = (ms: number) => `${pad(d(ms).getUTCDate())}/${pad(d(ms).getUTCMonth() + 1)}/${d(ms).getUTCFullYear()}`;
/** `2024-01-05 10:00:00` */
export const plainTs = (ms: number) => `${isoDate(ms)} ${isoTime(ms)}`;
/** `2024-01-05T10:00:00Z` */
export const isoTs = (ms: number) => `${isoDate(ms)}T${isoTime(ms)}Z`;
/** `05/01/2024 10:00:00` */
export const euTs = (ms: number) => `${euDate(ms)} ${isoTime(ms)}`;
/** `2024-01-05T10:00:00.123Z`: how the app's SDK stamps events. */
export const sdkTs = (ms: number) => new Date(ms).toISOString();

/** A date in one of the formats the exports mix. */
export const dirtyDate = (r: Rng, ms: number) => r.weighted([[isoDate(ms), 6], [euDate(ms), 2], [isoTs(ms), 2]]);
/** A timestamp in one of the formats the exports mix. */
export const dirtyTs = (r: Rng, ms: number) => r.weighted([[plainTs(ms), 6], [isoTs(ms), 3], [euTs(ms), 1]]);

/** Same calendar day-of-month `months` later, clamped to the 28th so every month has it. */
export function addMonths(ms: number, months: number): number {
  const x = d(ms);
  return Date.UTC(x.getUTCFullYear(), x.getUTCMonth() + months, Math.min(x.getUTCDate(), 28), x.getUTCHours(), x.getUTCMinutes(), x.getUTCSeconds());
}
/** A time of day during business-ish hours. */
export const atTime = (r: Rng, dayMs: number) => dayMs + r.int(7, 21) * 3_600_000 + r.int(0, 59) * 60_000 + r.int(0, 59) * 1000;
export const dayOf = (ms: number) => Math.floor(ms / DAY) * DAY;

export const messyCase = (r: Rng, s: string) => r.weighted([[s, 6], [s.toUpperCase(), 1], [s[0]!.toUpperCase() + s.slice(1), 2]]);
export const messyPad = (r: Rng, s: string) => r.weighted([[s, 7], [` ${s}`, 1], [`${s}  `, 1], [` ${s} `, 1]]);

export const dirtyAmount = (r: Rng, n: number) => {
  const s = n.toFixed(2);
  return r.weighted([[s, 10], [`$${s}`, 4], [s.replace('.', ','), 3], [` ${s} `, 1], [`USD ${s}`, 1], [String(Number(s)), 2]]);
};
export const dirtyCurrency = (r: Rng) => r.weighted([['USD', 20], ['usd', 3], [' USD', 1]]);

export type SubStatus = 'active' | 'canceled' | 'past_due';
export const STATUS_SPELLING: Record<SubStatus, [string, number][]> = {
  active: [['active', 8], ['Active', 1], [' ACTIVE', 1]],
  canceled: [['canceled', 6], ['cancelled', 2], ['Cancelled', 1], ['CANCELED ', 1]],
  past_due: [['past_due', 3], ['Past_Due', 1]],
};
export type PayStatus = 'succeeded' | 'failed' | 'refunded';
export const PAY_SPELLING: Record<PayStatus, [string, number][]> = {
  succeeded: [['succeeded', 12], ['SUCCEEDED', 2], ['success', 2], ['paid', 1]],
  failed: [['failed', 5], ['FAILED', 1], ['declined', 2]],
  refunded: [['refunded', 4], ['Refunded', 1], ['refund', 1]],
};
export const DELETED_TRUE: [string, number][] = [['true', 3], ['1', 2], ['yes', 1], ['TRUE', 1]];
export const DELETED_FALSE: [string | null, number][] = [['false', 10], ['0', 4], ['no', 1], [null, 3]];

export const FIRST = ['Ada', 'Alan', 'Grace', 'Linus', 'Margaret', 'Ken', 'Barbara', 'Edsger', 'Frances', 'Donald', 'Radia', 'John', 'Sophie', 'Tim', 'Hedy', 'Dennis', 'Katherine', 'Guido', 'Anita', 'Bjarne', 'Lena', 'Omar', 'Priya', 'Chen', 'Mateo', 'Zoe', 'Yuki', 'Ines', 'Noah', 'Fatima'];
export const LAST = ['Lovelace', 'Turing', 'Hopper', 'Torvalds', 'Hamilton', 'Thompson', 'Liskov', 'Dijkstra', 'Allen', 'Knuth', 'Perlman', 'McCarthy', 'Wilson', 'Berners-Lee', 'Lamarr', 'Ritchie', 'Johnson', 'van Rossum', 'Borg', 'Stroustrup', 'Schmidt', 'Haddad', 'Patel', 'Wang', 'Garcia', 'Martin', 'Sato', 'Costa', 'Dubois', 'Khan'];
export const DOMAINS = ['example.com', 'mail.test', 'acme.io', 'corp.example', 'inbox.test'];
export const COUNTRY: [string | null, number][] = [['US', 35], ['us', 6], ['United States', 4], ['USA', 3], ['GB', 12], ['gb ', 3], ['DE', 10], ['FR', 8], ['NL', 5], [null, 4]];
