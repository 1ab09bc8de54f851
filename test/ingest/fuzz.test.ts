/**
 * Fuzz: malformed NDJSON and CSV through the real pipeline (files connector →
 * normalize → bronze writer, in-process via ingestStream on a DuckDB file).
 * Thousands of seeded cases (one case = one file); nothing may crash or hang,
 * and every record is accounted for: landed in bronze or in
 * smelt_state.dead_letters with a non-empty reason, never both, never lost.
 *
 * What a record is:
 * - NDJSON: a line, as split on `\n`, `\r\n` or a lone `\r` (Node's readline),
 *   that has at least one byte other than space or tab (JSON whitespace).
 *   Checked per line: line L is in bronze (`_smelt_line = L`) or a dead letter
 *   (`position.line = L`), exactly once.
 * - CSV: a record as the generator wrote it (RFC 4180: quoted fields may hold
 *   delimiters and line breaks; a quote that does not open a field is literal;
 *   an unclosed quote runs to the end of the file, so it is only ever generated
 *   last). Lines with no characters at all are not records; the header row is
 *   not a record. Checked per file: landed + dead = generated.
 *
 * FUZZ_SEED=<n> reproduces a run; FUZZ_CASES=<n> changes its size.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveSources } from '../../src/ingest/declarations.js';
import { ingestStream } from '../../src/ingest/ingest-stream.js';
import { ensureStateTables } from '../../src/ingest/state.js';
import { openWarehouse } from '../../src/storage/registry.js';
import type { Connection, Warehouse } from '../../src/storage/warehouse.js';
import { prng, type Rng } from '../helpers/prng.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20240611);
const CASES = Number(process.env.FUZZ_CASES ?? 3000);
/** max_record_bytes: small in even rounds (cheap huge lines), large in odd ones (deep nesting gets past the size check). */
const maxRecordBytes = (round: number) => (round % 2 ? 200_000 : 4096);


const b = (s: string) => Buffer.from(s, 'utf8');
const UNICODE = ['a', 'Z', '0', ' ', 'é', 'ß', '中', '😀', '\u2028', '\u00a0', '\\', '/', '\t', '\u0000', '\u001f', '"', '\ufeff', 'ﬁ'];
const INVALID_UTF8 = [[0xff], [0xc3, 0x28], [0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]];
const KEYS = ['id', 'name', 'amount', 'flag', 'tags', 'meta', 'Weird Key', 'ÜmlautKey', '', '123abc', 'a.b', 'A', 'a', 'CustomerID', 'x'.repeat(80)];

function randomText(r: Rng, max = 20): string {
  let s = '';
  for (let i = r.int(0, max); i > 0; i--) s += r.pick(UNICODE);
  return s;
}

function randomValue(r: Rng, depth = 0): unknown {
  switch (r.int(0, depth > 2 ? 8 : 10)) {
    case 0: return r.int(-1000, 1000);
    case 1: return r.pick([1e20, -(2 ** 63), 2 ** 63, 9007199254740993, 1e308, -0, 0.1, 123456789012]);
    case 2: return r.next() * 1000;
    case 3: return randomText(r);
    case 4: return r.chance(0.5);
    case 5: return null;
    case 6: return r.pick(['9999999999999999999', '12', '-5', '1e999', '2024-02-30', 'NaN', '']);
    case 7: return String(r.int(0, 99));
    case 8: return randomText(r, 3);
    case 9: return Array.from({ length: r.int(0, 4) }, () => randomValue(r, depth + 1));
    default: return Object.fromEntries(Array.from({ length: r.int(0, 4) }, () => [r.pick(KEYS), randomValue(r, depth + 1)]));
  }
}

const randomObject = (r: Rng) => Object.fromEntries(Array.from({ length: r.int(0, 6) }, () => [r.pick(KEYS), randomValue(r)]));

