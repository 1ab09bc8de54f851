/**
 * HTTP JSON APIs: one endpoint per stream, paged by page number, offset, cursor
 * or Link header, optionally incremental (the largest `cursor_field` seen is
 * sent back in `param` on the next run).
 *
 * Batches: one per page; a page larger than the batch size is split, and an
 * empty last page still yields an (empty) batch that commits the final state.
 *
 * State (JSON):
 *   { cursor?: <largest cursor_field of every completed run>,
 *     run?: { since?, next, skip, max? } }   // only while a run is mid-pagination
 * `run.next` is the page being read (`{page}`, `{offset}`, `{cursor}` or `{url}`),
 * `run.skip` how many of its records are already committed, `run.since` the
 * incremental value this run sends (kept, so a resumed run asks the same
 * question), `run.max` the largest cursor seen so far. A crash resumes at that
 * page and skips the committed records; this assumes the API serves the same
 * page again for the same request (stable order), as paged APIs must anyway.
 *
 * Position fields: `url`, the page's request URL (with the stream's configured
 * query parameters left out, so no API key lands in bronze), and `index`, the
 * record's 0-based index in that page's records.
 *
 * A page whose body is not JSON (or lacks `records_path`) fails the stream with
 * an error naming the URL: its records cannot be counted, nor the next page
 * found, so dead-lettering it would lose data silently. The committed state
 * still points at that page, so the next run retries it.
 */
import { AbortedError } from '../../../core/errors.js';
import type { CheckResult, RecordBatch, ReadOptions, Source, SourceContext, SourceRecord, StreamInfo, CallOptions } from '../../source.js';
import { HttpClient, HttpSourceError, type HttpHooks, type HttpResponse } from './client.js';
import type { HttpConfig, HttpPagination, HttpStreamConfig } from './config.js';
import { recordTexts } from './json-spans.js';

type CursorValue = string | number;

/** The page a request asks for. `undefined` values mean "the first page". */
export interface PageRef {
  page?: number;
  offset?: number;
  cursor?: string;
  url?: string;
}

export interface HttpState {
  /** Incremental high-water mark: the largest cursor_field of every completed run. */
  cursor?: CursorValue;
  /** Set while a run is mid-pagination. */
  run?: { since?: CursorValue; next: PageRef; skip: number; max?: CursorValue };
}

/** `a.b.0.c` in a parsed JSON value. */
export function getPath(value: unknown, path: string): unknown {
  let v: unknown = value;
  for (const k of path.split('.')) {
    if (v === null || v === undefined || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

const isNumeric = (v: unknown) => typeof v === 'number' || (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)));

/** Orders cursor values: numerically when both are numbers, else as text (ISO timestamps sort as text). */
export function maxCursor(a: CursorValue | undefined, b: CursorValue | undefined): CursorValue | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  if (isNumeric(a) && isNumeric(b)) return Number(b) > Number(a) ? b : a;
  return String(b) > String(a) ? b : a;
}

/** The URL of `rel="next"` in a Link header (RFC 8288). */
export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m && /;\s*rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?\s*(;|$)/i.test(m[2]!)) return m[1];
  }
  return undefined;
}

export class HttpSource implements Source {
  private readonly client: HttpClient;

  constructor(private readonly cfg: HttpConfig, private readonly ctx: SourceContext, hooks: HttpHooks = {}) {
    this.client = new HttpClient(cfg, hooks, `${ctx.projectDir}\0${ctx.sourceName}`);
  }

