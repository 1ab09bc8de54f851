import type { z } from 'zod';
import { ConfigError, type SourceLocation } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';

/**
 * Validates `raw` with a zod schema and turns the first issue into a ConfigError
 * that names the path (`models.staging.materialized`), what was expected and,
 * for unknown keys or enum values, the closest valid spelling. `locate`, when the
 * location has no line, finds the line of the offending option (smelt.config.ts).
 */
export function parseWith<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  what: string,
  location?: SourceLocation,
  locate?: (path: readonly PropertyKey[]) => number | undefined,
): z.infer<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issue = pickIssue(r.error.issues[0]!, raw);
  const path = [what, ...issue.path.map(String)].filter(Boolean).join('.');
  // A top-level problem has no path: "unknown option 'x'", not ": unknown option 'x'".
  let message = path ? `${path}: ${issue.message}` : issue.message;
  const where = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
  if (location && location.line === undefined && locate) location = { ...location, line: locate(where) };
  let hint: string | undefined;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    message = `${path ? `${path}: ` : ''}unknown option '${key}'`;
    const shape = shapeAt(schema, issue.path);
    if (shape) hint = didYouMean(key, Object.keys(shape)) ?? `valid options: ${Object.keys(shape).join(', ')}`;
  } else if (issue.code === 'invalid_type' && issue.path.length > 0 && valueAt(raw, issue.path) === undefined) {
    // A required option that is not there: say which, not "expected array, received undefined".
    const key = String(issue.path[issue.path.length - 1]);
    const parent = [what, ...issue.path.slice(0, -1).map(String)].filter(Boolean).join('.');
    message = `${parent ? `${parent}: ` : ''}missing option '${key}' (${article(String(issue.expected))})`;
    hint = `add ${key}: …; docs/project-format.md and docs/sources.md list every option`;
  } else if (issue.code === 'invalid_value' && 'values' in issue) {
    const got = valueAt(raw, issue.path);
    const values = (issue.values as unknown[]).map(String);
    message = `${path ? `${path}: ` : ''}${JSON.stringify(got)} is not valid; expected one of ${values.map((v) => `'${v}'`).join(', ')}`;
    if (typeof got === 'string') hint = didYouMean(got, values);
  }
  throw new ConfigError(message, { location, hint, keyPath: where });
}

const article = (type: string) => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);

type Issue = z.ZodError['issues'][number];

/**
 * A union's own issue only says "Invalid input". The branch that got furthest says what is wrong:
 * the one whose issue lies deepest inside the value (an array branch at `check_cols.1` rather than a
 * literal branch refusing the whole value); among equals, one about an option the user wrote (not a
 * missing option of another shape), then one that did not refuse the value's own type.
 */
function pickIssue(issue: Issue, raw: unknown): Issue {
  let i = issue;
  while (i.code === 'invalid_union' && i.errors.length) {
    const firsts = i.errors.filter((b) => b.length > 0).map((b) => b[0]!);
    if (!firsts.length) break;
    const at = i.path;
    const score = (x: Issue) => x.path.length * 4 + (valueAt(raw, [...at, ...x.path]) !== undefined ? 2 : 0) + (x.code === 'invalid_type' ? 0 : 1);
    const best = firsts.reduce((a, b) => (score(b) > score(a) ? b : a));
    i = { ...best, path: [...i.path, ...best.path] } as Issue;
  }
  return i;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v: any = raw;
  for (const k of path) v = v?.[k as any];
  return v;
}

/** Best-effort lookup of the object shape at `path`, for listing valid keys. */
function shapeAt(schema: z.ZodType, path: readonly PropertyKey[]): Record<string, unknown> | undefined {
  let s: any = schema;
  for (const k of path) {
    s = objectOption(unwrap(s));
    if (s?.shape) s = s.shape[k as string];
    else if (s?.def?.valueType) s = s.def.valueType;
    else if (s?.def?.element) s = s.def.element;
    else return undefined;
  }
  s = objectOption(unwrap(s));
  return s?.shape;
}

/** Of a union (`'name' | { name, … }`), its object option: the one with keys to list. */
const objectOption = (s: any): any => (s?.def?.options ? (s.def.options.map(unwrap).find((o: any) => o?.shape) ?? s) : s);

function unwrap(s: any): any {
  while (s?.def?.innerType || s?.def?.in) s = s.def.innerType ?? s.def.in;
  return s;
}
