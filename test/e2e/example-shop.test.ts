/**
 * The shop example end to end, as a new user meets it: `smelt init` copies it, `smelt run`
 * ingests two years of a simulated business (the generator source) and builds it, a second
 * `smelt run` ingests the next simulated day incrementally, and the gold and silver tables hold
 * sensible numbers after each run. Checks read `.smelt/target/run_results.json` and the
 * warehouse rather than the wording of the output. Needs a fresh build of the CLI (`npm run build`).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResults, StepResult } from '../../src/transform/run/results.js';
import { runCli, type CliResult } from '../helpers/project.js';

let tmp: string;
let dir: string;

const STREAMS = ['customers', 'plans', 'subscriptions', 'payments', 'banks', 'events'] as const;

const explain = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

function query(sql: string): Record<string, unknown>[] {
  const r = runCli(['query', sql, '--format', 'json', '--limit', '0', '--project-dir', dir]);
  expect(r.code, explain(r)).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>[];
}

/** `smelt run`, which must succeed; returns what it recorded. */
function run(): RunResults {
  const r = runCli(['run', '--project-dir', dir]);
  expect(r.code, explain(r)).toBe(0);
  const results = JSON.parse(readFileSync(join(dir, '.smelt/target/run_results.json'), 'utf8')) as RunResults;
  expect(results.command).toBe('run');
  const failed = results.results.filter((s) => s.status !== 'success' && s.status !== 'pass' && s.status !== 'warn');
  expect(failed.map((s) => `${s.id}: ${s.status} ${s.message}`)).toEqual([]);
  expect(results.summary.error).toBe(0);
  return results;
}

const step = (r: RunResults, id: string): StepResult => {
  const s = r.results.find((x) => x.id === id);
  expect(s, `${id} ran`).toBeDefined();
  return s!;
};

function bronzeCounts(): Record<string, number> {
  const [row] = query(`select ${STREAMS.map((s) => `(select count(*) from bronze.shop_${s}) as ${s}`).join(', ')}`);
  return Object.fromEntries(STREAMS.map((s) => [s, Number(row![s])]));
}

const monthsBetween = (first: string, last: string) => {
  const out: string[] = [];
  for (let d = new Date(`${first}T00:00:00Z`); d <= new Date(`${last}T00:00:00Z`); d.setUTCMonth(d.getUTCMonth() + 1)) out.push(d.toISOString().slice(0, 10));
  return out;
};

