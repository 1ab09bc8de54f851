/**
 * The NDJSON reader (lines found with indexOf, records handed on a chunk at a time) against a plain
 * byte-by-byte reference splitter: on fuzzed files with LF, CRLF and lone CR breaks, blank lines, BOMs,
 * multi-byte characters, invalid UTF-8 and lines across the 1 MB read chunks, both must give the
 * same lines, line numbers and decoded text (bytes decoded as normalize does; invalid ones as hex).
 */
import { mkdtempSync, writeFileSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { readRecordChunks } from '../../src/ingest/sources/files/read-file.js';

/** The reference: every byte looked at, each line a Buffer (as the reader was before). */
async function oldReader(path: string, latin1: boolean) {
  const out: { line: number; raw: unknown }[] = [];
  let line = 0; let carry: Buffer[] = []; let afterCR = false;
  const hasContent = (b: Uint8Array) => { for (let i = 0; i < b.length; i++) if (b[i] !== 0x20 && b[i] !== 0x09) return true; return false; };
  const record = (bytes: Buffer) => ({ line, raw: latin1 ? bytes.toString('latin1') : bytes });
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let start = afterCR && chunk[0] === 0x0a ? 1 : 0; afterCR = false;
    for (let i = start; i < chunk.length; i++) {
      const c = chunk[i]; if (c !== 0x0a && c !== 0x0d) continue;
      const part = chunk.subarray(start, i); const bytes = carry.length ? Buffer.concat([...carry, part]) : part; carry = []; line++;
      if (hasContent(bytes)) out.push(record(bytes));
      if (c === 0x0d) { if (i + 1 === chunk.length) afterCR = true; else if (chunk[i + 1] === 0x0a) i++; }
      start = i + 1;
    }
    if (start < chunk.length) carry.push(chunk.subarray(start));
  }
  if (carry.length) { line++; const bytes = Buffer.concat(carry); if (hasContent(bytes)) out.push(record(bytes)); }
  return out;
}
const dec = new TextDecoder('utf-8', { fatal: true });
const norm = (raw: unknown) => { if (typeof raw === 'string') return raw; try { return dec.decode(raw as Uint8Array); } catch { return `INVALID:${Buffer.from(raw as Uint8Array).toString('hex')}`; } };

it('gives the same records as a byte-by-byte splitter', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-'));
  let seed = 1; const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pieces = ['{"a":1}', '  ', '\t', '', 'héllo wörld ✓', '\uFEFF{"b":2}', '€', '😀', 'x'.repeat(300)];
  for (let f = 0; f < 6; f++) {
    const parts: Buffer[] = [];
    let size = 0;
    while (size < 2.5 * (1 << 20)) {
      const r = rnd();
      let b: Buffer;
      if (f >= 3 && r < 0.02) b = Buffer.from([0xff, 0xfe, 0x41]);
      else if (f >= 3 && r < 0.03) b = Buffer.from([0xe2, 0x82]); // truncated multi-byte
      else b = Buffer.from(pieces[Math.floor(rnd() * pieces.length)]!);
      const e = rnd();
      const brk = e < 0.6 ? '\n' : e < 0.8 ? '\r\n' : e < 0.9 ? '\r' : '';
      parts.push(b, Buffer.from(brk)); size += b.length + brk.length;
    }
    if (f % 2) parts.push(Buffer.from('tail without newline'));
    const path = join(dir, `f${f}.ndjson`);
    writeFileSync(path, Buffer.concat(parts));
    for (const latin1 of [false, true]) {
      const want = (await oldReader(path, latin1)).map((r) => [r.line, norm(r.raw)]);
      const got: unknown[] = [];
      for await (const ch of readRecordChunks(path, { encoding: latin1 ? 'latin1' : 'utf8' } as never)) for (const r of ch) got.push([r.line, norm(r.raw)]);
      expect(got.length).toBe(want.length);
      expect(got).toEqual(want);
    }
  }
}, 60_000);
