import type { Relation } from './types.js';

const SIMPLE = /^[a-z_][a-z0-9_]*$/;
const RESERVED = new Set(['select', 'from', 'where', 'order', 'group', 'table', 'view', 'user', 'default', 'check', 'case', 'end']);

/** Quotes an identifier with standard double quotes, only when it needs them (readable compiled SQL). */
export function ident(name: string): string {
  return SIMPLE.test(name) && !RESERVED.has(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** `schema.name`, quoted where needed. Standard SQL, so compile needs no engine. */
export const relationSql = (r: Relation): string => `${ident(r.schema)}.${ident(r.name)}`;

/** A standard SQL string literal. */
export const stringLiteral = (s: string): string => `'${s.replace(/'/g, "''")}'`;