/** The properties gold and silver keep after every run, whatever the simulated day. */
function checkGoldAndSilver(lastMonth: string): void {
  // mrr_by_month: one row per month from the start to the newest month, in order, with a consistent bridge.
  const rows = query('select * from gold.mrr_by_month');
  const months = rows.map((r) => String(r.month_start));
  expect(months).toEqual(monthsBetween('2023-01-01', lastMonth));
  let previous = 0;
  for (const r of rows) {
    const mrr = Number(r.mrr);
    expect(mrr).toBeGreaterThanOrEqual(0);
    expect(Number(r.active_subscriptions)).toBeGreaterThan(0);
    expect(Number(r.previous_mrr)).toBeCloseTo(previous, 2);
    expect(mrr).toBeCloseTo(previous + Number(r.new_mrr) - Number(r.churned_mrr), 2);
    previous = mrr;
  }
  // A growing business: more MRR at the end than at the start.
  expect(Number(rows[rows.length - 1]!.mrr)).toBeGreaterThan(Number(rows[0]!.mrr));

  // churn_by_month: rates between 0 and 1, some churn.
  const churn = query('select * from gold.churn_by_month order by month_start');
  expect(churn.length).toBe(months.length);
  for (const r of churn) {
    for (const c of ['subscription_churn_rate', 'customer_churn_rate', 'revenue_churn_rate']) {
      if (r[c] === null) continue;
      expect(Number(r[c])).toBeGreaterThanOrEqual(0);
      expect(Number(r[c])).toBeLessThanOrEqual(1);
    }
  }
  expect(churn.some((r) => Number(r.churned_subscriptions) > 0)).toBe(true);

  // net_revenue_by_plan: refunds netted out, every plan earns.
  const plans = query('select * from gold.net_revenue_by_plan');
  expect(plans.length).toBe(6);
  for (const r of plans) {
    expect(Number(r.net_revenue)).toBeCloseTo(Number(r.gross_revenue) - Number(r.refunds), 2);
    expect(Number(r.net_revenue)).toBeGreaterThan(0);
  }

  // Silver is clean (one row per customer, lower-case trimmed emails, deduped payments, parsed
  // amounts, event payloads parsed into columns) while bronze really is dirty.
  const [q] = query(`
    select
      (select count(*) from silver.stg_customers) as customers,
      (select count(distinct customer_id) from silver.stg_customers) as customer_ids,
      (select count(*) from silver.stg_customers where email <> lower(trim(email))) as dirty_emails,
      (select count(*) from bronze.shop_customers) as raw_customers,
      (select count(distinct customer_id) from bronze.shop_customers) as raw_customer_ids,
      (select count(*) from silver.fct_payments) as payments,
      (select count(distinct payment_id) from silver.fct_payments) as payment_ids,
      (select count(*) from silver.fct_payments where amount is null and status <> 'failed') as unparsed,
      (select count(*) from bronze.shop_payments) as raw_payments,
      (select count(distinct payment_id) from bronze.shop_payments) as raw_payment_ids,
      (select count(*) from silver.stg_events) as events,
      (select count(distinct event_id) from silver.stg_events) as event_ids,
      (select count(device_os) from silver.stg_events) as events_with_os,
      (select count(feature) from silver.stg_events) as events_with_feature`);
  const n = (k: string) => Number(q![k]);
  expect(n('customers')).toBeGreaterThanOrEqual(250);
  expect(n('customer_ids')).toBe(n('customers'));
  expect(n('dirty_emails')).toBe(0);
  expect(n('raw_customers')).toBeGreaterThan(n('raw_customer_ids'));
  expect(n('payment_ids')).toBe(n('payments'));
  expect(n('unparsed')).toBe(0);
  expect(n('raw_payments')).toBeGreaterThan(n('raw_payment_ids'));
  expect(n('raw_payment_ids')).toBe(n('payments'));
  expect(n('events')).toBeGreaterThan(1000);
  expect(n('event_ids')).toBe(n('events'));
  expect(n('events_with_os')).toBeGreaterThan(0);
  expect(n('events_with_feature')).toBeGreaterThan(0);
}

