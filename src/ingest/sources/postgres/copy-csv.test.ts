import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { csvFiles, parseCsvRecord } from './copy-csv.js';

const dir = mkdtempSync(join(tmpdir(), 'smelt-copy-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A field as PostgreSQL's COPY (FORMAT csv) writes it: quoted when it needs to be, NULL as nothing. */
const field = (v: string | null) => (v === null ? '' : v === '' || /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('CSV records from COPY into files', () => {
  it('parses one record: quotes, doubled quotes, NULL and empty strings', () => {
    expect(parseCsvRecord(Buffer.from('1,"a,b","say ""hi""",,"",x'))).toEqual(['1', 'a,b', 'say "hi"', null, '', 'x']);
    expect(parseCsvRecord(Buffer.from('"multi\nline",'))).toEqual(['multi\nline', null]);
    expect(parseCsvRecord(Buffer.from('ü☃'))).toEqual(['ü☃']);
  });

  it('cuts at record boundaries whatever the chunking, and knows each file\'s last record', async () => {
    const rand = prng(11);
    const alphabet = ['a', 'b', ',', '"', '\n', ' ', 'ü', '""', '1'];
    const records: (string | null)[][] = Array.from({ length: 2_000 }, (_, i) => [
      String(i),
      rand() < 0.1 ? null : rand() < 0.01 ? 'long "quoted", '.repeat(400) : Array.from({ length: Math.floor(rand() * 12) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join(''),
      rand() < 0.5 ? '' : 'plain',
    ]);
    const bytes = Buffer.from(records.map((r) => `${r.map(field).join(',')}\n`).join(''));
    for (const [run, rowsPerFile] of [[0, 300], [1, 1], [2, 5_000]] as const) {
      // Chunks of random sizes, down to one byte, as a socket delivers them.
      async function* chunks() {
        for (let at = 0; at < bytes.length; ) {
          const n = 1 + Math.floor(rand() * (rand() < 0.3 ? 8 : 3000));
          yield bytes.subarray(at, at + n);
          at += n;
        }
      }
      const files = [];
      for await (const f of csvFiles(chunks(), dir, `run${run}`, rowsPerFile)) files.push(f);
      expect(files.map((f) => f.rows)).toEqual(Array.from({ length: Math.ceil(records.length / rowsPerFile) }, (_, i) => Math.min(rowsPerFile, records.length - i * rowsPerFile)));
      expect(Buffer.concat(files.map((f) => readFileSync(f.path)))).toEqual(bytes);
      let seen = 0;
      for (const f of files) {
        const lines = records.slice(seen, seen + f.rows).map((r) => Buffer.byteLength(r.map(field).join(',')));
        seen += f.rows;
        expect(f.last).toEqual(records[seen - 1]);
        expect(f.longestLine).toBe(Math.max(...lines));
      }
    }
  });

  it('writes no file for an empty result', async () => {
    async function* none(): AsyncIterable<Buffer> {}
    const files = [];
    for await (const f of csvFiles(none(), dir, 'empty', 10)) files.push(f);
    expect(files).toEqual([]);
  });
});
