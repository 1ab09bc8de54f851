/**
 * What the SQL database sources (PostgreSQL, MySQL) share around their drivers: one
 * metadata connection, streams resolved once (and again after a failure), check and
 * discover on top of that, connection errors told apart from query errors, and a close
 * that ends every session. A subclass brings its driver: connect, end or destroy a
 * session, describe a stream, scrub secrets from text, and read.
 */
import { AbortedError, ConfigError } from '../../../core/errors.js';
import type { CallOptions, CheckResult, ReadOptions, RecordBatch, Source, StreamInfo } from '../../source.js';
import type { StreamSpec } from './config.js';
import { connectionReason, SourceConnectionError } from './errors.js';
import type { ResolvedStream } from './plan.js';

export abstract class SqlSource<Conn> implements Source {
  /** `PostgreSQL at host:port/db`: names the database in errors. */
  protected abstract readonly where: string;
  protected abstract readonly specs: readonly StreamSpec[];
  protected abstract readonly connectTimeoutMs: number;
  /** Sessions this source opened and has not ended yet. */
  protected readonly open = new Set<Conn>();
  private meta?: Promise<Conn>;
  private streams?: Promise<Map<string, ResolvedStream>>;

  /** A connected session, registered in `open`; a SourceConnectionError with a clean reason when it fails. */
  protected abstract connect(): Promise<Conn>;
  /** Ends a session (`broken`: it may be mid-statement, so it is destroyed rather than ended). */
  protected abstract end(conn: Conn, broken: boolean): Promise<void>;
  /** Columns, key and relation of one declared stream. */
  protected abstract describe(conn: Conn, spec: StreamSpec): Promise<ResolvedStream>;
  /** The text without any secret of this source's settings. */
  protected abstract clean(text: string): string;
  /** Does this driver error mean the connection, not the statement, failed? */
  protected abstract isConnectionError(e: { code?: string; fatal?: boolean }): boolean;
  abstract read(stream: StreamInfo, opts: ReadOptions): AsyncIterable<RecordBatch>;

  protected async release(conn: Conn, broken: boolean): Promise<void> {
    this.open.delete(conn);
    await this.end(conn, broken);
  }

  private metaConn(): Promise<Conn> {
    this.meta ??= this.connect();
    this.meta.catch(() => (this.meta = undefined));
    return this.meta;
  }

  /** An error of a statement for `stream`, as a SourceConnectionError with a clean reason. */
  protected queryError(e: unknown, stream: string): Error {
    if (e instanceof AbortedError || e instanceof ConfigError || e instanceof SourceConnectionError) return e;
    const err = e as { message?: string; code?: string; fatal?: boolean };
    if (err && (this.isConnectionError(err) || ['ECONNRESET', 'EPIPE', 'ECONNREFUSED'].includes(String(err.code)))) {
      return new SourceConnectionError(this.clean(connectionReason(e, this.where, this.connectTimeoutMs)), { cause: e });
    }
    return new SourceConnectionError(this.clean(`stream ${stream}: ${this.where}: ${String(err?.message ?? e).split('\n')[0]}`), { cause: e });
  }

  private resolve(): Promise<Map<string, ResolvedStream>> {
    if (!this.streams) {
      this.streams = (async () => {
        const conn = await this.metaConn();
        const out = new Map<string, ResolvedStream>();
        for (const spec of this.specs) {
          try {
            out.set(spec.name, await this.describe(conn, spec));
          } catch (e) {
            throw this.queryError(e, spec.name);
          }
        }
        return out;
      })();
      this.streams.catch(() => (this.streams = undefined));
    }
    return this.streams;
  }

  /** The resolved stream of a read, or a ConfigError naming the source type. */
  protected async resolved(stream: StreamInfo, type: string, opts: ReadOptions): Promise<ResolvedStream> {
    const r = (await this.resolve()).get(stream.name);
    if (!r) throw new ConfigError(`${type} source has no stream '${stream.name}'`);
    if (opts.signal?.aborted) throw new AbortedError('cancelled');
    return r;
  }

  async check(_opts?: CallOptions): Promise<CheckResult> {
    try {
      await this.resolve();
      return { ok: true };
    } catch (e) {
      return { ok: false, reason: this.clean(e instanceof Error ? e.message : String(e)) };
    }
  }

  async discover(_opts?: CallOptions): Promise<StreamInfo[]> {
    return [...(await this.resolve()).values()].map((r) => r.info);
  }

  async close(): Promise<void> {
    const meta = this.meta;
    this.meta = undefined;
    this.streams = undefined;
    if (meta) await meta.then((c) => this.release(c, false), () => undefined);
    for (const c of [...this.open]) await this.release(c, true);
  }
}
