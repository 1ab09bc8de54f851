/**
 * Executes SQL built around a node's compiled SQL and, when the engine rejects
 * it, points the error at the node's source file and line (via the line map).
 */
import { WarehouseError } from '../../core/errors.js';
import type { Connection, QueryResult } from '../../storage/warehouse.js';
import type { InlinedLines } from '../manifest.js';

export interface SqlOrigin {
  /** The compiled SQL as it appears inside the statement. */
  readonly body: string;
  readonly file: string;
  readonly lineMap: readonly number[];
  readonly node: string;
  /** Lines of `body` that come from inlined ephemeral models (their own file and lines). */
  readonly inlined?: readonly InlinedLines[];
}

export interface Exec {
  /** Runs a statement; errors come back as WarehouseError with the node's file and line. */
  (sql: string, origin?: SqlOrigin): Promise<QueryResult>;
  readonly conn: Connection;
  readonly signal?: AbortSignal;
}

export function makeExec(conn: Connection, signal?: AbortSignal): Exec {
  const exec = async (sql: string, origin?: SqlOrigin): Promise<QueryResult> => {
    try {
      return await conn.execute(sql, { signal });
    } catch (e) {
      if (!(e instanceof WarehouseError) || !origin) throw e;
      let line: number | undefined;
      let file = origin.file;
      const at = sql.indexOf(origin.body);
      if (e.statementLine !== undefined && at >= 0) {
        const before = sql.slice(0, at).split('\n').length - 1;
        const bodyLine = e.statementLine - before; // 1-based line within the body
        const mapped = origin.lineMap[bodyLine - 1];
        // A line of an inlined ephemeral CTE belongs to the ephemeral's file: point there.
        const seg = origin.inlined?.find((s) => bodyLine >= s.from && bodyLine < s.from + s.lineMap.length);
        if (mapped) line = mapped;
        else if (seg?.lineMap[bodyLine - seg.from]) {
          file = seg.file;
          line = seg.lineMap[bodyLine - seg.from];
        }
      }
      // "syntax error at end of input" comes without a LINE from DuckDB, but the end of the input
      // is the end of the model: point at its last source line instead of at no line at all.
      if (line === undefined && /at end of input/i.test(e.message)) line = [...origin.lineMap].reverse().find((l) => l > 0);
      throw new WarehouseError(e.message, {
        location: { file, line },
        node: origin.node,
        hint: e.hint ?? hintFor(e.message),
        statementLine: e.statementLine,
        cause: e,
      });
    }
  };
  return Object.assign(exec, { conn, signal });
}

function hintFor(message: string): string | undefined {
  const cand = /Candidate bindings: ([^\n]+)/.exec(message);
  if (cand) return `did you mean ${cand[1]!.split(',')[0]!.trim()}?`;
  if (/syntax error/i.test(message)) return 'check the SQL near the line shown; run `smelt compile <model>` to see the compiled SQL';
  return undefined;
}
