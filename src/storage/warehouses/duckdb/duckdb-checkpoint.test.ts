/**
 * A checkpoint killed halfway through its in-place metadata write leaves a torn block; smelt's
 * sidecar puts it back. The torn file is built the way a kill builds it: the database before the
 * checkpoint, with part of the block the checkpoint wrote in place.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { REPO } from '../../../../test/helpers/project.js';
import { tempDirs } from '../../../../test/helpers/temp-dirs.js';
import { withConnection } from '../../warehouse.js';
import { headerIteration, parseBytes, readSidecar, recoverInterruptedCheckpoint, sidecarPath } from './duckdb-checkpoint.js';
import { duckdbAdapter } from './index.js';

const tempDir = tempDirs('smelt-ckpt-');
const ROWS = 'SELECT count(*)::INT AS n, sum(length(CAST(t AS VARCHAR)))::BIGINT AS chars FROM t';

/** Every column of every row read back (a torn block fails here), with raw DuckDB, read-only. */
async function scan(db: string): Promise<{ n: number; chars: number }> {
  const inst = await DuckDBInstance.create(db, { access_mode: 'READ_ONLY' });
  const conn = await inst.connect();
  try {
    const [row] = (await conn.runAndReadAll(ROWS)).getRowObjectsJS();
    return { n: Number(row!.n), chars: Number(row!.chars) };
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

const copyDb = (from: string, to: string) => {
  for (const suffix of ['', '.wal', '.smelt-checkpoint']) if (existsSync(from + suffix)) copyFileSync(from + suffix, to + suffix);
};

/**
 * In a process that then exits: a checkpointed table, more rows in the WAL, the sidecar, a copy of
 * that state (`<db>.before`), then the CHECKPOINT. Returns the copy's path.
 */
function checkpointInChild(db: string): string {
  const script = `import { DuckDBInstance } from '@duckdb/node-api';
import { copyFileSync, existsSync } from 'node:fs';
import { saveMetadataBlocks } from './dist/storage/warehouses/duckdb/duckdb-checkpoint.js';
const db = ${JSON.stringify(db)};
const inst = await DuckDBInstance.create(db, { checkpoint_threshold: '1000TB' });
const c = await inst.connect();
await c.run('PRAGMA disable_checkpoint_on_shutdown');
await c.run("CREATE TABLE t AS SELECT i, i % 7 AS k, repeat('x', 40 + i % 17) AS pad FROM range(50000) r(i)");
await c.run("CREATE TABLE other AS SELECT 1 AS x");
await c.run('CHECKPOINT');
await c.run("DELETE FROM t WHERE k = 3");
await c.run("INSERT INTO t SELECT i, 3, repeat('y', 30 + i % 11) FROM range(50000, 90000) r(i)");
await saveMetadataBlocks(c, db);
for (const s of ['', '.wal', '.smelt-checkpoint']) if (existsSync(db + s)) copyFileSync(db + s, db + '.before' + s);
await c.run('CHECKPOINT');
c.closeSync();
inst.closeSync();`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
  return `${db}.before`;
}

/** A fresh database after checkpointInChild: its path and the copy from before the CHECKPOINT. */
function checkpointed(): { dir: string; db: string; before: string } {
  const dir = tempDir();
  const db = join(dir, 'w.duckdb');
  return { dir, db, before: checkpointInChild(db) };
}

/** Blocks the checkpoint rewrote in place: offsets saved in the sidecar whose bytes changed. */
function rewrittenInPlace(before: string, after: string): { offset: number; size: number }[] {
  const { head } = readSidecar(sidecarPath(before))!;
  const a = readFileSync(before);
  const b = readFileSync(after);
  return head.offsets.filter((o) => !a.subarray(o, o + head.blockSize).equals(b.subarray(o, o + head.blockSize))).map((offset) => ({ offset, size: head.blockSize }));
}

describe('checkpoints a kill cannot corrupt', () => {
  it('puts back a metadata block the checkpoint tore, and the WAL replays on top', async () => {
    const { dir, db, before } = checkpointed();
    const expected = await scan(db); // the finished checkpoint: every row
    expect(expected.n).toBe(50000 - 7143 + 40000); // 7143 rows have k = 3

    // DuckDB rewrote at least one metadata block in place: the premise of the guard.
    const blocks = rewrittenInPlace(before, db);
    expect(blocks.length).toBeGreaterThan(0);

    // The torn file: the state before the checkpoint, with the new block's pages up to the page of
    // its last change (a kill stops a write between pages). The header on disk is still the old
    // one; the WAL is still whole.
    const { offset, size } = blocks[0]!;
    const newBlock = readFileSync(db).subarray(offset, offset + size);
    const oldBlock = readFileSync(before).subarray(offset, offset + size);
    let last = size - 1;
    while (newBlock[last] === oldBlock[last]) last--;
    const cut = Math.floor(last / 4096) * 4096;
    expect(cut).toBeGreaterThan(0); // the change spans pages: a kill can tear it
    const torn = join(dir, 'torn.duckdb');
    copyDb(before, torn);
    const bytes = readFileSync(torn);
    newBlock.copy(bytes, offset, 0, cut);
    writeFileSync(torn, bytes);
    expect(headerIteration(torn)).toBe(headerIteration(before));

    // Without the sidecar, DuckDB cannot read the table: the error CI saw.
    const control = join(dir, 'control.duckdb');
    copyDb(torn, control);
    await expect(scan(control)).rejects.toThrow(/Corrupt database file: computed checksum \d+ does not match stored checksum/);

    // With it: the blocks go back, the WAL replays, every row is there, the sidecar is gone.
    expect(recoverInterruptedCheckpoint(torn)).toBe('restored');
    expect(existsSync(sidecarPath(torn))).toBe(false);
    expect(await scan(torn)).toEqual(expected);
    expect(recoverInterruptedCheckpoint(torn)).toBe('none');
  });

  it('drops the sidecar of a checkpoint that finished, and never touches the file', async () => {
    const { db, before } = checkpointed();
    // Killed after the new header, before the sidecar was removed.
    copyFileSync(sidecarPath(before), sidecarPath(db));
    expect(headerIteration(db)! > headerIteration(before)!).toBe(true);
    const file = readFileSync(db);
    expect(recoverInterruptedCheckpoint(db)).toBe('stale');
    expect(readFileSync(db).equals(file)).toBe(true);
    expect(existsSync(sidecarPath(db))).toBe(false);
  });

  it('leaves the sidecar of a process that still runs alone', async () => {
    const { before } = checkpointed();
    // This process's pid, as if it were the one in the middle of the checkpoint.
    const { head, blocks } = readSidecar(sidecarPath(before))!;
    writeFileSync(sidecarPath(before), Buffer.concat([Buffer.from(`${JSON.stringify({ ...head, pid: process.pid })}\n`), blocks]));
    const file = readFileSync(before);
    expect(recoverInterruptedCheckpoint(before)).toBe('in-use');
    expect(readFileSync(before).equals(file)).toBe(true);
    expect(existsSync(sidecarPath(before))).toBe(true);
  });

  it('a warehouse checkpoints itself at the configured WAL size and at close, leaving no sidecar', async () => {
    const dir = tempDir();
    const wh = await duckdbAdapter.open(duckdbAdapter.parseConfig({ type: 'duckdb', path: 'w.duckdb', settings: { checkpoint_threshold: '1MB' } }), { projectDir: dir });
    const db = join(dir, 'w.duckdb');
    let largestWal = 0;
    await withConnection(wh, async (c) => {
      // DuckDB's own threshold is out of reach; the configured one is smelt's.
      expect(String((await c.execute("SELECT current_setting('checkpoint_threshold') AS t")).rows[0]!.t)).toMatch(/TiB|PiB/);
      await c.execute('CREATE TABLE t (i BIGINT, pad VARCHAR)');
      for (let i = 0; i < 20; i++) {
        await c.execute(`INSERT INTO t SELECT i, repeat('z', 60) FROM range(${i * 5000}, ${(i + 1) * 5000}) r(i)`);
        largestWal = Math.max(largestWal, existsSync(`${db}.wal`) ? statSync(`${db}.wal`).size : 0);
      }
    });
    // Each insert adds well under 1 MB to the WAL: checkpointed once past 1 MB, never far beyond.
    expect(largestWal).toBeGreaterThan(0);
    expect(largestWal).toBeLessThan(1_000_000);
    await wh.close();
    expect(existsSync(`${db}.wal`) ? statSync(`${db}.wal`).size : 0).toBe(0);
    expect(existsSync(sidecarPath(db))).toBe(false);
    expect(await scan(db)).toEqual({ n: 100000, chars: expect.any(Number) });
  });

  it('reads sizes as DuckDB writes them', () => {
    expect(parseBytes('16MB')).toBe(16_000_000);
    expect(parseBytes('16 MiB')).toBe(16 * 1024 * 1024);
    expect(parseBytes('1.5GB')).toBe(1_500_000_000);
    expect(parseBytes(4096)).toBe(4096);
    expect(parseBytes('lots')).toBeUndefined();
  });
});
