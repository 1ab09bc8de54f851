/**
 * The HTTP source tests' fixtures: a small JSON API on a local server (every pagination style,
 * an incremental parameter, auth, faults to inject) and a source on a fake clock.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import type { RecordBatch, StreamInfo } from '../../src/ingest/source.js';
import { HttpSource } from '../../src/ingest/sources/http/http-source.js';
import { httpConnector } from '../../src/ingest/sources/http/index.js';

export const TOKEN = 's3cr3t-t0ken-value';

export interface Item { id: number; updated_at: number; name: string }
export type Fault = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean;

/**
 * A small JSON API: `/items/<style>` pages the items by page number, offset,
 * cursor or Link header; `since` filters on updated_at (> since). Requests need
 * `Authorization: Bearer TOKEN` (a 401 echoes the header it got, as careless
 * servers do, to prove smelt scrubs it). Faults answer the next requests first.
 */
/** A started Api holding items 1…n for the tests of the enclosing describe (stopped after them). */
export function serveItems(n: number): Api {
  const api = new Api();
  api.add(1, n);
  beforeAll(() => api.start());
  afterAll(() => api.stop());
  return api;
}

export class Api {
  items: Item[] = [];
  hits: { url: URL; headers: IncomingMessage['headers'] }[] = [];
  faults: Fault[] = [];
  log: string[] = [];
  base = '';
  private server?: Server;

  add(from: number, to: number) {
    for (let i = from; i <= to; i++) this.items.push({ id: i, updated_at: i, name: `n${i}` });
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.base;
  }

  async stop() {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  /** Forgets the requests seen and the faults queued, between tests on one server. */
  reset() {
    this.hits = [];
    this.log = [];
    this.faults = [];
  }

  paths(): string[] {
    return this.hits.map((h) => `${h.url.pathname}${h.url.search}`);
  }

  private json(res: ServerResponse, body: unknown, headers: Record<string, string> = {}) {
    res.writeHead(200, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  private handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url!, this.base);
    this.hits.push({ url, headers: req.headers });
    this.log.push(`GET ${url.pathname}${url.search}`);
    const fault = this.faults.shift();
    if (fault && fault(req, res, url)) return;
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'bad credentials', got: req.headers.authorization ?? null }));
      return;
    }
    const q = url.searchParams;
    const since = q.has('since') ? Number(q.get('since')) : -Infinity;
    const rows = this.items.filter((x) => x.updated_at > since);
    const style = url.pathname.split('/').pop();
    const size = Number(q.get('per_page') ?? q.get('limit') ?? 1000);
    switch (style) {
      case 'none':
        return this.json(res, rows);
      case 'page': {
        const page = Number(q.get('page') ?? 1);
        return this.json(res, { data: { items: rows.slice((page - 1) * size, page * size) } });
      }
      case 'offset': {
        const offset = Number(q.get('offset') ?? 0);
        return this.json(res, { results: rows.slice(offset, offset + size), total: rows.length });
      }
      case 'cursor': {
        const after = q.has('cursor') ? Number(Buffer.from(q.get('cursor')!, 'base64url').toString()) : 0;
        const slice = rows.filter((x) => x.id > after).slice(0, size);
        const last = slice[slice.length - 1];
        const more = last && rows.some((x) => x.id > last.id);
        return this.json(res, { items: slice, meta: { next: more ? Buffer.from(String(last!.id)).toString('base64url') : null } });
      }
      case 'link': {
        const page = Number(q.get('page') ?? 1);
        const slice = rows.slice((page - 1) * size, page * size);
        const links = [`<${this.base}/items/link?page=1&per_page=${size}>; rel="first"`];
        if (page * size < rows.length) {
          const next = new URLSearchParams(q);
          next.set('page', String(page + 1));
          links.push(`</items/link?${next}>; rel="next"`); // relative, as many APIs send
        }
        return this.json(res, slice, { link: links.join(', ') });
      }
      default:
        res.writeHead(404);
        res.end('no such endpoint');
    }
  }
}

export const pagination: Record<string, Record<string, unknown>> = {
  page: { type: 'page', page_param: 'page', size_param: 'per_page', page_size: 25 },
  offset: { type: 'offset', offset_param: 'offset', size_param: 'limit', page_size: 30 },
  // Pages of 100 are split into batches of 40/60: resuming mid-page is exercised.
  cursor: { type: 'cursor', cursor_param: 'cursor', cursor_path: 'meta.next', size_param: 'limit', page_size: 100 },
  link: { type: 'link', size_param: 'per_page', page_size: 50 },
};
const recordsPath: Record<string, string | undefined> = { page: 'data.items', offset: 'results', cursor: 'items', link: undefined };

export const streamConfig = (style: string, extra: Record<string, unknown> = {}) => ({
  path: `/items/${style}`,
  ...(recordsPath[style] ? { records_path: recordsPath[style] } : {}),
  pagination: pagination[style] ?? { type: 'none' },
  incremental: { param: 'since', cursor_field: 'updated_at' },
  primary_key: ['id'],
  ...extra,
});

export const sourceConfig = (base: string, style: string, extra: Record<string, unknown> = {}, streamExtra: Record<string, unknown> = {}) => ({
  type: 'http',
  base_url: base,
  headers: { Authorization: `Bearer ${TOKEN}` },
  streams: { items: streamConfig(style, streamExtra) },
  backoff_ms: 1,
  max_backoff_ms: 5,
  ...extra,
});

/** A source with a fake clock: sleeps are logged (in the server's log too, to see the order) and return at once. */
export function harness(api: Api, raw: Record<string, unknown>, sourceName = 'api') {
  let clock = 1_000_000;
  const sleeps: number[] = [];
  const src = new HttpSource(httpConnector.parseConfig(raw), { projectDir: process.cwd(), sourceName }, {
    now: () => clock,
    random: () => 1,
    sleep: async (ms) => {
      sleeps.push(ms);
      api.log.push(`sleep ${ms}`);
      clock += ms;
    },
  });
  const stream: StreamInfo = { name: 'items', positionFields: [{ name: 'url', type: 'varchar' }, { name: 'index', type: 'bigint' }] };
  const readAll = async (state?: unknown, batchSize = 1000) => {
    const batches: RecordBatch[] = [];
    for await (const b of src.read(stream, { state, batchSize })) batches.push(b);
    return batches;
  };
  return { src, stream, sleeps, readAll, tick: (ms: number) => (clock += ms) };
}

/** A record's value: the source hands on each record's text as the API wrote it. */
export const recordOf = (r: { data?: Record<string, unknown>; raw?: string | Uint8Array }): Record<string, unknown> => {
  if (r.data) return r.data;
  try {
    return typeof r.raw === 'string' ? JSON.parse(r.raw) : {};
  } catch {
    return {};
  }
};
export const idsOf = (batches: RecordBatch[]) => batches.flatMap((b) => b.records.map((r) => Number(recordOf(r).id)));
export const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
