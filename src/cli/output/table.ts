/** Plain-text tables for `show` and `query`, plus CSV and JSON for scripts. */
import type { Row } from '../../core/types.js';

const cell = (v: unknown): string => (v === null || v === undefined ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v));

export function formatTable(columns: readonly string[], rows: readonly Row[], maxWidth = 40): string {
  const clip = (s: string) => (s.length > maxWidth ? `${s.slice(0, maxWidth - 1)}…` : s);
  const data = rows.map((r) => columns.map((c) => clip(cell(r[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...data.map((d) => d[i]!.length)));
  const line = (vals: string[]) => `│ ${vals.map((v, i) => v.padEnd(widths[i]!)).join(' │ ')} │`;
  const sep = (l: string, m: string, r: string) => `${l}${widths.map((w) => '─'.repeat(w + 2)).join(m)}${r}`;
  return [sep('┌', '┬', '┐'), line([...columns]), sep('├', '┼', '┤'), ...data.map(line), sep('└', '┴', '┘'), `${rows.length} row${rows.length === 1 ? '' : 's'}`].join('\n');
}

export function formatCsv(columns: readonly string[], rows: readonly Row[]): string {
  const esc = (v: unknown) => {
    if (v === null || v === undefined) return '';
    const s = cell(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [columns.map(esc).join(','), ...rows.map((r) => columns.map((c) => esc(r[c])).join(','))].join('\n');
}

export function formatJson(rows: readonly Row[]): string {
  return JSON.stringify(rows, null, 2);
}
