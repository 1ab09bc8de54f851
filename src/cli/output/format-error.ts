/** Renders a SmeltError for people: message, file:line, a code frame, and the hint. */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import pc from 'picocolors';
import type { SmeltError, SourceLocation } from '../../core/errors.js';
import { redact } from '../../core/redact.js';

/** A few lines around `line`, with a caret under `column` (Babel-style). */
export function codeFrame(source: string, line: number, column?: number, color = false): string {
  const lines = source.split(/\r?\n/);
  const from = Math.max(1, line - 2);
  const to = Math.min(lines.length, line + 2);
  const width = String(to).length;
  const out: string[] = [];
  for (let i = from; i <= to; i++) {
    const mark = i === line ? '>' : ' ';
    const gutter = `${mark} ${String(i).padStart(width)} |`;
    out.push(`${i === line && color ? pc.red(gutter) : gutter} ${lines[i - 1]}`);
    if (i === line && column) out.push(`  ${' '.repeat(width)} | ${' '.repeat(Math.max(0, column - 1))}${color ? pc.red('^') : '^'}`);
  }
  return out.join('\n');
}

export function formatLocation(loc: SourceLocation): string {
  return `${loc.file}${loc.line ? `:${loc.line}${loc.column ? `:${loc.column}` : ''}` : ''}`;
}

export function formatError(e: SmeltError, projectDir: string, color: boolean): string {
  const red = color ? pc.red : (s: string) => s;
  const dim = color ? pc.dim : (s: string) => s;
  const parts = [red(`Error: ${redact(e.message)}`)];
  if (e.location) {
    parts.push(`  ${dim('at')} ${formatLocation(e.location)}`);
    const path = isAbsolute(e.location.file) ? e.location.file : join(projectDir, e.location.file);
    if (e.location.line && existsSync(path)) {
      try {
        parts.push(codeFrame(readFileSync(path, 'utf8'), e.location.line, e.location.column, color));
      } catch {
        /* the frame is a courtesy */
      }
    }
  }
  if (e.hint) parts.push(`${color ? pc.cyan('hint:') : 'hint:'} ${redact(e.hint)}`);
  return parts.join('\n');
}
