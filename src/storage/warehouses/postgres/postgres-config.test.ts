import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../core/errors.js';
import { parsePostgresConfig, resolveConnection, toMillis } from './config.js';
import { positionInStatement } from './postgres-connection.js';
import { compactJson, intervalValue, numericValue, parseArray } from './postgres-values.js';

describe('postgres config', () => {
  it('accepts a url or separate fields, with defaults', () => {
    const c = parsePostgresConfig({ type: 'postgres', url: 'postgres://u:pw@db.example:6543/app' });
    expect(c.pool).toBe(8);
    expect(c.application_name).toBe('smelt');
    const r = resolveConnection(c, { projectDir: '/tmp' });
    expect(r.target).toEqual({ host: 'db.example', port: 6543, user: 'u', database: 'app' });
    expect(r.client.password).toBe('pw');
    const f = resolveConnection(parsePostgresConfig({ type: 'postgres', url: 'postgres://u:pw@h/app', database: 'other', port: '5433' }), { projectDir: '/tmp' });
    expect(f.target).toMatchObject({ host: 'h', port: 5433, database: 'other' });
  });

  it('is strict and explains mistakes', () => {
    expect(() => parsePostgresConfig({ type: 'postgres', url: 'x', poolsize: 3 })).toThrow(/unknown option 'poolsize'/);
    expect(() => parsePostgresConfig({ type: 'postgres', statement_timeout: 'soon' })).toThrow(ConfigError);
  });

  it('looks in the target schema first for unqualified names, unless search_path is given', () => {
    const opts = (c: Record<string, unknown>, defaultSchema?: string) => resolveConnection(parsePostgresConfig({ type: 'postgres', ...c }), { projectDir: '/', defaultSchema }).client.options;
    expect(opts({}, 'main')).toContain('search_path=');
    expect(opts({}, 'main')).toMatch(/search_path=\\?"main\\?",\\? ?public/);
    expect(opts({}, 'public')).not.toContain('search_path');
    expect(opts({})).not.toContain('search_path');
    expect(opts({ search_path: ['a', 'b'] }, 'main')).not.toContain('main');
  });

  it('reads durations', () => {
    expect(toMillis('30s')).toBe(30_000);
    expect(toMillis('500ms')).toBe(500);
    expect(toMillis('5m')).toBe(300_000);
    expect(toMillis(1200)).toBe(1200);
    expect(toMillis('1200')).toBe(1200);
    expect(resolveConnection(parsePostgresConfig({ type: 'postgres', statement_timeout: '2s' }), { projectDir: '/' }).client.statement_timeout).toBe(2000);
  });

  it('never echoes a malformed url', () => {
    try {
      resolveConnection(parsePostgresConfig({ type: 'postgres', url: 'postgres://u:s3cr3t-pw@host:notaport/db' }), { projectDir: '/' });
    } catch (e) {
      expect(String((e as Error).message)).not.toContain('s3cr3t-pw');
    }
  });
});

describe('postgres values', () => {
  it('numeric is a number only when lossless', () => {
    expect(numericValue('12.50', true)).toBe(12.5);
    expect(numericValue('1234567890123456789.12', true)).toBe('1234567890123456789.12');
    expect(numericValue('2.5000000000000000', false)).toBe(2.5);
    expect(numericValue('2.3333333333333333', false)).toBe('2.3333333333333333');
    expect(numericValue('NaN', false)).toBe('NaN');
  });
  it('compacts jsonb text without touching strings or numbers', () => {
    expect(compactJson('{"a": [1, 2], "b c": "x, y", "n": 12345678901234567890}')).toBe('{"a":[1,2],"b c":"x, y","n":12345678901234567890}');
    expect(compactJson('"a \\" b"')).toBe('"a \\" b"');
  });
  it('reads intervals as DuckDB does', () => {
    expect(intervalValue('1 year 2 mons 3 days 04:05:06.5')).toEqual({ months: 14, days: 3, micros: '14706500000' });
    expect(intervalValue('-00:00:01')).toEqual({ months: 0, days: 0, micros: '-1000000' });
    expect(intervalValue('00:00:00')).toEqual({ months: 0, days: 0, micros: '0' });
  });
  it('parses array literals', () => {
    expect(parseArray('{1,NULL,"a,b","q\\"x"}', (e) => e)).toEqual(['1', null, 'a,b', 'q"x']);
    expect(parseArray('{{1,2},{3,4}}', (e) => Number(e))).toEqual([[1, 2], [3, 4]]);
  });
  it('maps error positions to lines, counting characters like PostgreSQL', () => {
    expect(positionInStatement('select 1,\n  2,\n  nope', 19)).toEqual({ line: 3, offset: 18 });
    expect(positionInStatement('select \u{1F600},\nx', 11)).toEqual({ line: 2, offset: 11 });
  });
});

