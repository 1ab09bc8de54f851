/**
 * The warehouse interface: the one contract every storage engine implements
 * (embedded DuckDB now, PostgreSQL next). It is deliberately small — a factory,
 * connections that execute and stream SQL, transactions, bulk loads and
 * introspection — so that adding an engine means one folder of the same files.
 *
 * Everything engine-specific hides behind `capabilities` (data) and `dialect`
 * (SQL builders). Code outside an adapter never branches on an engine's name.
 */
import type { ColumnInfo, LogicalType, Relation, Row } from '../core/types.js';

/** Options every call accepts. */
export interface CallOptions {
  readonly signal?: AbortSignal;
}

/** What an engine can do, declared as data (SQLMesh/dlt style). The planner reads these flags. */
export interface WarehouseCapabilities {
  /** DDL (create/rename/drop) can be rolled back inside a transaction. */
  readonly transactionalDdl: boolean;
  /** Several connections may write at once (parallel model builds). */
  readonly concurrentWrites: boolean;
  /** `MERGE INTO` is available. */
  readonly merge: boolean;
  /** `CREATE OR REPLACE VIEW` may change the view's columns. */
  readonly replaceViewChangesColumns: boolean;
  /** Native JSON column type (JSON, JSONB). */
  readonly jsonType: boolean;
  /** Can read CSV/Parquet/NDJSON files directly with SQL. */
  readonly readsFiles: boolean;
  /**
   * A bulk load fails on text that is not valid JSON in a JSON column (PostgreSQL's jsonb
   * input). Ingestion may then hand a record's JSON text over unparsed, and parse records
   * itself only when such a load fails.
   */
  readonly validatesJson: boolean;
  /** Text and JSON values may hold the NUL character (PostgreSQL's cannot: such a record is a dead letter). */
  readonly textHoldsNul: boolean;
  /**
   * Rows per storage row group, for engines that write them whole: a load of a multiple of it
   * leaves no partial group for the next checkpoint to merge and rewrite.
   */
  readonly rowGroupRows?: number;
}

export interface QueryResult {
  /** Column names and types, in order. */
  readonly columns: readonly ColumnInfo[];
  /** Rows as JSON-safe values: numbers, strings, booleans, null, arrays and objects. */
  readonly rows: readonly Row[];
  /** Rows inserted/updated/deleted, when the engine reports it. */
  readonly rowsAffected?: number;
}

export interface RelationInfo extends Relation {
  readonly kind: 'table' | 'view';
}

/** Rows to bulk-load: column definitions plus an async or sync iterable of row batches. */
export interface BulkLoadInput {
  readonly columns: readonly { readonly name: string; readonly type: LogicalType; /** Engine type name that overrides `type`. */ readonly sqlType?: string }[];
  readonly batches: AsyncIterable<readonly unknown[][]> | Iterable<readonly unknown[][]>;
}

/** A CSV file to append: its columns, and where each table column's value comes from. */
export interface CsvLoadInput {
  readonly path: string;
  /**
   * The file's columns, in order, with the type their text is in. `digits`: for decimal text, the
   * most digits any value has (the source's declared precision and scale), when known; an engine
   * may parse such text with a narrower type, which can be much cheaper.
   */
  readonly columns: readonly { readonly name: string; readonly type: LogicalType; readonly digits?: { readonly precision: number; readonly scale: number } }[];
  /** Table columns to fill: from a file column (by index) or a constant. Others get NULL. */
  readonly targets: readonly { readonly name: string; readonly from: { readonly column: number } | { readonly constant: unknown } }[];
  /**
   * false (default): one pass, the fast way; a value that does not parse fails the load with a
   * `CsvValueError` and leaves the transaction aborted. true: every value is checked first and
   * the rows that do not parse come back as rejects (slower; for the rare file that needs it).
   */
  readonly checked?: boolean;
  /**
   * The source is reading its next file meanwhile, on this machine's CPU: the engine may leave it
   * a core (DuckDB loads with one thread fewer).
   */
  readonly readerBusy?: boolean;
  /**
   * Bytes of the file's longest record (without its newline), when the writer counted them. An
   * engine whose reader has a line limit raises it to fit; without it, that limit applies (DuckDB: 2 MB).
   */
  readonly longestLine?: number;
}