function randomBytes(r: Rng, n: number, exclude: number[]): Buffer {
  const out: number[] = [];
  while (out.length < n) {
    const x = r.int(0, 255);
    if (!exclude.includes(x)) out.push(x);
  }
  return Buffer.from(out);
}

// ---------------------------------------------------------------- NDJSON

type NdKind = 'valid' | 'truncated' | 'random' | 'invalid_utf8' | 'huge' | 'deep' | 'not_object' | 'bom_line' | 'blank' | 'control';

function ndjsonLine(r: Rng, kind: NdKind, maxBytes: number): Buffer {
  switch (kind) {
    case 'valid': return b(JSON.stringify(randomObject(r)));
    case 'truncated': {
      const s = JSON.stringify({ id: r.int(0, 9), ...randomObject(r) });
      return b(s).subarray(0, r.int(1, Buffer.byteLength(s) - 1));
    }
    case 'random': {
      const x = randomBytes(r, r.int(1, 200), [0x0a, 0x0d]);
      return /[^ \t]/.test(x.toString('latin1')) ? x : Buffer.concat([x, b('x')]);
    }
    case 'invalid_utf8': return Buffer.concat([b('{"s":"ok'), Buffer.from(r.pick(INVALID_UTF8)), b('"}')]);
    case 'huge': return b(JSON.stringify({ id: 1, blob: 'x'.repeat(maxBytes + r.int(0, r.chance(0.1) ? 200_000 : 100)) }));
    case 'deep': {
      const d = r.pick([200, 5000, 20_000, 100_000]);
      return r.chance(0.5) ? b(`{"d":${'['.repeat(d)}${']'.repeat(d)}}`) : b(`${'{"a":'.repeat(d)}1${'}'.repeat(d)}`);
    }
    case 'not_object': return b(r.pick(['[1,2]', '[]', '"str"', '42', '-1.5e3', 'null', 'true', 'false', '[{"id":1}]', '""']));
    case 'bom_line': return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), r.chance(0.8) ? b(JSON.stringify(randomObject(r))) : b('')]);
    case 'blank': return b(r.pick(['', ' ', '\t', '  \t ']));
    case 'control': return b(`{"c":"${r.pick(['\u0000', '\u0007', '\u001b', '\u0001'])}"}`); // raw control chars: invalid JSON
  }
}

const NEWLINES = [b('\n'), b('\r\n'), b('\r')];

function ndjsonFile(r: Rng, maxBytes: number): { bytes: Buffer; kinds: Map<number, NdKind> } {
  const parts: Buffer[] = [];
  const kinds = new Map<number, NdKind>();
  if (r.chance(0.1)) parts.push(Buffer.from([0xef, 0xbb, 0xbf]));
  const eol = r.chance(0.5) ? r.pick(NEWLINES) : undefined; // one line ending per file, or mixed
  const n = r.int(0, 25);
  for (let i = 0; i < n; i++) {
    const kind = r.weighted<NdKind>({ valid: 40, truncated: 8, random: 8, invalid_utf8: 6, huge: 3, deep: 3, not_object: 6, bom_line: 2, blank: 6, control: 2 });
    kinds.set(i + 1, kind);
    const line = ndjsonLine(r, kind, maxBytes);
    // An empty line after a lone \r would turn `\r` + `\n` into one line break: keep line numbers as generated.
    parts.push(line.length === 0 && parts.length > 0 && parts[parts.length - 1]!.equals(NEWLINES[2]!) ? b(' ') : line);
    if (i < n - 1 || r.chance(0.7)) parts.push(eol ?? r.pick(NEWLINES));
  }
  return { bytes: Buffer.concat(parts), kinds };
}

