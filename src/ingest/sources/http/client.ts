/**
 * The HTTP client of the http source: global fetch with a per-request timeout,
 * retries with exponential backoff and jitter on 408/429/5xx and network
 * errors (Retry-After honored), a requests-per-second limit, and secret
 * scrubbing of every message it produces (header values, key-like query
 * parameters and env() values never appear in errors).
 */
import { AbortedError, SmeltError } from '../../../core/errors.js';
import { redact } from '../../../core/redact.js';
import { SMELT_VERSION } from '../../../core/version.js';
import type { HttpConfig } from './config.js';

/** An HTTP source request failed for good (after retries, or a non-retryable status / bad body). */
export class HttpSourceError extends SmeltError {
  override readonly code = 'E_SOURCE_HTTP';
  /** HTTP status of the last response, when there was one. */
  readonly status?: number;
  constructor(message: string, opts: { status?: number; hint?: string } = {}) {
    super(message, { hint: opts.hint });
    this.status = opts.status;
  }
}

/** Injected in tests: a fake clock and sleep make retry and rate-limit timing observable without waiting. */
export interface HttpHooks {
  sleep?(ms: number, signal?: AbortSignal): Promise<void>;
  now?(): number;
  random?(): number;
}

export interface HttpResponse {
  readonly url: string;
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
  /** How many attempts it took (1 = no retry). */
  readonly attempts: number;
}

/** Waiting longer than this on a Retry-After is treated as a failure, not a pause. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;
const RETRYABLE = (s: number) => s === 408 || s === 429 || s >= 500;
/** Headers whose values are not secrets. Every other header value is scrubbed from messages. */
const PUBLIC_HEADERS = new Set(['accept', 'accept-encoding', 'accept-language', 'content-type', 'user-agent', 'cache-control']);
/** Query parameters whose values are scrubbed from messages, positions and state. */
export const SECRET_PARAM = /key|token|secret|pass|auth|sig|credential|session/i;

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError('cancelled'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new AbortedError('cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `Retry-After: 120` or an HTTP date → milliseconds from now (never negative). */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function describeNetworkError(e: unknown): string {
  if (e instanceof Error) {
    if (e.name === 'TimeoutError') return 'timed out';
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.code ?? cause?.message;
    return detail && !e.message.includes(detail) ? `${e.message} (${detail})` : e.message;
  }
  return String(e);
}

/**
 * The next request slot under `rate_limit`, one per source in this process (by project and source
 * name): a source's streams are read by clients of their own, and the API's limit is the source's.
 */
const slots = new Map<string, { next: number }>();

export class HttpClient {
  private readonly secrets: string[];
  private readonly slot: { next: number };
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly now: () => number;
  private readonly random: () => number;
  readonly headers: Record<string, string>;

  /** `limitKey`: clients with the same key share `rate_limit` (HttpSource: the project and source). */
  constructor(private readonly cfg: HttpConfig, hooks: HttpHooks = {}, limitKey?: string) {
    let slot = limitKey === undefined ? undefined : slots.get(limitKey);
    if (!slot) {
      slot = { next: 0 };
      if (limitKey !== undefined) slots.set(limitKey, slot);
    }
    this.slot = slot;
    this.sleep = hooks.sleep ?? defaultSleep;
    this.now = hooks.now ?? Date.now;
    this.random = hooks.random ?? Math.random;
    this.headers = { accept: 'application/json', 'user-agent': `smelt/${SMELT_VERSION}`, ...cfg.headers };
    const secrets = new Set<string>();
    for (const [k, v] of Object.entries(cfg.headers)) {
      if (PUBLIC_HEADERS.has(k.toLowerCase())) continue;
      secrets.add(v);
      // `Bearer abc` / `Basic abc`: the credential alone must not show either.
      const m = /^\S+\s+(\S.*)$/.exec(v);
      if (m) secrets.add(m[1]!);
    }
    for (const s of Object.values(cfg.streams)) {
      for (const [k, v] of Object.entries(s.params)) if (SECRET_PARAM.test(k)) secrets.add(String(v));
    }
    // Longest first, so a token is scrubbed before a shorter value it contains.
    this.secrets = [...secrets].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  }

  /** Removes every secret this source knows (and every env() value) from `text`. */
  scrub(text: string): string {
    let out = text;
    for (const s of this.secrets) {
      out = out.split(s).join('***');
      const enc = encodeURIComponent(s);
      if (enc !== s) out = out.split(enc).join('***');
    }
    return redact(out);
  }

  /** Waits for the next request slot under `rate_limit` (requests per second). */
  private async throttle(signal?: AbortSignal): Promise<void> {
    if (!this.cfg.rate_limit) return;
    const interval = 1000 / this.cfg.rate_limit;
    const now = this.now();
    const at = Math.max(now, this.slot.next);
    this.slot.next = at + interval;
    if (at > now) await this.sleep(at - now, signal);
  }

  /** Exponential backoff with equal jitter: between half and all of base·2^attempt, capped. */
  backoff(attempt: number): number {
    const full = Math.min(this.cfg.max_backoff_ms, this.cfg.backoff_ms * 2 ** attempt);
    return Math.round(full / 2 + (full / 2) * this.random());
  }

  /**
   * GET `url` with retries. Resolves with a 2xx response and its body text; throws
   * HttpSourceError (scrubbed) otherwise, AbortedError when `signal` fires.
   */
  async get(url: string, opts: { signal?: AbortSignal; retries?: number; timeoutMs?: number } = {}): Promise<HttpResponse> {
    const retries = opts.retries ?? this.cfg.retries;
    const timeoutMs = opts.timeoutMs ?? this.cfg.timeout_ms;
    const signal = opts.signal;
    let last = '';
    let lastStatus: number | undefined;
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw new AbortedError('cancelled');
      await this.throttle(signal);
      let wait: number | undefined;
      const timeout = AbortSignal.timeout(timeoutMs);
      const reqSignal = signal ? AbortSignal.any([signal, timeout]) : timeout;
      try {
        const res = await fetch(url, { headers: this.headers, signal: reqSignal, redirect: 'follow' });
        if (res.ok) {
          const body = await res.text();
          return { url: res.url || url, status: res.status, headers: res.headers, body, attempts: attempt + 1 };
        }
        const text = await res.text().catch(() => '');
        lastStatus = res.status;
        const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 200);
        last = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${snippet ? `: ${snippet}` : ''}`;
        if (!RETRYABLE(res.status)) {
          throw new HttpSourceError(this.scrub(`GET ${url}: ${last}`), {
            status: res.status,
            hint: res.status === 401 || res.status === 403 ? 'check the credentials in the source\'s headers' : undefined,
          });
        }
        wait = parseRetryAfter(res.headers.get('retry-after'), this.now());
        if (wait !== undefined && wait > MAX_RETRY_AFTER_MS) {
          throw new HttpSourceError(this.scrub(`GET ${url}: ${last}; the server asks to retry after ${Math.round(wait / 1000)} s, longer than smelt waits (${MAX_RETRY_AFTER_MS / 1000} s)`), { status: res.status });
        }
      } catch (e) {
        if (e instanceof HttpSourceError) throw e;
        if (signal?.aborted) throw new AbortedError('cancelled', { cause: e });
        lastStatus = undefined;
        last = describeNetworkError(e);
      }
      if (attempt >= retries) {
        throw new HttpSourceError(this.scrub(`GET ${url} failed after ${attempt + 1} attempt${attempt ? 's' : ''}: ${last}`), { status: lastStatus });
      }
      await this.sleep(wait ?? this.backoff(attempt), signal);
    }
  }
}
