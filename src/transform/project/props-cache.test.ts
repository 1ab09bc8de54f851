import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.js';
import { readProjectProps } from './yaml-props.js';

let dir: string;
const cacheFile = () => join(dir, '.smelt', 'cache', 'props.bin');
const write = (file: string, text: string) => {
  mkdirSync(join(dir, file, '..'), { recursive: true });
  writeFileSync(join(dir, file), text);
};
const A = 'models/a.yml';
const B = 'models/b.yml';

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'smelt-props-'));
  write(A, 'models:\n  - name: orders\n    description: all orders\n    columns:\n      - name: id\n        tests: [not_null]\n');
  write(B, 'models:\n  - name: customers\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('property file cache', () => {
  it('serves an unchanged file from .smelt/cache without parsing it again', async () => {
    const first = await readProjectProps(dir, [A, B]);
    expect(first.models.get('orders')!.description).toBe('all orders');
    // Plant a different description under the same text hash: only a cache read can return it.
    const stored = deserialize(readFileSync(cacheFile())) as { files: Map<string, { props: { models: { description?: string }[] } }> };
    stored.files.get(A)!.props.models[0]!.description = 'from the cache';
    writeFileSync(cacheFile(), serialize(stored));
    const second = await readProjectProps(dir, [A, B]);
    expect(second.models.get('orders')!.description).toBe('from the cache');
    // Lines and tests survive the round trip.
    expect(second.models.get('orders')!.columns[0]).toMatchObject({ name: 'id', line: 5, tests: [{ type: 'not_null', file: A, line: 6 }] });
  });

  it('parses a file again when its text changed, and forgets deleted files', async () => {
    await readProjectProps(dir, [A, B]);
    write(A, 'models:\n  - name: orders\n    description: edited\n');
    const p = await readProjectProps(dir, [A]);
    expect(p.models.get('orders')!.description).toBe('edited');
    expect(p.models.has('customers')).toBe(false);
    const stored = deserialize(readFileSync(cacheFile())) as { files: Map<string, unknown> };
    expect([...stored.files.keys()]).toEqual([A]);
  });

  it('still finds a name described twice when one file comes from the cache', async () => {
    await readProjectProps(dir, [A, B]);
    write(B, 'models:\n  - name: customers\n  - name: orders\n');
    const err = await readProjectProps(dir, [A, B]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/'orders' is described twice \(also in models\/a\.yml:2\)/);
    expect((err as ConfigError).location).toMatchObject({ file: B, line: 3 });
  });

  it('reports broken YAML at its line even after the file was cached, and caches no failure', async () => {
    await readProjectProps(dir, [A, B]);
    write(B, 'models:\n  - name: customers\n   bad: [\n');
    const err = await readProjectProps(dir, [A, B]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).location).toMatchObject({ file: B, line: 3 });
    await expect(readProjectProps(dir, [A, B])).rejects.toBeInstanceOf(ConfigError);
  });

  it('parses everything when the cache file is unreadable', async () => {
    mkdirSync(join(dir, '.smelt', 'cache'), { recursive: true });
    writeFileSync(cacheFile(), 'not a cache');
    const p = await readProjectProps(dir, [A, B]);
    expect([...p.models.keys()].sort()).toEqual(['customers', 'orders']);
  });
});
