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
  const issue = r.error.issues[0]!;
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
  } else if (issue.code === 'invalid_value' && 'values' in issue) {
    const got = valueAt(raw, issue.path);
    const values = (issue.values as unknown[]).map(String);
    message = `${path ? `${path}: ` : ''}${JSON.stringify(got)} is not valid; expected one of ${values.map((v) => `'${v}'`).join(', ')}`;
    if (typeof got === 'string') hint = didYouMean(got, values);
  }
  throw new ConfigError(message, { location, hint });
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
    s = unwrap(s);
    if (s?.shape) s = s.shape[k as string];
    else if (s?.def?.valueType) s = s.def.valueType;
    else if (s?.def?.element) s = s.def.element;
    else return undefined;
  }
  s = unwrap(s);
  return s?.shape;
}

function unwrap(s: any): any {
  while (s?.def?.innerType || s?.def?.in) s = s.def.innerType ?? s.def.in;
  return s;
}
