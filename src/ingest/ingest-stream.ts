/**
 * Runs one stream end to end: resume from the stored state, read batches,
 * write each with its state in one transaction, acknowledge to the source
 * only after the commit (Kafka group offsets), report what happened.
 */
import { randomUUID } from 'node:crypto';
import { AbortedError, ConfigError } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import type { Connection, Warehouse } from '../storage/warehouse.js';
import { BronzeWriter, type BatchOutcome } from './bronze-writer.js';
import type { PreparedBatch } from './prepare-batch.js';
import { streamTable, type ResolvedSource } from './declarations.js';
import type { SchemaChange } from './normalize.js';
import { getSourceConnector } from './registry.js';
import { readState } from './state.js';
import { FILE_BATCH_ROWS, fileFolder, fileRows, LINES_BATCH_ROWS, linesRows } from './file-batches.js';
import { rm } from 'node:fs/promises';
import type { FileOffer } from './source.js';

/** Lines batches the warehouse may hand back in a row before the stream's lines are read as records for the rest of the run. */
const GIVE_UP_AFTER = 4;

/** A cancellation, ours or the platform's (`AbortSignal` rejections are DOMExceptions named AbortError). */
const isAbort = (e: unknown) => e instanceof AbortedError || (e instanceof Error && e.name === 'AbortError');

/** A JSON copy of a batch state: what the warehouse stores, and safe from later changes by the source. */
const snapshot = (state: unknown): unknown => (state === undefined ? undefined : JSON.parse(JSON.stringify(state)));

export interface StreamRunOptions {
  readonly projectDir: string;
  readonly signal?: AbortSignal;
  /** Ignore the stored state and rebuild the bronze table from everything the source has (replayable sources only). */
  readonly fullRefresh?: boolean;
  /** Keep reading until aborted (continuous sources). */
  readonly follow?: boolean;
  /**
   * With `follow`: ends the stream cleanly (Ctrl-C). What was committed stays and the step
   * succeeds; a batch read but not yet loaded is read again next time. `signal` still cancels.
   */
  readonly stop?: AbortSignal;
  readonly onBatch?: (b: { rows: number; deadLetters: number; changes: readonly SchemaChange[] }) => void;
}

export interface StreamRunOutcome {
  readonly rows: number;
  readonly deadLetters: number;
  readonly batches: number;
  readonly changes: SchemaChange[];
  readonly message: string;
  /**
   * The step deserves a WARN: dead letters, a full refresh the source could not give (bronze and
   * state were kept), or nothing ever landed (no bronze table, so the models reading it fail).
   * `message` says which.
   */
  readonly warning: boolean;
}