export interface CsvLoadOutcome {
  readonly rows: number;
  /** Records that were not loaded: the file's line, the column, why, and the record's fields as text. */
  readonly rejects: readonly { readonly line: number; readonly column: string; readonly error: string; readonly fields: readonly (string | null)[] }[];
}

/**
 * NDJSON lines for the engine to parse and type itself (`Connection.loadJsonLines`): the lines of
 * some files, each file's after its `afterLine`, each line a JSON object whose keys are the data
 * columns' names.
 */
export interface JsonLinesLoadInput {
  readonly files: readonly {
    /** Absolute path of the file. */
    readonly path: string;
    /** Lines 1…afterLine are already loaded (0: none). */
    readonly afterLine: number;
    /** Table columns with one value for every row of this file (the file, the load time, the batch id). */
    readonly constants: readonly { readonly name: string; readonly type: LogicalType; readonly value: unknown }[];
  }[];
  /** The table's data columns: a record's key is its column's name. */
  readonly columns: readonly { readonly name: string; readonly type: LogicalType }[];
  /**
   * Raw landing: each record's text, as written, is the value of the one data column in `columns`
   * (JSON), instead of one column per key.
   */
  readonly raw?: boolean;
  /** Table column for the line number, if any. */
  readonly lineColumn?: string;
  /**
   * Table columns whose values each line carries itself, in this order, before its record: a
   * line is each value's JSON text followed by the byte 0x01, then the record (a Kafka batch:
   * partition, offset, key, headers, timestamp). JSON `null` is NULL; a string is cast to the
   * column's type.
   */
  readonly lineFields?: readonly { readonly name: string; readonly type: LogicalType }[];
  /** A line longer than this (in bytes) is not taken. */
  readonly maxRecordBytes: number;
  /**
   * The batch's other writes (rows the files supersede, the stream state), run inside the load's
   * transaction before its rows. The engine opens and commits that transaction itself, so it may
   * read the files before it, outside any transaction.
   */
  readonly sameTransaction: () => Promise<void>;
  /**
   * Called once, when the statement that loads the rows is on its way to the engine (not when a
   * load is refused before that): the caller's JavaScript work, such as reading the next batch,
   * then runs while the engine parses on its own threads instead of before it starts.
   */
  readonly started?: () => void;
}

/**
 * Loaded and committed, or refused with the reason: some line is not one the engine takes exactly as
 * ingestion's record path would (a bad record, a new column, a value of another type…). A refusal
 * has rolled the transaction back (nothing was written, `sameTransaction`'s writes neither): the caller
 * loads those lines as records. An error other than a refusal is thrown, after a rollback too.
 */
export type JsonLinesLoadOutcome = { readonly loaded: true; readonly rows: number } | { readonly loaded: false; readonly reason: string };

/** Engine-specific SQL the planner asks for. Adapters extend `StandardDialect` and override what differs. */
export interface SqlDialect {
  quoteIdent(name: string): string;
  relation(r: Relation): string;
  literal(v: unknown): string;
  /** The engine's type name for a logical type. */
  typeName(t: LogicalType): string;
  createSchema(schema: string): string;
  createView(r: Relation, sql: string): string[];
  createTableAs(r: Relation, sql: string): string;
  /** Rename within the same schema. */
  renameRelation(from: Relation, toName: string, kind: 'table' | 'view'): string;
  dropRelation(r: Relation, kind: 'table' | 'view'): string;
  /** `current_timestamp - interval` expression for freshness checks and lookback windows. */
  intervalAgo(interval: string): string;
  subtractInterval(expr: string, interval: string): string;
  /** `CREATE TABLE [IF NOT EXISTS] r (columns…)` with engine type names. */
  createTable(r: Relation, columns: readonly { name: string; type: string }[], ifNotExists?: boolean): string;
  /** Adds a column to a table. */
  addColumn(r: Relation, column: string, type: string): string;
}

