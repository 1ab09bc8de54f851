/**
 * The simulated subscription business, one day at a time. Port of the old
 * examples/shop/scripts/generate-data.mjs, turned from "draw two years at once"
 * into a day-by-day simulation with no end date: customers sign up, subscribe,
 * pay monthly or yearly, fail and retry payments, get refunds, cancel and come
 * back. Every row is emitted on the day it happens, exported the dirty way
 * (dirt.ts). A status change emits a new version of the row with a later updated_at.
 *
 * Days must be stepped in order from 0: the world is a pure function of
 * (seed, start, scale) and the day, never of how many days a run asks for, so
 * replaying it always yields the same records.
 */
import {
  COUNTRY, DAY, DELETED_FALSE, DELETED_TRUE, DOMAINS, FIRST, LAST, PAY_SPELLING, STATUS_SPELLING,
  addMonths, atTime, dayOf, dirtyAmount, dirtyCurrency, dirtyDate, dirtyTs, messyCase, messyPad,
  type PayStatus, type SubStatus,
} from './dirt.js';
import { BANKS, PLANS, planRows, type Plan } from './catalog.js';
import { Rng, derive } from './prng.js';
import { MinHeap } from '../../../core/heap.js';

export type Row = Record<string, unknown>;

/** Something that happened (for the events stream), besides the rows it produced. */
export interface Happening {
  readonly kind: 'signed_up' | 'subscription_started' | 'subscription_canceled' | 'payment_failed';
  readonly at: number;
  readonly customerId: number;
  readonly subscriptionId?: number;
  readonly planId?: number;
  readonly paymentId?: number;
}

export interface DayOutput {
  readonly customers: Row[];
  readonly plans: Row[];
  readonly subscriptions: Row[];
  readonly payments: Row[];
  readonly banks: Row[];
  readonly happenings: Happening[];
}

interface Customer {
  readonly id: number;
  readonly first: string;
  readonly last: string;
  readonly email: string | null;
  readonly country: string | null;
  readonly fullName: string | null;
  readonly signupDate: string;
  deleted: boolean;
  /** Subscriptions that are running (not canceled, not deleted). */
  readonly active: Set<Sub>;
}

interface Sub {
  readonly id: number;
  readonly customerId: number;
  readonly plan: Plan;
  readonly start: number;
  readonly cancel: number | null;
  status: SubStatus;
  deleted: boolean;
}

type Action =
  | { kind: 'signup' }
  | { kind: 'customer_update'; c: Customer }
  | { kind: 'customer_delete'; c: Customer }
  | { kind: 'start_sub'; customerId: number }
  | { kind: 'delete_sub'; s: Sub }
  | { kind: 'cancel_sub'; s: Sub }
  | { kind: 'charge'; s: Sub; k: number }
  | { kind: 'retry'; s: Sub; bank: number | null }
  | { kind: 'refund'; base: Omit<PaymentFacts, 'status' | 'updated'> };

interface PaymentFacts {
  payment_id: number;
  subscription_id: number;
  bank_id: number | null;
  amount: string | null;
  status: PayStatus;
  paid: number;
  updated: number;
}

interface Scheduled {
  readonly at: number;
  readonly n: number;
  readonly action: Action;
}

/** Actions in time order; ties run in the order they were planned. */
class Agenda {
  private readonly heap = new MinHeap<Scheduled>((a, b) => a.at < b.at || (a.at === b.at && a.n < b.n));
  private n = 0;

  push(at: number, action: Action): void {
    this.heap.push({ at, n: this.n++, action });
  }

  /** The next action due before `end`, or undefined. */
  popBefore(end: number): Scheduled | undefined {
    const next = this.heap.peek();
    return next && next.at < end ? this.heap.pop() : undefined;
  }
}

/** Customers signing up per day at scale 1 (about 300 over two years). */
const SIGNUPS_PER_DAY = 0.43;
/** Subscriptions of customers missing from the customer export get ids from here. */
const ORPHAN_CUSTOMER_BASE = 9_000_000;

