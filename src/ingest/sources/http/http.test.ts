/** The HTTP source's reads: the contract per pagination style, pages, incremental state, records, config. Client behaviour: http-client.test.ts. */
import { describe, expect, it } from 'vitest';
import { describeSource } from '../../../../test/contract/source-contract.js';
import { Api, harness, idsOf, range, recordOf, serveItems, sourceConfig, type Fault } from '../../../../test/helpers/http-api.js';
import type { RecordBatch } from '../../source.js';
import { HttpSourceError } from './client.js';
import { maxCursor, nextLink, type HttpState } from './http-source.js';
import { httpConnector } from './index.js';

for (const style of ['page', 'offset', 'cursor', 'link']) {
  describe(`pagination: ${style}`, () => {
    const api = new Api();
    describeSource('http', {
      connector: httpConnector,
      async setup(count) {
        api.add(1, count);
        const base = await api.start();
        return { config: sourceConfig(api.base, style), stream: 'items', projectDir: process.cwd() };
      },
      async append(from, to) {
        api.add(from, to);
      },
      idOf: (r) => Number(recordOf(r).id),
      brokenConfig: () => ({ ...sourceConfig('http://127.0.0.1:1', style), retries: 0 }),
      teardown: () => api.stop(),
    });
  });
}
const lastState = (batches: RecordBatch[]) => batches[batches.length - 1]!.state as HttpState;

