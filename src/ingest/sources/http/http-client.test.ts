/** The HTTP client's side of the source: retries and backoff, Retry-After, timeouts, secrets kept out of errors, rate_limit. */
import { describe, expect, it } from 'vitest';
import { harness, idsOf, range, serveItems, sourceConfig, TOKEN } from '../../../../test/helpers/http-api.js';
import { HttpSourceError, parseRetryAfter } from './client.js';

describe('http client', () => {
  const api = serveItems(100);
  const reset = () => api.reset();
  it('retries 500 and 429 responses and network errors, with growing backoff', async () => {
    reset();
    api.faults.push(
      (_q, res) => (res.writeHead(500), res.end('boom'), true),
      (_q, res) => (res.writeHead(429), res.end('slow down'), true),
      (req) => (req.socket.destroy(), true),
      (_q, res) => (res.writeHead(503), res.end(), true),
    );
    const h = harness(api, sourceConfig(api.base, 'none', { backoff_ms: 100, max_backoff_ms: 10_000 }));
    const batches = await h.readAll();
    expect(idsOf(batches)).toEqual(range(1, 100));
    expect(api.hits).toHaveLength(5);
    // random() = 1: the full exponential step each time.
    expect(h.sleeps).toEqual([100, 200, 400, 800]);
  });

  it('jitter keeps each backoff between half and all of the exponential step, capped at max_backoff_ms', async () => {
    reset();
    const h = harness(api, sourceConfig(api.base, 'none', { backoff_ms: 1000, max_backoff_ms: 3000, retries: 3 }));
    const client = (h.src as any).client;
    (client as any).random = () => 0;
    expect([0, 1, 2, 3].map((a) => client.backoff(a))).toEqual([500, 1000, 1500, 1500]);
    (client as any).random = () => 1;
    expect([0, 1, 2, 3].map((a) => client.backoff(a))).toEqual([1000, 2000, 3000, 3000]);
  });

  it('honors Retry-After (seconds and HTTP date) instead of its own backoff', async () => {
    reset();
    api.faults.push(
      (_q, res) => (res.writeHead(429, { 'retry-after': '7' }), res.end(), true),
      (_q, res) => (res.writeHead(503, { 'retry-after': new Date(1_000_000 + 7000 + 12_000).toUTCString() }), res.end(), true),
    );
    const h = harness(api, sourceConfig(api.base, 'none', { backoff_ms: 100 }));
    await h.readAll();
    // Clock: 1_000_000 → +7000 after the first sleep; the date is 12 s later than that.
    expect(api.log).toEqual(['GET /items/none', 'sleep 7000', 'GET /items/none', 'sleep 12000', 'GET /items/none']);
    expect(parseRetryAfter('1.5', 0)).toBe(1500);
    expect(parseRetryAfter('garbage', 0)).toBeUndefined();
  });

  it('gives up after `retries` retries with the last status in the message', async () => {
    reset();
    for (let i = 0; i < 10; i++) api.faults.push((_q, res) => (res.writeHead(502, { 'content-type': 'text/plain' }), res.end('bad gateway upstream'), true));
    const h = harness(api, sourceConfig(api.base, 'none', { retries: 3 }));
    const err = await h.readAll().catch((e) => e);
    expect(err).toBeInstanceOf(HttpSourceError);
    expect(err.message).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/items\/none failed after 4 attempts: HTTP 502 Bad Gateway: bad gateway upstream/);
    expect(api.hits).toHaveLength(4);
  });

  it('does not retry other 4xx responses', async () => {
    reset();
    const h = harness(api, sourceConfig(api.base, 'none', {}, { path: '/nowhere' }));
    const err = await h.readAll().catch((e) => e);
    expect(err.message).toMatch(/HTTP 404/);
    expect(err.status).toBe(404);
    expect(api.hits).toHaveLength(1);
  });

  it('times out slow responses and retries them', async () => {
    reset();
    api.faults.push(() => true); // never answers
    const h = harness(api, sourceConfig(api.base, 'none', { timeout_ms: 200 }));
    expect(idsOf(await h.readAll())).toEqual(range(1, 100));
    expect(api.hits).toHaveLength(2);
    reset();
    api.faults.push(() => true, () => true);
    const err = await harness(api, sourceConfig(api.base, 'none', { timeout_ms: 100, retries: 1 })).readAll().catch((e) => e);
    expect(err.message).toMatch(/failed after 2 attempts: timed out/);
  });

  it('sends the auth header and never shows it, nor key-like query parameters, in errors, positions or state', async () => {
    reset();
    const h = harness(api, sourceConfig(api.base, 'link', {}, { params: { api_key: 'key-9876-abcd', per_page: 50 } }));
    const batches = await h.readAll();
    expect(idsOf(batches)).toEqual(range(1, 100));
    expect(api.hits.every((x) => x.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(api.hits.every((x) => x.url.searchParams.get('api_key') === 'key-9876-abcd')).toBe(true);
    expect(JSON.stringify(batches.map((b) => [b.state, b.records.map((r) => r.position)]))).not.toMatch(/key-9876|s3cr3t/);

    // A 401 whose body echoes the credentials: the error says 401, not the token.
    reset();
    const bad = sourceConfig(api.base, 'none', { headers: { Authorization: 'Bearer wrong-token-123456' } }, { params: { api_key: 'key-9876-abcd' } });
    const err = await harness(api, bad).readAll().catch((e) => e);
    expect(err.message).toMatch(/HTTP 401/);
    expect(err.message).toContain('***');
    expect(err.message).not.toMatch(/wrong-token|key-9876/);
    expect(err.hint).toMatch(/credentials/);
    const check = await harness(api, bad).src.check();
    expect(check.ok).toBe(false);
    expect(check.reason).toMatch(/401/);
    expect(check.reason).not.toMatch(/wrong-token|key-9876/);
  });

  it('rate_limit spaces requests evenly', async () => {
    reset();
    const h = harness(api, sourceConfig(api.base, 'page', { rate_limit: 4 }, { pagination: { type: 'page', size_param: 'per_page', page_size: 10 } }));
    expect(idsOf(await h.readAll())).toEqual(range(1, 100));
    expect(api.hits).toHaveLength(11);
    // The fake clock only moves in sleeps: every request after the first waits its 250 ms slot.
    expect(h.sleeps).toEqual(Array(10).fill(250));
    expect(api.log.slice(0, 4)).toEqual(['GET /items/page?per_page=10&page=1', 'sleep 250', 'GET /items/page?per_page=10&page=2', 'sleep 250']);
  });

  it('rate_limit is the source\'s: a second stream\'s client waits for the slots the first one took', async () => {
    reset();
    const cfg = sourceConfig(api.base, 'page', { rate_limit: 4 }, { pagination: { type: 'page', size_param: 'per_page', page_size: 50 } });
    const first = harness(api, cfg, 'shared_limit');
    expect(idsOf(await first.readAll())).toEqual(range(1, 100));
    expect(first.sleeps).toEqual([250, 250]);
    // Another source object for the same source (as each stream gets): its clock is where the first one's began.
    const second = harness(api, cfg, 'shared_limit');
    expect(idsOf(await second.readAll())).toEqual(range(1, 100));
    expect(second.sleeps).toEqual([750, 250, 250]);
    // Another source has its own limit.
    const other = harness(api, cfg, 'other_api');
    await other.readAll();
    expect(other.sleeps).toEqual([250, 250]);
  });
});