export class World {
  private readonly r: Rng;
  private day = 0;
  private readonly customers: Customer[] = [];
  private readonly usedEmails = new Set<string>();
  private readonly agenda = new Agenda();
  private nextSub = 1;
  private nextPay = 1;
  private orphans = 0;
  private out!: DayOutput;

  constructor(seed: number, private readonly start: number, private readonly scale: number) {
    this.r = new Rng(derive(seed, 'world'));
  }

  /** Simulates the next day; `d` must be 0, then 1, 2, … */
  step(d: number): DayOutput {
    if (d !== this.day) throw new Error(`world: expected day ${this.day}, got ${d}`);
    this.day++;
    const dayStart = this.start + d * DAY;
    const out: DayOutput = { customers: [], plans: planRows(d, this.start), subscriptions: [], payments: [], banks: [], happenings: [] };
    this.out = out;
    if (d === 0) out.banks.push(...BANKS.map((b) => ({ ...b })), { ...BANKS[7]! }); // HSBC exported twice
    const r = this.r;
    // A subscription whose customer never makes it into the customer export, every 240 days.
    if (d % 240 === 70) this.agenda.push(atTime(r, dayStart), { kind: 'start_sub', customerId: ORPHAN_CUSTOMER_BASE + ++this.orphans });
    const signups = r.poisson(SIGNUPS_PER_DAY * this.scale);
    for (let i = 0; i < signups; i++) this.agenda.push(atTime(r, dayStart), { kind: 'signup' });
    for (let next = this.agenda.popBefore(dayStart + DAY); next; next = this.agenda.popBefore(dayStart + DAY)) this.run(next.at, next.action);
    return out;
  }

  /** Customers with a running subscription (for product events), by id, with the plan of their first one. */
  activeCustomers(): { id: number; planId: number }[] {
    const out: { id: number; planId: number }[] = [];
    for (const c of this.customers) {
      if (c.deleted || c.active.size === 0) continue;
      out.push({ id: c.id, planId: c.active.values().next().value!.plan.plan_id });
    }
    return out;
  }

  private run(at: number, a: Action): void {
    switch (a.kind) {
      case 'signup': return this.signup(at);
      case 'customer_update': return this.customerRow(a.c, at, false);
      case 'customer_delete': {
        a.c.deleted = true;
        return this.customerRow(a.c, at, false, at);
      }
      case 'start_sub': return this.startSub(a.customerId, at);
      case 'delete_sub': {
        a.s.deleted = true;
        this.customers[a.s.customerId - 1]?.active.delete(a.s);
        return this.subRow(a.s, at);
      }
      case 'cancel_sub': return this.cancelSub(a.s, at);
      case 'charge': return this.charge(a.s, a.k, at);
      case 'retry': {
        if (a.s.status === 'canceled') return;
        this.payment({ payment_id: this.nextPay++, subscription_id: a.s.id, bank_id: a.bank, amount: dirtyAmount(this.r, a.s.plan.price), status: 'succeeded', paid: at, updated: at + this.r.int(1, 30) * 1000 });
        return this.recovered(a.s, at);
      }
      case 'refund': return this.payment({ ...a.base, status: 'refunded', updated: at });
    }
  }

  // ------------------------------------------------------------ customers