describe('http source', () => {
  const api = serveItems(100);
  const reset = () => api.reset();
  it('follows Link headers (relative URLs, several rels) and stops without rel="next"', async () => {
    expect(nextLink('<https://x/a?page=1>; rel="first", <https://x/a?page=3>; rel="next", <https://x/a?page=9>; rel="last"')).toBe('https://x/a?page=3');
    expect(nextLink('<https://x/a?page=2>; rel="prev next"')).toBe('https://x/a?page=2');
    expect(nextLink('<https://x/a?page=1>; rel="first"')).toBeUndefined();
    expect(nextLink(null)).toBeUndefined();
    reset();
    const h = harness(api, sourceConfig(api.base, 'link', {}, { pagination: { type: 'link', size_param: 'per_page', page_size: 30 } }));
    const batches = await h.readAll();
    expect(idsOf(batches)).toEqual(range(1, 100));
    expect(api.paths()).toEqual(['/items/link?per_page=30', '/items/link?per_page=30&page=2', '/items/link?per_page=30&page=3', '/items/link?per_page=30&page=4']);
    expect(batches[1]!.records[0]!.position).toEqual({ url: `${api.base}/items/link?per_page=30&page=2`, index: 0 });
  });

  it('reads a next-page URL from the body (next_url_path)', async () => {
    reset();
    let n = 0;
    const body = (page: number) => ({ rows: api.items.slice((page - 1) * 40, page * 40), links: { next: page < 3 ? `${api.base}/items/none?p=${page + 1}` : null } });
    api.faults.push(...[1, 2, 3].map((p): Fault => (_q, res) => (n++, res.writeHead(200), res.end(JSON.stringify(body(p))), true)));
    const h = harness(api, sourceConfig(api.base, 'none', {}, { records_path: 'rows', pagination: { type: 'link', next_url_path: 'links.next' } }));
    expect(idsOf(await h.readAll())).toEqual(range(1, 100));
    expect(n).toBe(3);
    expect(api.paths()).toEqual(['/items/none', '/items/none?p=2', '/items/none?p=3']);
  });

  it('sends the incremental parameter on the next run (and `initial` on the first)', async () => {
    reset();
    const h = harness(api, sourceConfig(api.base, 'page'));
    const first = await h.readAll();
    expect(idsOf(first)).toEqual(range(1, 100));
    expect(api.hits.every((x) => !x.url.searchParams.has('since'))).toBe(true);
    expect(lastState(first)).toEqual({ cursor: 100 });
    reset();
    api.add(101, 110);
    const second = await h.readAll(lastState(first));
    expect(idsOf(second)).toEqual(range(101, 110));
    expect(api.hits.map((x) => x.url.searchParams.get('since'))).toEqual(['100']);
    expect(lastState(second)).toEqual({ cursor: 110 });
    // Nothing new: the cursor stays.
    expect(lastState(await h.readAll(lastState(second)))).toEqual({ cursor: 110 });
    api.items = api.items.slice(0, 100);

    reset();
    const h2 = harness(api, sourceConfig(api.base, 'page', {}, { incremental: { param: 'since', cursor_field: 'updated_at', initial: 90 } }));
    expect(idsOf(await h2.readAll())).toEqual(range(91, 100));
    expect(api.hits[0]!.url.searchParams.get('since')).toBe('90');
  });

  it('resumes mid-page and mid-pagination with the same incremental value', async () => {
    reset();
    const h = harness(api, sourceConfig(api.base, 'offset', {}, { pagination: { type: 'offset', page_size: 30 } }));
    const batches = await h.readAll({ cursor: 20 }, 12);
    expect(idsOf(batches)).toEqual(range(21, 100));
    expect(batches.every((b) => b.records.length <= 12)).toBe(true);
    for (let cut = 1; cut < batches.length; cut++) {
      const rest = await h.readAll(batches[cut - 1]!.state, 12);
      expect([...idsOf(batches.slice(0, cut)), ...idsOf(rest)]).toEqual(range(21, 100));
      expect(lastState(rest)).toEqual({ cursor: 100 });
    }
    const mid = batches[3]!.state as HttpState;
    expect(mid).toEqual({ cursor: 20, run: { since: 20, next: { offset: 30 }, skip: 12, max: 62 } });
  });

  it('an empty last page commits the final state in an empty batch (page size unknown)', async () => {
    reset();
    const h = harness(api, sourceConfig(api.base, 'page', {}, { params: { per_page: 50 }, pagination: { type: 'page' } }));
    const batches = await h.readAll();
    expect(batches.map((b) => b.records.length)).toEqual([50, 50, 0]);
    expect(lastState(batches)).toEqual({ cursor: 100 });
  });

  it('stops with an error when the API ignores the paging parameters', async () => {
    reset();
    const h = harness(api, sourceConfig(api.base, 'none', {}, { pagination: { type: 'page' } }));
    const err = await h.readAll().catch((e) => e);
    expect(err.message).toMatch(/same page again/);
    expect(api.hits).toHaveLength(2);
  });

  it('a malformed JSON page stops the stream with a clear error; the next run retries that page', async () => {
    reset();
    api.faults.push(() => false, (_q, res) => (res.writeHead(200, { 'content-type': 'application/json' }), res.end('{"data": {"items": [{"id": 26, '), true));
    const h = harness(api, sourceConfig(api.base, 'page'));
    const got: RecordBatch[] = [];
    const err = await (async () => {
      for await (const b of h.src.read(h.stream, { batchSize: 1000 })) got.push(b);
    })().catch((e) => e);
    expect(err).toBeInstanceOf(HttpSourceError);
    expect(err.message).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/items\/page\?per_page=25&page=2: the response is not valid JSON \(.*\); it starts with: \{"data"/);
    expect(idsOf(got)).toEqual(range(1, 25));
    expect(api.hits).toHaveLength(2); // not retried: the same request gets the same bytes
    const rest = await h.readAll(lastState(got));
    expect(idsOf(rest)).toEqual(range(26, 100));
  });

  it('hands on each record as the API wrote it: spacing, key order, integers past 2^53, escapes', async () => {
    reset();
    const body = '{"meta": {"n": 2}, "data": {"items": "first", "items": [ {"id": 1, "big": 9007199254740993 } ,{"id":2,"s":"a]},\\"{"}\n, 7 ]}}';
    api.faults.push((_q, res) => (res.writeHead(200), res.end(body), true));
    const recs = (await harness(api, sourceConfig(api.base, 'none', {}, { records_path: 'data.items' })).readAll()).flatMap((b) => b.records);
    expect(recs.map((r) => [r.raw, r.error])).toEqual([
      ['{"id": 1, "big": 9007199254740993 }', undefined],
      ['{"id":2,"s":"a]},\\"{"}', undefined],
      ['7', 'expected a JSON object, got number'],
    ]);
  });

  it('records_path missing from the response is an error that lists the keys', async () => {
    reset();
    const err = await harness(api, sourceConfig(api.base, 'page', {}, { records_path: 'data.rows' })).readAll().catch((e) => e);
    expect(err.message).toMatch(/records_path 'data\.rows' is not in the response/);
    expect(err.hint).toMatch(/top-level keys: data/);
  });

  it('non-object records are marked bad (they become dead letters), objects load', async () => {
    reset();
    api.faults.push((_q, res) => (res.writeHead(200), res.end(JSON.stringify([{ id: 1 }, 2, 'x', null, [1], { id: 3 }])), true));
    const batches = await harness(api, sourceConfig(api.base, 'none')).readAll();
    const recs = batches.flatMap((b) => b.records);
    expect(recs.map((r) => r.error ?? 'ok')).toEqual(['ok', 'expected a JSON object, got number', 'expected a JSON object, got string', 'expected a JSON object, got null', 'expected a JSON object, got an array', 'ok']);
    expect(recs[1]!.raw).toBe('2');
    expect(lastState(batches)).toEqual({});
  });

  it('validates its config strictly', () => {
    expect(() => httpConnector.parseConfig({ ...sourceConfig(api.base, 'page'), retry: 3 })).toThrow(/unknown option 'retry'/);
    expect(() => httpConnector.parseConfig(sourceConfig(api.base, 'none', {}, { pagination: { type: 'cursor' } }))).toThrow(/cursor_path/);
    expect(() => httpConnector.parseConfig(sourceConfig(api.base, 'none', {}, { pagination: { type: 'page', cursor_path: 'x' } }))).toThrow(/cursor_path/);
    expect(() => httpConnector.parseConfig({ ...sourceConfig(api.base, 'none'), base_url: 'not a url' })).toThrow(/base_url/);
    const c = httpConnector.parseConfig({ type: 'http', base_url: api.base, streams: { a: { path: '/a' } } });
    expect(c.retries).toBe(5);
    expect(c.streams.a!.pagination).toEqual({ type: 'none' });
  });

  it('orders cursor values numerically or as text', () => {
    expect(maxCursor(9, 10)).toBe(10);
    expect(maxCursor('9', '10')).toBe('10');
    expect(maxCursor('2024-01-02T00:00:00Z', '2024-01-10T00:00:00Z')).toBe('2024-01-10T00:00:00Z');
    expect(maxCursor(undefined, 'a')).toBe('a');
  });

  it('check() makes one request and returns a reason on failure', async () => {
    reset();
    const h = harness(api, sourceConfig(api.base, 'page'));
    expect(await h.src.check()).toEqual({ ok: true });
    expect(api.hits).toHaveLength(1);
    reset();
    api.faults.push((_q, res) => (res.writeHead(500), res.end(), true));
    const r = await h.src.check();
    expect(r).toEqual({ ok: false, reason: expect.stringMatching(/^stream items: GET .* failed after 1 attempt: HTTP 500/) });
    expect(api.hits).toHaveLength(1);
  });
});
