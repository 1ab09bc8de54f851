/**
 * Finds the line of an option in a config file's source text (`models.marts.materialized` →
 * the line with `materialized:` after `marts:` after `models:`). The config is a TypeScript module
 * that is evaluated, not parsed, so zod only knows the option's path; this best-effort scan turns
 * that path back into the line a user has to edit. Array indices are skipped; when a key cannot be
 * found (a computed or spread value), the deepest key that was found is used.
 */
export function lineOfKeyPath(source: string, path: readonly PropertyKey[]): number | undefined {
  let from = 0;
  let found: number | undefined;
  for (const key of path) {
    if (typeof key !== 'string' || /^\d+$/.test(key)) continue;
    const k = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    // `key:`, `'key':` or `"key":` at the start of a line or after `{` / `,`.
    const re = new RegExp(`(^|[\\s{,])(?:${k}|'${k}'|"${k}")\\s*:`, 'gm');
    re.lastIndex = from;
    const m = re.exec(source);
    if (!m) break;
    found = m.index + m[1]!.length;
    from = m.index + m[0].length;
  }
  if (found === undefined) return undefined;
  let line = 1;
  for (let i = 0; i < found; i++) if (source.charCodeAt(i) === 10) line++;
  return line;
}

/** `targets.prod.warehouse.url` or `vars.list[2]` → path segments. */
export const splitPath = (path: string): string[] => path.split(/[.[\]]+/).filter(Boolean);