  private signup(at: number): void {
    const r = this.r;
    const id = this.customers.length + 1;
    const first = r.pick(FIRST);
    const last = r.pick(LAST);
    let email = `${`${first}.${last}`.toLowerCase().replace(/[^a-z.]/g, '')}${id % 7 === 0 ? id : ''}@${r.pick(DOMAINS)}`;
    if (this.usedEmails.has(email)) email = email.replace('@', `${id}@`); // namesakes get a number
    this.usedEmails.add(email);
    // Now and then someone signs up a second time with the email of an earlier account, in other case.
    if (id % 146 === 57 && this.customers[id - 46]) email = this.customers[id - 46]!.email?.toUpperCase() ?? email;
    const c: Customer = {
      id, first, last,
      email: id % 97 === 0 ? null : email,
      country: r.weighted(COUNTRY),
      fullName: r.chance(0.03) ? null : `${first} ${last}`,
      signupDate: id % 113 === 0 ? 'n/a' : dirtyDate(r, at),
      deleted: false,
      active: new Set(),
    };
    this.customers.push(c);
    this.out.happenings.push({ kind: 'signed_up', at, customerId: id });
    let latest = at;
    if (r.chance(0.09)) {
      // They signed up with an old address and changed it later: two versions of the row.
      this.customerRow(c, at, true);
      latest = at + r.int(3, 200) * DAY;
      this.agenda.push(latest, { kind: 'customer_update', c });
    } else this.customerRow(c, at, false);
    // Soft delete: the account is closed later (a GDPR request); the row stays, flagged.
    if (r.chance(0.04)) this.agenda.push(latest + r.int(1, 30) * DAY, { kind: 'customer_delete', c });
    const signupDay = dayOf(at);
    if (id % 41 !== 0) this.agenda.push(atTime(r, signupDay + r.int(0, 10) * DAY), { kind: 'start_sub', customerId: id }); // else: never subscribed
    // Many customers also hold a second, parallel subscription (a team plan next to a personal one).
    if (r.chance(0.72)) this.agenda.push(atTime(r, signupDay + r.int(15, 200) * DAY), { kind: 'start_sub', customerId: id });
  }

  private customerRow(c: Customer, at: number, oldAddress: boolean, deletedAt?: number): void {
    const r = this.r;
    const row: Row = {
      customer_id: c.id,
      email: oldAddress ? `${c.first.toLowerCase()}${r.int(1, 99)}@old-mail.test` : c.email === null ? null : messyPad(r, messyCase(r, c.email)),
      full_name: c.fullName,
      country: oldAddress ? null : c.country,
      signup_date: c.signupDate,
      updated_at: dirtyTs(r, at),
      deleted_at: deletedAt === undefined ? null : dirtyTs(r, deletedAt),
    };
    this.out.customers.push(row);
    if (r.chance(0.02)) this.out.customers.push({ ...row }); // exact duplicate
  }

  // ------------------------------------------------------------ subscriptions

  private startSub(customerId: number, start: number): void {
    const r = this.r;
    const plan = r.weighted(PLANS.map((p) => [p, p.weight] as const));
    const deleted = r.chance(0.03);
    // Cancellation, planned at the start: a monthly hazard for monthly plans, a renewal decision for annual ones.
    let cancel: number | null = null;
    if (plan.billing_period === 'monthly') {
      for (let m = 1; m <= 600; m++) if (r.chance(0.035)) { cancel = addMonths(start, m - 1) + r.int(2, 26) * DAY; break; }
    } else {
      for (let y = 1; y <= 50; y++) if (r.chance(0.3)) { cancel = addMonths(start, 12 * y) - r.int(1, 20) * DAY; break; }
    }
    if (cancel !== null && cancel <= start) cancel = null;
    const s: Sub = { id: this.nextSub++, customerId, plan, start, cancel, status: 'active', deleted: false };
    this.subRow(s, start);
    const c = this.customers[customerId - 1];
    if (deleted) {
      // Entered in error: soft-deleted before any billing.
      this.agenda.push(start + r.int(60, 1800) * 1000, { kind: 'delete_sub', s });
      return;
    }
    c?.active.add(s);
    if (c) this.out.happenings.push({ kind: 'subscription_started', at: start, customerId, subscriptionId: s.id, planId: plan.plan_id });
    this.agenda.push(start + r.int(0, 3600) * 1000, { kind: 'charge', s, k: 0 });
    if (cancel !== null) this.agenda.push(cancel, { kind: 'cancel_sub', s });
  }

  private cancelSub(s: Sub, at: number): void {
    if (s.deleted) return;
    s.status = 'canceled';
    const c = this.customers[s.customerId - 1];
    c?.active.delete(s);
    this.subRow(s, at);
    if (!c) return;
    this.out.happenings.push({ kind: 'subscription_canceled', at, customerId: s.customerId, subscriptionId: s.id, planId: s.plan.plan_id });
    // Most customers come back on another plan (an upgrade or a downgrade).
    if (this.r.chance(0.8)) this.agenda.push(atTime(this.r, dayOf(at) + this.r.int(0, 40) * DAY), { kind: 'start_sub', customerId: s.customerId });
  }

