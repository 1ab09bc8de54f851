/** Run results: what happened to each step, as plain data for the CLI, the scheduler and the console. */
import type { SourceLocation } from '../../core/errors.js';
import type { Row } from '../../core/types.js';
import type { StepKind } from '../plan.js';

export type StepStatus = 'success' | 'pass' | 'warn' | 'fail' | 'error' | 'skipped';

export interface StepError {
  readonly message: string;
  readonly code?: string;
  readonly location?: SourceLocation;
  readonly hint?: string;
}

export interface StepResult {
  readonly id: string;
  readonly kind: StepKind;
  readonly name: string;
  readonly status: StepStatus;
  /** e.g. `table gold.fct_payments`, `3 failing rows`. */
  readonly message: string;
  readonly rowsAffected?: number;
  /** Failing rows of a data test, or the row diff of a unit test. */
  readonly failures?: number;
  readonly sample?: readonly Row[];
  readonly error?: StepError;
  readonly startedAt: string;
  readonly durationMs: number;
}

export interface RunSummary {
  readonly pass: number;
  readonly warn: number;
  readonly error: number;
  readonly skip: number;
  readonly total: number;
}

export interface RunResults {
  readonly runId: string;
  readonly command: string;
  readonly project: string;
  readonly target: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
  readonly results: readonly StepResult[];
  readonly summary: RunSummary;
}

export function summarize(results: readonly StepResult[]): RunSummary {
  const s = { pass: 0, warn: 0, error: 0, skip: 0, total: results.length };
  for (const r of results) {
    if (r.status === 'success' || r.status === 'pass') s.pass++;
    else if (r.status === 'warn') s.warn++;
    else if (r.status === 'skipped') s.skip++;
    else s.error++;
  }
  return s;
}

/** Events the runner emits while it works (the CLI renders them; the server streams them). */
export type RunEvent =
  | { readonly type: 'start'; readonly id: string; readonly kind: StepKind; readonly name: string; readonly index: number; readonly total: number; readonly description: string }
  | { readonly type: 'finish'; readonly result: StepResult; readonly index: number; readonly total: number };