/** The records of an NDJSON file, by 1-based line number (the definition in the header comment). */
function ndjsonRecords(bytes: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let line = 0;
  let start = 0;
  const take = (end: number) => {
    line++;
    const x = bytes.subarray(start, end);
    if (x.some((c) => c !== 0x20 && c !== 0x09)) out.set(line, x);
  };
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a || bytes[i] === 0x0d) {
      take(i);
      if (bytes[i] === 0x0d && bytes[i + 1] === 0x0a) i++;
      start = i + 1;
    }
  }
  if (start < bytes.length) take(bytes.length);
  return out;
}

// ---------------------------------------------------------------- CSV

interface CsvStream { name: string; delimiter: string; header: boolean; encoding: 'utf8' | 'latin1' }
const CSV_STREAMS: CsvStream[] = [
  { name: 'csv_comma', delimiter: ',', header: true, encoding: 'utf8' },
  { name: 'csv_semi', delimiter: ';', header: false, encoding: 'utf8' },
  { name: 'csv_tab', delimiter: '\t', header: true, encoding: 'latin1' },
];

type CsvKind = 'valid' | 'quoted' | 'wrong_count' | 'stray_quote' | 'after_quote' | 'space_quote' | 'invalid_utf8' | 'random' | 'huge' | 'whitespace';

function csvFile(r: Rng, s: CsvStream, maxBytes: number): { bytes: Buffer; records: number } {
  const enc = (x: string) => Buffer.from(x, s.encoding === 'latin1' ? 'latin1' : 'utf8');
  const d = s.delimiter;
  const eolFixed = r.chance(0.6) ? r.pick(['\n', '\r\n']) : undefined;
  const eol = () => eolFixed ?? r.pick(['\n', '\r\n', '\r']);
  const plainChars = s.encoding === 'latin1' ? ['a', 'b', 'Z', '1', ' ', 'é', 'ü', '\u00a0', ','] : ['a', 'b', 'Z', '1', ' ', 'é', '中', '😀', ','];
  const plain = (min = 0) => {
    let x = '';
    for (let i = r.int(min, 8); i > 0; i--) x += r.pick(plainChars.filter((c) => c !== d));
    return x;
  };
  const quoted = () => {
    let x = '"';
    for (let i = r.int(0, 6); i > 0; i--) x += r.pick(['a', '""', d, '\n', '\r\n', ' ', 'é']);
    return `${x}"`;
  };
  const ncols = r.int(1, 5);
  const parts: Buffer[] = [];
  if (s.encoding === 'utf8' && r.chance(0.15)) parts.push(Buffer.from([0xef, 0xbb, 0xbf]));
  if (s.header) parts.push(enc(Array.from({ length: ncols }, (_, i) => `c${i}`).join(d) + eol()));
  let records = 0;
  const n = r.int(0, 20);
  const unclosed = r.chance(0.08);
  for (let i = 0; i < n; i++) {
    const kind = r.weighted<CsvKind>({ valid: 40, quoted: 10, wrong_count: 10, stray_quote: 5, after_quote: 5, space_quote: 3, invalid_utf8: 6, random: 6, huge: 2, whitespace: 3 });
    const fields = Array.from({ length: ncols }, () => plain());
    let rec: Buffer;
    switch (kind) {
      case 'valid': rec = enc(fields.join(d)); break;
      case 'quoted': fields[r.int(0, ncols - 1)] = quoted(); rec = enc(fields.join(d)); break;
      case 'wrong_count': {
        const m = r.chance(0.5) && ncols > 1 ? r.int(1, ncols - 1) : ncols + r.int(1, 3);
        rec = enc(Array.from({ length: m }, () => plain(1)).join(d));
        break;
      }
      case 'stray_quote': fields[r.int(0, ncols - 1)] = `ab"c${r.chance(0.5) ? '"' : ''}`; rec = enc(fields.join(d)); break;
      case 'after_quote': fields[r.int(0, ncols - 1)] = `"ab"${r.pick(['c', ' ', 'xyz', 'é'])}`; rec = enc(fields.join(d)); break;
      case 'space_quote': fields[r.int(0, ncols - 1)] = ` "ab"`; rec = enc(fields.join(d)); break;
      case 'invalid_utf8': rec = Buffer.concat([enc(fields.join(d)), Buffer.from(r.pick(INVALID_UTF8)), enc(plain(1))]); break;
      case 'random': rec = randomBytes(r, r.int(1, 120), [0x0a, 0x0d, 0x22]); break;
      case 'huge': fields[0] = 'x'.repeat(maxBytes + r.int(1, 50_000)); rec = enc(fields.join(d)); break;
      case 'whitespace': rec = enc(r.pick([' ', '\t', '  '])); break;
    }
    if (rec.length === 0) rec = enc('z'); // a line with no characters is not a record
    parts.push(rec);
    records++;
    if (i < n - 1 || unclosed || r.chance(0.7)) parts.push(enc(eol()));
  }
  // Sometimes an unclosed quote ends the file: by RFC 4180 it runs to the end, so it is one record with whatever follows.
  if (unclosed) {
    parts.push(enc(`"never closed${d}1${eol()}2${d}3${eol()}`));
    records++;
  }
  return { bytes: Buffer.concat(parts), records };
}