/** A single session with the engine. Not safe for concurrent use; get one per worker. */
export interface Connection {
  execute(sql: string, opts?: CallOptions): Promise<QueryResult>;
  /** Streams a query's rows in batches, for results too big to hold. */
  stream(sql: string, opts?: CallOptions & { batchSize?: number }): AsyncIterable<Row[]>;
  begin(opts?: CallOptions): Promise<void>;
  commit(opts?: CallOptions): Promise<void>;
  rollback(opts?: CallOptions): Promise<void>;
  /** Creates `table` (if missing) with the given columns and appends rows fast (appender / COPY). */
  bulkLoad(table: Relation, input: BulkLoadInput, opts?: CallOptions): Promise<{ rows: number }>;
  /**
   * Appends a CSV file (see CsvChunk in ingest/source.ts for its text forms) to an existing table,
   * parsed by the engine itself. With `checked`, rows with a value that does not parse as its
   * column's type are not loaded and come back as rejects; without, such a value fails the load
   * (`CsvValueError`). Only engines with `capabilities.readsFiles`.
   */
  loadCsv?(table: Relation, input: CsvLoadInput, opts?: CallOptions): Promise<CsvLoadOutcome>;
  /**
   * Appends NDJSON lines parsed by the engine, all or none, in a transaction of its own (see
   * JsonLinesLoadInput): called outside a transaction. Only engines with `capabilities.readsFiles`.
   */
  loadJsonLines?(table: Relation, input: JsonLinesLoadInput, opts?: CallOptions): Promise<JsonLinesLoadOutcome>;
  close(): Promise<void>;
}

export interface Warehouse {
  /** Adapter type as written in config (`duckdb`, `postgres`). For display and manifests only. */
  readonly type: string;
  readonly capabilities: WarehouseCapabilities;
  readonly dialect: SqlDialect;
  /** Opens a connection. Callers must close it; prefer `withConnection`. */
  connect(opts?: CallOptions): Promise<Connection>;
  /** Lists tables and views, optionally in one schema. Engine system schemas are left out. */
  listRelations(schema?: string, opts?: CallOptions): Promise<RelationInfo[]>;
  /** Columns of a relation, or undefined when it does not exist. */
  describe(r: Relation, opts?: CallOptions): Promise<ColumnInfo[] | undefined>;
  close(): Promise<void>;
}

/** Options a warehouse factory receives besides its own config. */
export interface WarehouseOpenOptions extends CallOptions {
  /** Project root: relative paths in the config resolve against it. */
  readonly projectDir: string;
  /** Open for reading only (the SQL console, `smelt query`). */
  readonly readOnly?: boolean;
  /** Name of the target being opened (used for default file names). */
  readonly targetName?: string;
  /** The target's schema, where unqualified model names land: engines that resolve names by a search path look there first. */
  readonly defaultSchema?: string;
}

/** A warehouse adapter: its type name, its config schema and a factory. */
export interface WarehouseAdapter<Cfg = unknown> {
  readonly type: string;
  readonly displayName: string;
  /** Validates and fills defaults in the adapter's config; throws ConfigError. */
  parseConfig(raw: unknown): Cfg;
  open(config: Cfg, opts: WarehouseOpenOptions): Promise<Warehouse>;
}

/** Runs `fn` with a fresh connection and always closes it. */
export async function withConnection<T>(wh: Warehouse, fn: (c: Connection) => Promise<T>, opts?: CallOptions): Promise<T> {
  const conn = await wh.connect(opts);
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}

/** Runs `fn` in a transaction on `conn`: commit on success, rollback on error. */
export async function inTransaction<T>(conn: Connection, fn: () => Promise<T>, opts?: CallOptions): Promise<T> {
  await conn.begin(opts);
  try {
    const out = await fn();
    await conn.commit(opts);
    return out;
  } catch (e) {
    await conn.rollback().catch(() => undefined);
    throw e;
  }
}