  private endpoint(s: HttpStreamConfig): URL {
    if (/^https?:\/\//i.test(s.path)) return new URL(s.path);
    return new URL(`${this.cfg.base_url.replace(/\/+$/, '')}/${s.path.replace(/^\/+/, '')}`);
  }

  /** The request for one page: configured params, incremental value and paging params. */
  private requestUrl(s: HttpStreamConfig, ref: PageRef, since: CursorValue | undefined): URL {
    const p = s.pagination;
    const url = ref.url ? new URL(ref.url, this.endpoint(s)) : this.endpoint(s);
    const set = (k: string, v: unknown) => url.searchParams.set(k, String(v));
    for (const [k, v] of Object.entries(s.params)) set(k, v);
    if (s.incremental && since !== undefined) set(s.incremental.param, since);
    if (ref.url) return url; // the server built the rest of it
    if (p.type !== 'none' && p.page_size !== undefined && p.size_param) set(p.size_param, p.page_size);
    if (p.type === 'page') set(p.page_param, ref.page ?? p.start_page);
    else if (p.type === 'offset') set(p.offset_param, ref.offset ?? 0);
    else if (p.type === 'cursor' && ref.cursor !== undefined) set(p.cursor_param, ref.cursor);
    return url;
  }

  /** A URL without the stream's configured query parameters (which may hold keys): for positions and state. */
  private publicUrl(s: HttpStreamConfig, url: URL | string): string {
    const u = new URL(String(url));
    for (const k of Object.keys(s.params)) u.searchParams.delete(k);
    return this.client.scrub(u.toString());
  }

  async check(opts?: CallOptions): Promise<CheckResult> {
    for (const [name, s] of Object.entries(this.cfg.streams)) {
      const since = s.incremental?.initial;
      const url = this.requestUrl(s, {}, since);
      try {
        const res = await this.client.get(url.toString(), { signal: opts?.signal, retries: 0, timeoutMs: Math.min(this.cfg.timeout_ms, 10_000) });
        this.parse(s, res);
      } catch (e) {
        if (e instanceof AbortedError) throw e;
        return { ok: false, reason: this.client.scrub(`stream ${name}: ${e instanceof Error ? e.message : String(e)}`) };
      }
      break; // one request: the first stream answers for the host and the credentials
    }
    return { ok: true };
  }

  async discover(): Promise<StreamInfo[]> {
    return Object.entries(this.cfg.streams).map(([name, s]) => ({
      name,
      primaryKey: s.primary_key,
      positionFields: [{ name: 'url', type: 'varchar' }, { name: 'index', type: 'bigint' }],
    }));
  }

  /**
   * Parses a page: its records, each record's text as the API wrote it (where it can be found:
   * raw landing keeps it, typed landing reads its numbers exactly), and the body (for the next cursor).
   */
  private parse(s: HttpStreamConfig, res: HttpResponse): { body: unknown; records: unknown[]; texts?: string[] } {
    const page = this.parseBody(s, res);
    if (page.records.length === 0) return page;
    const texts = recordTexts(res.body, s.records_path);
    return texts?.length === page.records.length ? { ...page, texts } : page;
  }

  private parseBody(s: HttpStreamConfig, res: HttpResponse): { body: unknown; records: unknown[] } {
    let body: unknown;
    try {
      body = res.body.trim() === '' ? null : JSON.parse(res.body);
    } catch (e) {
      const snippet = res.body.replace(/\s+/g, ' ').slice(0, 120);
      throw new HttpSourceError(this.client.scrub(`GET ${res.url}: the response is not valid JSON (${(e as Error).message}); it starts with: ${snippet}`), {
        status: res.status,
        hint: 'the stream stops at this page; the next run retries it',
      });
    }
    if (s.records_path) {
      const at = getPath(body, s.records_path);
      if (at === null) return { body, records: [] };
      if (!Array.isArray(at)) {
        throw new HttpSourceError(this.client.scrub(`GET ${res.url}: records_path '${s.records_path}' ${at === undefined ? 'is not in the response' : `is ${typeof at}, not an array`}`), {
          hint: `top-level keys: ${body && typeof body === 'object' ? Object.keys(body).slice(0, 10).join(', ') : typeof body}`,
        });
      }
      return { body, records: at };
    }
    if (body === null) return { body, records: [] };
    return { body, records: Array.isArray(body) ? body : [body] };
  }

  /** Where the next page is, or undefined when this was the last. */
  private nextRef(p: HttpPagination, params: Record<string, unknown>, ref: PageRef, res: HttpResponse, body: unknown, count: number): PageRef | undefined {
    if (p.type === 'none' || count === 0) return undefined;
    switch (p.type) {
      case 'page':
        if (p.page_size !== undefined && count < p.page_size) return undefined;
        return { page: (ref.page ?? p.start_page) + 1 };
      case 'offset':
        if (count < p.page_size) return undefined;
        return { offset: (ref.offset ?? 0) + count };
      case 'cursor': {
        const c = getPath(body, p.cursor_path);
        if (c === null || c === undefined || c === '' || c === false) return undefined;
        if (typeof c === 'object') throw new HttpSourceError(this.client.scrub(`GET ${res.url}: cursor_path '${p.cursor_path}' is an ${Array.isArray(c) ? 'array' : 'object'}, not a cursor`));
        if (String(c) === ref.cursor) throw new HttpSourceError(this.client.scrub(`GET ${res.url}: the API returned the same cursor again ('${p.cursor_path}'); stopping instead of looping`));
        return { cursor: String(c) };
      }
      case 'link': {
        const next = p.next_url_path ? getPath(body, p.next_url_path) : nextLink(res.headers.get('link'));
        if (typeof next !== 'string' || next === '') return undefined;
        const abs = new URL(next, res.url);
        if (abs.toString() === res.url) throw new HttpSourceError(this.client.scrub(`GET ${res.url}: the next link points at the same page; stopping instead of looping`));
        // Stored in the state: without the configured parameters (keys), which every request sets again.
        for (const k of Object.keys(params)) abs.searchParams.delete(k);
        return { url: abs.toString() };
      }
    }
  }

  async *read(stream: StreamInfo, opts: ReadOptions): AsyncIterable<RecordBatch> {
    const s = this.cfg.streams[stream.name];
    if (!s) throw new HttpSourceError(`http source ${this.ctx.sourceName} has no stream '${stream.name}'`);
    const prev = (opts.state as HttpState | undefined) ?? {};
    const committed = prev.cursor;
    const since = prev.run ? prev.run.since : (committed ?? s.incremental?.initial);
    let ref: PageRef | undefined = prev.run?.next ?? {};
    let skip = prev.run?.skip ?? 0;
    let max = prev.run?.max;
    let lastBody: string | undefined;
    const batchSize = Math.max(1, opts.batchSize);
    const final = (): HttpState => (s.incremental ? { cursor: maxCursor(committed, max) } : {});

    while (ref) {
      if (opts.signal?.aborted) throw new AbortedError('cancelled');
      const url = this.requestUrl(s, ref, since);
      const res = await this.client.get(url.toString(), { signal: opts.signal });
      const { body, records, texts } = this.parse(s, res);
      if (lastBody !== undefined && records.length > 0 && res.body === lastBody) {
        throw new HttpSourceError(this.client.scrub(`GET ${res.url}: the API returned the same page again; does it ignore the paging parameters?`));
      }
      lastBody = res.body;
      const next = this.nextRef(s.pagination, s.params, ref, res, body, records.length);
      const position = this.publicUrl(s, url);
      const page = ref;
      // A resumed page may be shorter now than when its first part was committed.
      let i = Math.min(skip, records.length);
      do {
        const end = Math.min(records.length, i + batchSize);
        const out: SourceRecord[] = [];
        for (let j = i; j < end; j++) {
          const r = records[j];
          const pos = { url: position, index: j };
          if (r !== null && typeof r === 'object' && !Array.isArray(r)) {
            out.push(texts ? { raw: texts[j]!, position: pos } : { data: r as Record<string, unknown>, position: pos });
            if (s.incremental) {
              const c = getPath(r, s.incremental.cursor_field);
              if (typeof c === 'string' || typeof c === 'number') max = maxCursor(max, c);
            }
          } else {
            out.push({ raw: texts?.[j] ?? JSON.stringify(r) ?? String(r), error: `expected a JSON object, got ${Array.isArray(r) ? 'an array' : r === null ? 'null' : typeof r}`, position: pos });
          }
        }
        i = end;
        const pageDone = i >= records.length;
        let state: HttpState;
        if (!pageDone) state = { ...(committed !== undefined ? { cursor: committed } : {}), run: { since, next: page, skip: i, max } };
        else if (next) state = { ...(committed !== undefined ? { cursor: committed } : {}), run: { since, next, skip: 0, max } };
        else state = final();
        yield { records: out, state: JSON.parse(JSON.stringify(state)) };
        if (!pageDone && opts.signal?.aborted) throw new AbortedError('cancelled');
      } while (i < records.length);
      skip = 0;
      ref = next;
    }
  }

  async close(): Promise<void> {}
}
