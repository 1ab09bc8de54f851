/**
 * The source connector interface: a factory plus a small lifecycle
 * (check → discover → read batches → commit → close), an AbortSignal on every
 * call, and capabilities declared as data. Adding a connector means one folder
 * under sources/ with the same files as the others, and passing the contract
 * suite in test/contract/source-contract.ts.
 */
import type { LogicalType } from '../core/types.js';

export interface CallOptions {
  readonly signal?: AbortSignal;
}

/** What a connector can do, as data: the loader reads these, never the connector's name. */
export interface SourceCapabilities {
  /** Reads only what changed since the stored state. */
  readonly incremental: boolean;
  /** Can keep reading new data until aborted (`smelt ingest --follow`). */
  readonly continuous: boolean;
  /** Needs an acknowledgement after the warehouse commit (Kafka group offsets). */
  readonly externalCommit: boolean;
  /** Streams know their column types (database catalogs, Parquet). */
  readonly typedColumns: boolean;
  /**
   * A read with no stored state may replace what bronze holds: it gives again everything the source
   * gave before (files, database tables) or starts the same history over (the generator's simulated
   * time), so `--full-refresh` may rebuild bronze from it. Not where data ages out (Kafka's retention)
   * or an API may serve only recent data: a full refresh leaves those alone.
   */
  readonly replayable: boolean;
}

export interface StreamColumn {
  readonly name: string;
  readonly type: LogicalType;
  /** Engine type of the source column, for the record (e.g. `numeric(12,2)`). */
  readonly sourceType?: string;
  /** Decimals: the declared precision and scale, when the source has them (no value has more digits). */
  readonly digits?: Digits;
}

/** Most digits a decimal column's values have: `precision` in all, `scale` of them after the point. */
export interface Digits {
  readonly precision: number;
  readonly scale: number;
}

/** One table-like stream a source offers (a table, a topic, a file set, an endpoint). */
export interface StreamInfo {
  readonly name: string;
  /** Columns, when the source knows them (databases, Parquet). Otherwise inferred from records. */
  readonly columns?: readonly StreamColumn[];
  readonly primaryKey?: readonly string[];
  /**
   * The stream's reads repeat rows by design (a database stream in mode 'dedup', or with a lookback):
   * bronze merges it on `primaryKey` whatever the disposition, so a row read twice is kept once.
   */
  readonly mergeOnKey?: boolean;
  /** Names and types of the position fields each record carries (e.g. partition + offset). */
  readonly positionFields: readonly StreamColumn[];
}

/**
 * One record. Either `data` (already parsed) or `raw` text/bytes the loader could
 * not parse is set; `error` marks a record the connector already knows is bad.
 */
export interface SourceRecord {
  readonly data?: Record<string, unknown>;
  readonly raw?: string | Uint8Array;
  readonly error?: string;
  /** Where the record came from: values for the stream's positionFields. */
  readonly position: Readonly<Record<string, unknown>>;
}

/** A batch and the stream state that holds once it is committed. */
export interface RecordBatch {
  readonly records: readonly SourceRecord[];
  /** The state to store with this batch, in the same transaction. JSON-serializable. */
  readonly state: unknown;
  /**
   * Delete earlier rows whose position fields equal these values, in the same
   * transaction, before inserting (a changed file replaces its old rows).
   */
  readonly supersedes?: Readonly<Record<string, unknown>>;
  /** The batch's rows as a CSV file instead of `records` (only when the read was offered `files`). */
  readonly file?: CsvChunk;
  /** The batch's records as NDJSON lines of a file instead of `records` (only when the read was offered `jsonLines`). */
  readonly lines?: JsonLinesChunk;
}

/**
 * NDJSON files, or their rest from a line on, for the warehouse to parse itself
 * (`Connection.loadJsonLines`) instead of `records`: one part per file, loaded together in one
 * transaction. The batch's `state` holds once every part is loaded. Where the warehouse does not
 * take the lines as they are (a bad record, a new column…), the loader rolls back and loads the
 * parts one by one, and a part it still does not take as that part's `fallback()`: the same records
 * as ordinary batches, each with its own state.
 */
export interface JsonLinesChunk {
  readonly parts: readonly JsonLinesPart[];
  /** The position field that holds the line number (a file's lines), if any. */
  readonly lineField?: string;
  /**
   * Position fields that each line carries itself, in this order, before its record: each value's
   * JSON text followed by the byte 0x01, then the record's JSON (`JsonLinesLoadInput.lineFields`).
   */
  readonly lineFields?: readonly string[];
}