// ---------------------------------------------------------------- the run

interface Case { stream: string; file: string; format: 'ndjson' | 'csv'; expected: number; lines?: Map<number, Buffer>; kinds?: Map<number, NdKind> }

describe('fuzz: malformed NDJSON and CSV through files → normalize → bronze', () => {
  let dir: string;
  let wh: Warehouse;
  let conn: Connection;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'smelt-fuzz-'));
    wh = await openWarehouse({ type: 'duckdb', path: 'fuzz.duckdb' }, { projectDir: dir });
    conn = await wh.connect();
    await ensureStateTables(conn, wh.dialect);
  });
  afterAll(async () => {
    await conn?.close();
    await wh?.close();
    if (process.env.FUZZ_KEEP) console.log(`fuzz files kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });

  it(`accounts for every record of ${CASES} cases (seed ${SEED})`, async () => {
    const r = prng(SEED);
    const ROUNDS = 12; // each round is a fresh source, so the file manifest in the state stays small
    let landedTotal = 0;
    let deadTotal = 0;
    let generated = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const source = `fz${round}`;
      const cases: Case[] = [];
      const perRound = Math.ceil(CASES / ROUNDS);
      for (let i = 0; i < perRound; i++) {
        if (r.chance(0.5)) {
          const { bytes, kinds } = ndjsonFile(r, maxRecordBytes(round));
          cases.push({ stream: 'nd', format: 'ndjson', file: `r${round}/nd/f${i}.ndjson`, expected: 0, lines: ndjsonRecords(bytes), kinds });
          mkdirSync(join(dir, `r${round}/nd`), { recursive: true });
          writeFileSync(join(dir, cases[cases.length - 1]!.file), bytes);
        } else {
          const s = r.pick(CSV_STREAMS);
          const { bytes, records } = csvFile(r, s, maxRecordBytes(round));
          cases.push({ stream: s.name, format: 'csv', file: `r${round}/${s.name}/f${i}.csv`, expected: records });
          mkdirSync(join(dir, `r${round}/${s.name}`), { recursive: true });
          writeFileSync(join(dir, cases[cases.length - 1]!.file), bytes);
        }
      }
      for (const c of cases) if (c.lines) c.expected = c.lines.size;
      const streams: Record<string, unknown> = { nd: { path: `r${round}/nd/*.ndjson` } };
      for (const s of CSV_STREAMS) streams[s.name] = { path: `r${round}/${s.name}/*.csv`, delimiter: s.delimiter, header: s.header, encoding: s.encoding };
      const [src] = await resolveSources([
        // Odd rounds land raw: the payload as written, through the same checks (and DuckDB's lines path for NDJSON).
        { name: source, file: 'smelt.config.ts', value: { type: 'files', landing: round % 2 ? 'raw' : 'typed', streams, batch_size: r.int(5, 200), max_record_bytes: maxRecordBytes(round) } },
      ]);
      for (const stream of ['nd', ...CSV_STREAMS.map((s) => s.name)]) {
        if (!cases.some((c) => c.stream === stream)) continue;
        try {
          await ingestStream(src!, stream, wh, conn, { projectDir: dir });
        } catch (e) {
          throw new Error(`seed ${SEED} round ${round}: ingest of ${stream} threw: ${(e as Error).stack}`);
        }
      }

      // Outcomes per file (and per line for NDJSON).
      const landed = new Map<string, number[]>();
      for (const stream of new Set(cases.map((c) => c.stream))) {
        const res = await conn.execute(`SELECT _smelt_file AS f, _smelt_line AS l FROM bronze.${source}_${stream}`);
        for (const row of res.rows) {
          const k = String(row.f);
          if (!landed.has(k)) landed.set(k, []);
          landed.get(k)!.push(Number(row.l));
        }
      }
      const dead = new Map<string, { line: number; error: string }[]>();
      const dl = await conn.execute(`SELECT position, error FROM smelt_state.dead_letters WHERE source = '${source}'`);
      for (const row of dl.rows) {
        const pos = JSON.parse(String(row.position)) as { file: string; line: number };
        if (!dead.has(pos.file)) dead.set(pos.file, []);
        dead.get(pos.file)!.push({ line: pos.line, error: String(row.error ?? '') });
      }

      for (const c of cases) {
        const l = landed.get(c.file) ?? [];
        const d = dead.get(c.file) ?? [];
        const where = `seed ${SEED} round ${round} ${c.file}`;
        for (const x of d) expect(x.error.trim(), `${where}: dead letter without a reason`).not.toBe('');
        expect(l.length + d.length, `${where}: landed ${l.length} + dead ${d.length} ≠ ${c.expected} generated records`).toBe(c.expected);
        if (c.lines) {
          // NDJSON, per line: each record line exactly once, in bronze or dead letters; no other line.
          const seen = [...l, ...d.map((x) => x.line)].sort((a, b) => a - b);
          expect(seen, `${where}: record lines`).toEqual([...c.lines.keys()].sort((a, b) => a - b));
          const deadAt = new Map(d.map((x) => [x.line, x.error]));
          const kindAt = (line: number) => {
            // kinds are by generated line index; line numbers match unless a lone \r\n pair was split, which we never write.
            return c.kinds!.get(line);
          };
          for (const [line, bytes] of c.lines) {
            const kind = kindAt(line);
            const err = deadAt.get(line);
            const shown = `${where}:${line} (${kind}) ${JSON.stringify(bytes.toString('latin1').slice(0, 80))}`;
            if (kind === 'valid') expect(err, `${shown} should land`).toBeUndefined();
            if (kind === 'huge') expect(err, shown).toMatch(/exceeds max_record_bytes/);
            if (kind === 'invalid_utf8') expect(err, shown).toBe('invalid UTF-8');
            if (kind === 'not_object') expect(err, shown).toMatch(/expected a JSON object/);
            // Cut inside a multi-byte character, a truncated line is invalid UTF-8 before it is malformed JSON.
            if (kind === 'truncated' || kind === 'control') expect(err ?? 'landed', shown).toMatch(/^malformed JSON|^invalid UTF-8$/);
          }
        }
        landedTotal += l.length;
        deadTotal += d.length;
        generated += c.expected;
      }
    }
    expect(landedTotal + deadTotal).toBe(generated);
    expect(landedTotal).toBeGreaterThan(generated * 0.3);
    expect(deadTotal).toBeGreaterThan(generated * 0.1);
    console.log(`fuzz seed ${SEED}: ${CASES} files, ${generated} records: ${landedTotal} landed, ${deadTotal} dead letters`);
  }, 600_000);
});