describe('examples/shop', () => {
  let first: RunResults;
  let firstCounts: Record<string, number>;

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'smelt-shop-'));
    dir = join(tmp, 'p');
  });
  afterAll(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  it('smelt init scaffolds the project, its data coming from a generator source', () => {
    const r = runCli(['init', dir]);
    expect(r.code, explain(r)).toBe(0);
    expect(readFileSync(join(dir, 'smelt.config.ts'), 'utf8')).toContain(`name: 'p'`);
    expect(readFileSync(join(dir, 'sources/shop.ts'), 'utf8')).toMatch(/generatorSource\(/);
    expect(existsSync(join(dir, 'seeds'))).toBe(false);
  });

  it('the first smelt run ingests two years of history and builds with no errors', () => {
    first = run();
    // Every stream was ingested into bronze.
    for (const s of STREAMS) {
      const ingest = step(first, `source.shop.${s}`);
      expect(ingest.kind).toBe('ingest');
      expect(ingest.status).toBe('success'); // no dead letters: bad_record_rate is 0 in the example
      expect(ingest.rowsAffected).toBeGreaterThan(0);
    }
    // The unit tests ran too (a failing one would count as an error).
    const units = first.results.filter((s) => s.kind === 'unit_test');
    expect(units.map((s) => s.name)).toContain('merges_new_and_changed_payments');
    expect(units.every((s) => s.status === 'pass')).toBe(true);
    firstCounts = bronzeCounts();
    for (const s of STREAMS) expect(firstCounts[s]).toBe(step(first, `source.shop.${s}`).rowsAffected);
    // fct_payments was built in full: every payment went through it.
    const [f] = query('select count(*) as n from silver.fct_payments');
    expect(step(first, 'model.fct_payments').rowsAffected).toBe(Number(f!.n));
    // The stream states stop at the last day of the history.
    const states = query(`select stream, state from smelt_state.ingest_state where source = 'shop'`);
    expect(states.length).toBe(STREAMS.length);
    for (const s of states) expect(JSON.parse(String(s.state))).toMatchObject({ day: '2024-12-31', offset: 0 });
  });

  it('after the first run, gold covers 2023-01 .. 2024-12 and keeps its properties', () => {
    checkGoldAndSilver('2024-12-01');
  });

  it('a second smelt run ingests only the next simulated day, and takes the incremental path', () => {
    const second = run();
    const counts = bronzeCounts();
    for (const s of STREAMS) {
      const ingest = step(second, `source.shop.${s}`);
      expect(ingest.status).toBe('success');
      // Only what happened on 2025-01-01 was read: bronze grew by exactly that.
      expect(counts[s]).toBe(firstCounts[s]! + ingest.rowsAffected!);
      expect(ingest.rowsAffected!).toBeLessThan(Math.max(1, firstCounts[s]! / 50));
    }
    expect(counts.payments).toBeGreaterThan(firstCounts.payments!);
    expect(counts.events).toBeGreaterThan(firstCounts.events!);
    const [newest] = query(`select max(_smelt_day) as d, min(_smelt_day) as first_day from bronze.shop_events`);
    expect(String(newest!.d)).toBe('2025-01-01');
    const [late] = query(`select count(*) as n from bronze.shop_payments where _smelt_day = cast('2025-01-01' as date)`);
    expect(Number(late!.n)).toBe(counts.payments! - firstCounts.payments!);
    for (const s of query(`select state from smelt_state.ingest_state where source = 'shop'`)) {
      expect(JSON.parse(String(s.state))).toMatchObject({ day: '2025-01-01', offset: 0 });
    }
    // fct_payments merged the new payments only.
    const [f] = query('select count(*) as n from silver.fct_payments');
    const merged = step(second, 'model.fct_payments').rowsAffected!;
    expect(merged).toBeGreaterThan(0);
    expect(merged).toBeLessThan(Number(f!.n) / 50);
  });

  it('after the second run, gold reaches 2025-01 and still keeps its properties', () => {
    checkGoldAndSilver('2025-01-01');
  });
});

describe('examples/shop with smelt build (issue 2: init, build, query)', () => {
  let buildTmp: string;
  beforeAll(() => {
    buildTmp = mkdtempSync(join(tmpdir(), 'smelt-shop-build-'));
  });
  afterAll(() => rmSync(buildTmp, { recursive: true, force: true }));

  it('the first build loads the streams that were never ingested, later builds read bronze as it is', () => {
    const p = join(buildTmp, 'p');
    expect(runCli(['init', p]).code).toBe(0);
    const first = runCli(['build', '--project-dir', p]);
    expect(first.code, explain(first)).toBe(0);
    const r1 = JSON.parse(readFileSync(join(p, '.smelt/target/run_results.json'), 'utf8')) as RunResults;
    expect(r1.results.filter((s) => s.kind === 'ingest').map((s) => s.id).sort()).toEqual(STREAMS.map((s) => `source.shop.${s}`).sort());
    expect(r1.summary.error).toBe(0);

    const second = runCli(['build', '--project-dir', p]);
    expect(second.code, explain(second)).toBe(0);
    const r2 = JSON.parse(readFileSync(join(p, '.smelt/target/run_results.json'), 'utf8')) as RunResults;
    expect(r2.results.filter((s) => s.kind === 'ingest')).toEqual([]);
    expect(r2.results.filter((s) => s.kind === 'model').length).toBeGreaterThan(10);

    const q = runCli(['query', 'select * from gold.mrr_by_month limit 5', '--format', 'json', '--project-dir', p]);
    expect(q.code, explain(q)).toBe(0);
    const rows = JSON.parse(q.stdout) as { month_start: string; mrr: number }[];
    expect(rows).toHaveLength(5);
    expect(rows[0]!.month_start).toBe('2023-01-01');
    expect(rows.every((r) => typeof r.mrr === 'number')).toBe(true);
  });
});