export async function ingestStream(src: ResolvedSource, streamName: string, wh: Warehouse, conn: Connection, opts: StreamRunOptions): Promise<StreamRunOutcome> {
  const connector = await getSourceConnector(src.options.type, src.file);
  const source = await connector.create(src.config, { projectDir: opts.projectDir, sourceName: src.name });
  try {
    const streams = await source.discover({ signal: opts.signal }).catch((e: unknown) => {
      // A config option the catalog refutes (a cursor column that does not exist): name its file and line.
      if (e instanceof ConfigError && !e.location) {
        throw new ConfigError(`sources.${src.name}: ${e.message}`, { location: { file: src.file, line: e.keyPath && src.locate?.(e.keyPath) }, hint: e.hint, cause: e });
      }
      throw e;
    });
    const stream = streams.find((s) => s.name === streamName);
    if (!stream) {
      throw new ConfigError(`source ${src.name} has no stream '${streamName}'`, {
        location: { file: src.file },
        hint: didYouMean(streamName, streams.map((s) => s.name)) ?? `streams: ${streams.map((s) => s.name).join(', ')}`,
      });
    }
    // A full refresh rebuilds bronze from a fresh read, which only a replayable source can give in
    // full: a Kafka topic past its retention would leave bronze with less than it had (or nothing).
    const refreshSkipped = Boolean(opts.fullRefresh) && !connector.capabilities.replayable && src.options.disposition !== 'replace';
    const replace = src.options.disposition === 'replace' || (Boolean(opts.fullRefresh) && !refreshSkipped);
    const state = replace ? undefined : await readState(conn, wh.dialect, src.name, streamName);
    const table = streamTable(src, streamName);
    const writer = new BronzeWriter(wh, conn, src.name, stream, table, src.options, replace, replace && !opts.fullRefresh);
    let rows = 0;
    let deadLetters = 0;
    let batches = 0;
    let lastState: unknown = state;
    let batchId: string = randomUUID();
    const changes: SchemaChange[] = [];
    // One batch ahead: the next batch is read and prepared (normalized, laid out) while the
    // warehouse commits the current one, so the source and the JavaScript work overlap the
    // warehouse's own. Batches still load and commit strictly in order, each with its own state,
    // so exactly-once is unchanged; a prepared batch whose predecessor failed is never loaded.
    // Where the warehouse parses files itself, a source that can write CSV hands its rows over as files.
    const acceptsFiles = await writer.acceptsFiles();
    const acceptsLines = writer.acceptsLines();
    const dir = acceptsFiles || acceptsLines ? await fileFolder(opts.projectDir, src.name, streamName) : undefined;
    const files: FileOffer | undefined = acceptsFiles
      ? { dir: dir!, rows: fileRows(Math.max(src.options.batch_size, FILE_BATCH_ROWS), wh.capabilities.rowGroupRows) }
      : undefined;
    const jsonLines = acceptsLines ? { dir: dir!, rows: linesRows(LINES_BATCH_ROWS, wh.capabilities.rowGroupRows) } : undefined;
    const stopped = () => Boolean(opts.follow && opts.stop?.aborted && !opts.signal?.aborted);
    const readSignal = opts.follow && opts.stop ? (opts.signal ? AbortSignal.any([opts.signal, opts.stop]) : opts.stop) : opts.signal;
    const it = source.read(stream, { state, batchSize: src.options.batch_size, signal: readSignal, follow: opts.follow, files, jsonLines })[Symbol.asyncIterator]();
    const ahead = (): Promise<PreparedBatch | undefined> => {
      const p = it.next().then((r) => {
        if (r.done) return undefined;
        // The state as it is at the yield: the source may change its own objects once it resumes.
        return writer.prepare({ ...r.value, state: snapshot(r.value.state) }, randomUUID());
      });
      p.catch(() => undefined); // awaited below, or dropped when a load failed first
      return p;
    };
    /** A batch is committed: count it, and acknowledge its state to the source. */
    const committed = async (prepared: PreparedBatch, out: BatchOutcome) => {
      batchId = prepared.batchId;
      lastState = prepared.batch.state;
      rows += out.rows;
      deadLetters += out.deadLetters;
      batches++;
      changes.push(...out.changes);
      opts.onBatch?.(out);
      if (!replace) await source.commit?.(stream, prepared.batch.state, { signal: opts.signal });
    };
    let refusals = 0;
    /**
     * A lines batch: all parts at once; where the warehouse hands them back, each part on its own;
     * where it hands a single part back, that part's records as ordinary batches, in order.
     * `reading` starts the read of the next batch: once the warehouse is parsing, or at a commit.
     */
    const loadLines = async (prepared: PreparedBatch, reading: () => void): Promise<void> => {
      try {
        await loadLinesOnce(prepared, reading);
      } finally {
        // Files the source wrote for this load (Kafka's batches) are done with, loaded or not.
        for (const part of prepared.batch.lines!.parts) if (part.temporary) await rm(part.path, { force: true });
      }
    };
    const loadLinesOnce = async (prepared: PreparedBatch, reading: () => void): Promise<void> => {
      // A stream whose lines the warehouse keeps handing back (dirty files) is read as records:
      // asking again for every file would only add the cost of each refused statement.
      if (refusals < GIVE_UP_AFTER) {
        const out = await writer.loadLines(prepared, reading);
        if (out) {
          refusals = 0;
          return committed(prepared, out);
        }
        refusals++;
      }
      const { parts, lineField, lineFields } = prepared.batch.lines!;
      if (parts.length > 1) {
        for (const part of parts) {
          await loadLinesOnce(await writer.prepare({ records: [], state: snapshot(part.state), lines: { parts: [part], lineField, lineFields } }, randomUUID()), reading);
        }
        return;
      }
      for await (const b of parts[0]!.fallback()) {
        const p = await writer.prepare({ ...b, state: snapshot(b.state) }, randomUUID());
        await committed(p, await writer.load(p, reading));
      }
    };
    let next = ahead();
    let done = false;
    try {
      for (;;) {
        let prepared: PreparedBatch | undefined;
        try {
          prepared = await next;
        } catch (e) {
          // Stopped while following: the read ends here, every batch before it is committed. Any
          // other failure (a broker error, a batch that cannot be prepared) is still the step's error.
          if (!stopped() || !isAbort(e)) throw e;
        }
        if (!prepared) {
          done = true;
          break;
        }
        let started = false;
        const reading = () => {
          if (started) return;
          next = ahead();
          started = true;
        };
        if (prepared.batch.lines) {
          // The warehouse parses the lines on its own threads: read ahead (e.g. hash the next file,
          // write Kafka's next lines file) meanwhile, once its statement is on its way: a source's
          // synchronous work run before that would only delay the load. Safe as for any batch: a
          // batch prepared against a shape the fallback then changed is prepared again.
          await loadLines(prepared, reading);
          reading();
          continue;
        }
        // A file the warehouse parses on its own threads: the source writes the next file meanwhile
        // (a PostgreSQL COPY), instead of waiting for the commit with its connection paused.
        if (prepared.batch.file) reading();
        const out = await writer.load(prepared, started ? undefined : reading);
        if (!started) next = ahead();
        await committed(prepared, out);
      }
    } finally {
      // A read still in flight (a load failed) is not waited for: it may wait for new data without
      // end (follow). return() runs once that read settles; source.close() below makes it settle.
      const closing = it.return?.(undefined);
      if (done) await closing;
      else closing?.catch(() => undefined);
      if (dir) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
    if (replace) {
      await writer.finish(lastState, batchId);
      await source.commit?.(stream, lastState, { signal: opts.signal });
    }
    // A stream that has never landed anything (a glob with a typo, an empty topic) leaves no table:
    // say so, and why where the source can tell, rather than let the models that read it fail later.
    let notLanded: string | undefined;
    if (batches === 0 && !(await wh.describe(table))) {
      const c = await source.check({ signal: opts.signal, stream: streamName }).catch(() => undefined);
      notLanded = `nothing landed yet, so ${table.schema}.${table.name} does not exist${c && !c.ok && c.reason ? `: ${c.reason}` : ''}`;
    }
    const parts = [
      notLanded ?? '',
      deadLetters ? `${deadLetters} dead letter${deadLetters === 1 ? '' : 's'} in smelt_state.dead_letters` : '',
      changes.length ? `${changes.length} schema change${changes.length === 1 ? '' : 's'}` : '',
      stopped() ? 'stopped by Ctrl-C' : '',
      refreshSkipped ? `not fully refreshed: a ${src.options.type} source cannot re-read all it landed, so its rows and position were kept and it read on from there` : '',
    ].filter(Boolean);
    const warning = deadLetters > 0 || refreshSkipped || notLanded !== undefined;
    return { rows, deadLetters, batches, changes, warning, message: `ingest ${table.schema}.${table.name}${parts.length ? ` (${parts.join(', ')})` : ''}` };
  } finally {
    await source.close();
  }
}
