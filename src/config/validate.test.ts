/** parseWith's messages for the issues zod reports badly on its own: missing options and unions. */
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { parseWith } from './validate.js';

const fail = (schema: z.ZodType, raw: unknown): ConfigError => {
  try {
    parseWith(schema, raw, 'cfg');
  } catch (e) {
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
};

describe('parseWith', () => {
  it('a missing option is named with its type and a hint, and its path is kept', () => {
    const e = fail(z.object({ inner: z.object({ brokers: z.array(z.string()) }) }), { inner: {} });
    expect([e.message, e.keyPath]).toEqual(["cfg.inner: missing option 'brokers' (an array)", ['inner', 'brokers']]);
    expect(e.hint).toMatch(/^add brokers: …/);
  });

  it('in a union, the branch that got furthest into the value speaks, not a literal refusing it whole', () => {
    const e = fail(z.object({ check_cols: z.union([z.literal('all'), z.array(z.string())]) }), { check_cols: ['a', 3] });
    expect(e.message).toMatch(/^cfg\.check_cols\.1: /);
  });

  it('between two shapes, the one whose option the user wrote speaks, not a missing option of the other', () => {
    const e = fail(z.object({ src: z.union([z.object({ path: z.string() }).strict(), z.object({ query: z.string() }).strict()]) }), { src: { query: 5 } });
    expect(e.message).toMatch(/^cfg\.src\.query: .*string/);
  });
});