  private subRow(s: Sub, at: number): void {
    const r = this.r;
    const row: Row = {
      subscription_id: s.id,
      customer_id: s.customerId,
      plan_id: s.plan.plan_id,
      status: r.weighted(STATUS_SPELLING[s.status]),
      started_at: dirtyDate(r, s.start),
      canceled_at: s.status === 'canceled' ? dirtyDate(r, s.cancel!) : null,
      is_deleted: s.deleted ? r.weighted(DELETED_TRUE) : r.weighted(DELETED_FALSE),
      updated_at: dirtyTs(r, at),
    };
    this.out.subscriptions.push(row);
    if (r.chance(0.02)) this.out.subscriptions.push({ ...row }); // exact duplicate
  }

  /** A failed payment leaves the subscription past_due until a charge succeeds. */
  private pastDue(s: Sub, at: number): void {
    if (s.status !== 'active') return;
    s.status = 'past_due';
    this.subRow(s, at);
  }

  private recovered(s: Sub, at: number): void {
    if (s.status !== 'past_due') return;
    s.status = 'active';
    this.subRow(s, at);
  }

  // ------------------------------------------------------------ payments

  private charge(s: Sub, k: number, at: number): void {
    if (s.status === 'canceled' || s.deleted) return;
    const r = this.r;
    const plan = s.plan;
    const bank = r.chance(0.06) ? null : r.pick(BANKS).bank_id;
    const outcome = r.weighted<PayStatus>([['succeeded', 90], ['failed', 6], ['refunded', 4]]);
    const updated = at + r.int(1, 30) * 1000;
    if (outcome === 'failed') {
      const payment_id = this.nextPay++;
      this.payment({ payment_id, subscription_id: s.id, bank_id: bank, amount: r.chance(0.4) ? null : dirtyAmount(r, plan.price), status: 'failed', paid: at, updated });
      if (this.customers[s.customerId - 1]) this.out.happenings.push({ kind: 'payment_failed', at: updated, customerId: s.customerId, subscriptionId: s.id, paymentId: payment_id });
      this.pastDue(s, updated + 1000);
      // Dunning: a retry a few days later usually works.
      const retry = at + r.int(1, 4) * DAY;
      if ((s.cancel === null || retry < s.cancel) && r.chance(0.85)) this.agenda.push(retry, { kind: 'retry', s, bank });
    } else if (outcome === 'refunded') {
      const base = { payment_id: this.nextPay++, subscription_id: s.id, bank_id: bank, amount: dirtyAmount(r, plan.price), paid: at };
      // Usually both versions are exported: first 'succeeded', then the later 'refunded'.
      if (r.chance(0.7)) this.payment({ ...base, status: 'succeeded', updated });
      this.agenda.push(at + r.int(1, 14) * DAY, { kind: 'refund', base });
      this.recovered(s, updated + 1000);
    } else {
      this.payment({ payment_id: this.nextPay++, subscription_id: s.id, bank_id: bank, amount: dirtyAmount(r, plan.price), status: 'succeeded', paid: at, updated });
      this.recovered(s, updated + 1000);
    }
    const due = addMonths(s.start, (k + 1) * (plan.billing_period === 'annual' ? 12 : 1));
    if (s.cancel === null || due < s.cancel) this.agenda.push(atTime(r, dayOf(due)), { kind: 'charge', s, k: k + 1 });
  }

  private payment(p: PaymentFacts): void {
    const r = this.r;
    const row: Row = {
      payment_id: p.payment_id,
      subscription_id: p.subscription_id,
      bank_id: p.bank_id,
      amount: p.amount,
      currency: dirtyCurrency(r),
      status: r.weighted(PAY_SPELLING[p.status]),
      paid_at: dirtyTs(r, p.paid),
      updated_at: dirtyTs(r, p.updated),
    };
    this.out.payments.push(row);
    if (r.chance(0.012)) this.out.payments.push({ ...row }); // the loader retried a batch
  }
}