/** The lines of one file after `afterLine`, each positioned at `position` plus its line number. */
export interface JsonLinesPart {
  readonly path: string;
  readonly afterLine: number;
  /** Position fields with one value for every line (e.g. the file). */
  readonly position: Readonly<Record<string, unknown>>;
  /** The state once this part and the ones before it are loaded. */
  readonly state: unknown;
  /** As `RecordBatch.supersedes`, for this part. */
  readonly supersedes?: Readonly<Record<string, unknown>>;
  /** Written by the source for this load (in `ReadOptions.jsonLines.dir`): the loader deletes it once loaded or fallen back. */
  readonly temporary?: boolean;
  fallback(): AsyncIterable<RecordBatch>;
}

/**
 * Rows written by the source as a CSV file that the warehouse parses itself: no
 * per-value JavaScript work. RFC 4180 (`"` quotes, `""` inside), `\n` line ends,
 * no header; NULL is an unquoted empty field, an empty string is `""`. Values are
 * in canonical text: booleans `true`/`false`, numbers in decimal (`nan`, `inf`,
 * `-inf`), dates `YYYY-MM-DD`, timestamps ISO 8601 with an offset, JSON as JSON
 * text, blobs as base64.
 */
export interface CsvChunk {
  /** Written by the source; the loader deletes it once loaded. */
  readonly path: string;
  /** The stream's data columns, then its position fields, then anything else (ignored), in file order. */
  readonly columns: readonly StreamColumn[];
  readonly rows: number;
  /** Bytes of the file's longest record without its newline, when the source knows it (a loader sizes its line buffer by it). */
  readonly longestLine?: number;
}

/** Offered by the loader when its warehouse parses CSV files itself. */
export interface FileOffer {
  /** Folder for the files (the loader cleans it up). */
  readonly dir: string;
  /** Rows per file (each file is one batch). */
  readonly rows: number;
}

export interface ReadOptions extends CallOptions {
  /** Stored state of the stream from the last committed batch, or undefined for a first or full run. */
  readonly state?: unknown;
  /** Keep reading new data until aborted (continuous sources). */
  readonly follow?: boolean;
  /** Soft cap on records per batch. */
  readonly batchSize: number;
  /** The batches may be CSV files (`RecordBatch.file`) instead of records, when the source can write them. */
  readonly files?: FileOffer;
  /**
   * The batches may be NDJSON lines (`RecordBatch.lines`) that the warehouse parses itself; a
   * source that writes its own lines files (Kafka) puts them in `dir`, `rows` lines to a file
   * (or its batch size, if larger).
   */
  readonly jsonLines?: { readonly dir: string; readonly rows: number };
}

export interface CheckResult {
  readonly ok: boolean;
  readonly reason?: string;
}

export interface CheckOptions extends CallOptions {
  /** Check only what this stream needs (e.g. that its files exist); by default, every stream. */
  readonly stream?: string;
}

export interface Source {
  /** Can we reach the system with these settings? Returns a reason instead of throwing. */
  check(opts?: CheckOptions): Promise<CheckResult>;
  discover(opts?: CallOptions): Promise<StreamInfo[]>;
  read(stream: StreamInfo, opts: ReadOptions): AsyncIterable<RecordBatch>;
  /** Called after a batch's state is committed in the warehouse. */
  commit?(stream: StreamInfo, state: unknown, opts?: CallOptions): Promise<void>;
  close(): Promise<void>;
}

export interface SourceContext {
  readonly projectDir: string;
  readonly sourceName: string;
}

export interface SourceConnector<Cfg = unknown> {
  readonly type: string;
  readonly displayName: string;
  readonly capabilities: SourceCapabilities;
  /** Validates the connector's own settings; throws ConfigError. */
  parseConfig(raw: unknown): Cfg;
  /** Stream names the config declares, without I/O: compile uses them to put streams in the DAG. */
  declaredStreams(config: Cfg): string[];
  /**
   * A stream's primary key as the config states it, without I/O, for the checks `smelt check` can
   * make (a merge stream with no key). Leave it out where the source finds keys itself (a
   * database's catalog, the generator's own streams).
   */
  declaredKeys?(config: Cfg, stream: string): readonly string[];
  create(config: Cfg, ctx: SourceContext): Promise<Source>;
}
