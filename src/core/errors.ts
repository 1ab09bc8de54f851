/**
 * One error hierarchy for the whole platform. Every error carries enough context
 * to point at the problem (file, line, node) and, where we can, a hint that says
 * how to fix it. The CLI maps the class to an exit code; nothing else needs to.
 */

import { redact } from './redact.js';

/** Where in a user's file a problem is. Lines and columns are 1-based. */
export interface SourceLocation {
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
}

export interface SmeltErrorOptions {
  /** Where the problem is, when it comes from a user's file. */
  location?: SourceLocation;
  /** One line that tells the user what to do next. */
  hint?: string;
  /** The node (model, test, seed…) the error belongs to. */
  node?: string;
  cause?: unknown;
}

/** Root of every error smelt raises on purpose. */
export class SmeltError extends Error {
  /** Stable machine-readable code, e.g. `E_CONFIG`. */
  readonly code: string = 'E_SMELT';
  /** Process exit code the CLI uses when this error ends a command. */
  readonly exitCode: number = 1;
  readonly location?: SourceLocation;
  readonly hint?: string;
  readonly node?: string;

  constructor(message: string, options: SmeltErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.location = options.location;
    this.hint = options.hint;
    this.node = options.node;
  }

  /**
   * Plain-data form for logs, run results and the API. Redacted here, not only upstream: a config
   * error quotes the bad value, which may have come from env(), and `--log-format json` printed it.
   */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: redact(this.message),
      ...(this.location ? { location: this.location } : {}),
      ...(this.hint ? { hint: redact(this.hint) } : {}),
      ...(this.node ? { node: this.node } : {}),
    };
  }
}

/** The command line itself is wrong (unknown flag, bad selector). */
export class UsageError extends SmeltError {
  override readonly code = 'E_USAGE';
  override readonly exitCode = 2;
}

/** smelt.config.ts, a YAML file or a model's config() holds a bad value. */
export class ConfigError extends SmeltError {
  override readonly code = 'E_CONFIG';
  override readonly exitCode = 2;
  /** The bad option's path inside the value that was validated, so a caller that knows the file can find its line. */
  readonly keyPath?: readonly PropertyKey[];

  constructor(message: string, options: SmeltErrorOptions & { keyPath?: readonly PropertyKey[] } = {}) {
    super(message, options);
    this.keyPath = options.keyPath;
  }
}

/** The project cannot be compiled: template syntax, unknown ref, cycle. */
export class CompileError extends SmeltError {
  override readonly code = 'E_COMPILE';
  override readonly exitCode = 2;
}

/** A seed or data file cannot be read or parsed. */
export class DataFileError extends SmeltError {
  override readonly code = 'E_DATA_FILE';
  override readonly exitCode = 1;
}

/** The warehouse rejected a statement or could not be reached. */
export class WarehouseError extends SmeltError {
  override readonly code = 'E_WAREHOUSE';
  /** Character offset (0-based) into the statement, when the engine reports one. */
  readonly position?: number;
  /** 1-based line within the statement, when the engine reports one. */
  readonly statementLine?: number;
  constructor(message: string, options: SmeltErrorOptions & { position?: number; statementLine?: number } = {}) {
    super(message, options);
    this.position = options.position;
    this.statementLine = options.statementLine;
  }
}

/**
 * A one-pass CSV load met a value that does not parse as its column's type. The statement
 * failed and the transaction with it: roll back and load again with `checked: true`,
 * which sets such rows aside as rejects. Expected, and handled by the bronze writer.
 */
export class CsvValueError extends WarehouseError {}

/**
 * A bulk load refused one row's value (PostgreSQL names the COPY line). The statement failed and
 * the transaction with it: roll back and load again without that row, which becomes a dead
 * letter. Expected, and handled by the bronze writer.
 */
export class BulkRowError extends WarehouseError {
  /** 0-based index of the refused row among the rows of the load. */
  readonly row: number;
  constructor(message: string, row: number, options: ConstructorParameters<typeof WarehouseError>[1] = {}) {
    super(message, options);
    this.row = row;
  }
}

/** A run was cancelled through its AbortSignal. */
export class AbortedError extends SmeltError {
  override readonly code = 'E_ABORTED';
  override readonly exitCode = 130;
}

export const isSmeltError = (e: unknown): e is SmeltError => e instanceof SmeltError;

/** Wraps anything thrown into a SmeltError, keeping the original as the cause. */
export function toSmeltError(e: unknown): SmeltError {
  if (e instanceof SmeltError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new SmeltError(message, { cause: e });
}
