/**
 * Product events of one simulated day: sessions of customers with a running
 * subscription (login, page views, features used, exports…), anonymous visitors
 * on the website, and lifecycle events for what happened in the world that day
 * (signed up, subscription started/canceled, payment failed). Nested JSON, as an
 * app SDK would send it. Each day draws from its own Rng (derived from the seed
 * and the day), so a day's events never depend on how earlier days were read.
 *
 * With `bad_record_rate`, a share of events arrives malformed (truncated JSON,
 * an HTML error page, an array, invalid UTF-8): raw payloads the loader turns
 * into dead letters. They are drawn from yet another Rng, so enabling them does
 * not change the good events.
 */
import { DAY, sdkTs } from './dirt.js';
import { Rng, derive } from './prng.js';
import type { Happening, Row } from './world.js';

export interface EventDraft {
  readonly at: number;
  readonly customerId: number | null;
  readonly anonymousId: string | null;
  readonly type: string;
  readonly properties: Row;
}

export interface DayEventsInput {
  readonly seed: number;
  readonly day: number;
  readonly dayStart: number;
  readonly scale: number;
  /** Customers with a running subscription, by id. */
  readonly active: readonly { id: number; planId: number }[];
  readonly happenings: readonly Happening[];
  /** A fixed number of activity events instead of the usage model. */
  readonly eventsPerDay?: number;
}

const OS = ['ios', 'android', 'macos', 'windows', 'linux', 'web'] as const;
const APP_VERSIONS = ['2.3.0', '2.3.1', '2.4.0', '3.0.0', '3.0.2'] as const;
const APP_PATHS = ['/dashboard', '/reports', '/billing', '/settings', '/team', '/integrations'] as const;
const SITE_PATHS = ['/', '/pricing', '/blog/mrr-explained', '/signup', '/docs'] as const;
const REFERRERS: [string | null, number][] = [[null, 4], ['https://www.google.com/', 4], ['https://news.ycombinator.com/', 1], ['https://twitter.com/', 1]];
const FEATURES = ['reports', 'alerts', 'api', 'dashboards', 'exports', 'forecasts'] as const;
const ACTIVITY: [string, number][] = [['page_view', 8], ['feature_used', 6], ['report_exported', 2], ['invoice_viewed', 1], ['seat_invited', 1]];
const CANCEL_REASONS = ['too_expensive', 'missing_feature', 'switched_tool', 'no_longer_needed', null] as const;
const DECLINE_REASONS = ['card_declined', 'insufficient_funds', 'expired_card'] as const;

const device = (r: Rng) => ({ os: r.pick(OS), app_version: r.pick(APP_VERSIONS) });

function activity(r: Rng, type: string, planId: number, sessionId: string, dev: Row): Row {
  switch (type) {
    case 'page_view': return { session_id: sessionId, path: r.pick(APP_PATHS), duration_ms: r.int(200, 90_000), device: dev };
    case 'feature_used': return { session_id: sessionId, feature: r.pick(FEATURES), plan_id: planId, duration_ms: r.int(500, 600_000), device: dev };
    case 'report_exported': return { session_id: sessionId, format: r.pick(['csv', 'xlsx', 'pdf']), rows: r.int(10, 50_000), plan_id: planId, device: dev };
    case 'invoice_viewed': return { session_id: sessionId, plan_id: planId, device: dev };
    default: return { session_id: sessionId, seats: r.int(1, 5), plan_id: planId, device: dev };
  }
}

function anonymous(r: Rng, at: number): EventDraft {
  return {
    at, customerId: null, anonymousId: `anon_${r.hex(12)}`, type: 'page_view',
    properties: { path: r.pick(SITE_PATHS), referrer: r.weighted(REFERRERS), device: { os: r.pick(OS), app_version: null } },
  };
}

/** The day's events, in time order (event ids are given by the caller, in this order). */
export function dayEvents(input: DayEventsInput): EventDraft[] {
  const r = new Rng(derive(input.seed, 'events', input.day));
  const { dayStart, active } = input;
  const out: EventDraft[] = [];
  const someTime = () => dayStart + r.int(0, DAY - 1);
  if (input.eventsPerDay !== undefined) {
    for (let i = 0; i < input.eventsPerDay; i++) {
      const at = someTime();
      if (active.length === 0 || r.chance(0.2)) { out.push(anonymous(r, at)); continue; }
      const c = r.pick(active);
      const type = r.weighted(ACTIVITY);
      out.push({ at, customerId: c.id, anonymousId: null, type, properties: activity(r, type, c.planId, `s_${r.hex(12)}`, device(r)) });
    }
  } else {
    for (const c of active) {
      if (!r.chance(0.12)) continue;
      // A session: a login, then a few things done a few minutes apart.
      let at = dayStart + r.int(6 * 3600, 22 * 3600) * 1000 + r.int(0, 999);
      const sessionId = `s_${r.hex(12)}`;
      const dev = device(r);
      out.push({ at, customerId: c.id, anonymousId: null, type: 'login', properties: { session_id: sessionId, method: r.weighted([['password', 5], ['google', 3], ['sso', 2]]), device: dev } });
      for (let n = r.int(1, 5); n > 0; n--) {
        at += r.int(5, 600) * 1000 + r.int(0, 999);
        const type = r.weighted(ACTIVITY);
        out.push({ at, customerId: c.id, anonymousId: null, type, properties: activity(r, type, c.planId, sessionId, dev) });
      }
    }
    for (let n = r.poisson(4 * input.scale); n > 0; n--) out.push(anonymous(r, someTime()));
    for (const h of input.happenings) {
      const at = h.at + r.int(0, 1999);
      const base = { at, customerId: h.customerId, anonymousId: null };
      if (h.kind === 'signed_up') out.push({ ...base, type: 'signed_up', properties: { signup_source: r.weighted([['organic', 5], ['ads', 3], ['referral', 2]]), device: device(r) } });
      else if (h.kind === 'subscription_started') out.push({ ...base, type: 'subscription_started', properties: { subscription_id: h.subscriptionId, plan_id: h.planId } });
      else if (h.kind === 'subscription_canceled') out.push({ ...base, type: 'subscription_canceled', properties: { subscription_id: h.subscriptionId, plan_id: h.planId, reason: r.pick(CANCEL_REASONS) } });
      else out.push({ ...base, type: 'payment_failed', properties: { subscription_id: h.subscriptionId, payment_id: h.paymentId, reason: r.pick(DECLINE_REASONS) } });
    }
  }
  // Stable sort: equal times keep their order of generation. Events past midnight stay on their day.
  return out.map((e, i) => ({ e: { ...e, at: Math.min(e.at, dayStart + DAY - 1) }, i })).sort((a, b) => a.e.at - b.e.at || a.i - b.i).map((x) => x.e);
}

/** The event as the SDK sends it. */
export function eventData(e: EventDraft, eventId: number): Row {
  return { event_id: eventId, customer_id: e.customerId, anonymous_id: e.anonymousId, type: e.type, at: sdkTs(e.at), properties: e.properties };
}

/**
 * Whether each of the day's events arrives malformed, and how: a payload the
 * loader cannot parse (a dead letter), or undefined for a good event.
 */
export function badPayloads(seed: number, day: number, count: number, rate: number): (((data: Row) => string | Uint8Array) | undefined)[] {
  if (rate <= 0) return new Array(count).fill(undefined);
  const r = new Rng(derive(seed, 'bad', day));
  return Array.from({ length: count }, () => {
    if (!r.chance(rate)) return undefined;
    const kind = r.weighted([['truncated', 5], ['html', 2], ['array', 1], ['utf8', 1]] as const);
    const cut = r.next();
    switch (kind) {
      case 'truncated': return (data: Row) => { const t = JSON.stringify(data); return t.slice(0, 1 + Math.floor(cut * (t.length - 2))); };
      case 'html': return () => '<html><body><h1>502 Bad Gateway</h1></body></html>';
      case 'array': return (data: Row) => JSON.stringify([data]);
      case 'utf8': return (data: Row) => {
        const t = Buffer.from(JSON.stringify(data), 'utf8');
        const at = Math.floor(cut * t.length);
        return new Uint8Array(Buffer.concat([t.subarray(0, at), Buffer.from([0xff, 0xfe]), t.subarray(at)]));
      };
    }
  });
}
