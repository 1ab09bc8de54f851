/**
 * Checkpoints that survive a process killed in the middle of one.
 *
 * A DuckDB checkpoint writes table data to free blocks, then rewrites its metadata blocks *in
 * place*, then the new header. A complete in-place write keeps the sub-blocks the old header
 * reads, so a crash before the header is harmless. A torn one is not. SIGKILL tears writes: Linux
 * stops a buffered write between pages when a fatal signal is pending, and a write waiting on
 * dirty-page throttling can be killed, so a 256 KiB metadata block can end up half new, half old.
 * The old header then points into a block whose checksum fails: "Corrupt database file: computed
 * checksum … does not match stored checksum … in block at location …", and every query on the
 * table fails. (Seen in CI's files kill test; `duckdb-checkpoint.test.ts` shows the same error on
 * a torn block.) DuckDB 1.5 has no setting against it.
 *
 * So smelt checkpoints with a double write, as InnoDB does with its pages:
 * 1. DuckDB's own checkpoints are off (a threshold it never reaches, none at shutdown);
 * 2. before each checkpoint, the metadata blocks as the current header sees them go to a sidecar
 *    file `<db>.smelt-checkpoint`, synced, then renamed into place;
 * 3. CHECKPOINT; the sidecar is removed once it returns.
 * Opening the database first looks for a sidecar whose writer is gone. If the header is still the
 * one the sidecar was taken from, the checkpoint never finished: the blocks are put back as they
 * were (the WAL, which that checkpoint never truncated, then replays on top). If a newer header is
 * on disk, the checkpoint finished and the sidecar is stale.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';

/** The sidecar next to a database file. */
export const sidecarPath = (db: string) => `${db}.smelt-checkpoint`;

/** DuckDB's file layout: a main header, two database headers (4 KiB each), then the blocks. */
const HEADER_SIZE = 4096;
const BLOCKS_START = 3 * HEADER_SIZE;

/** The WAL size at which smelt checkpoints, unless `checkpoint_threshold` says otherwise (DuckDB's default). */
export const DEFAULT_CHECKPOINT_BYTES = 16 * 1024 * 1024;

/** What a sidecar file starts with (one JSON line), before the saved blocks. */
export interface SidecarHead {
  readonly pid: number;
  readonly host: string;
  /** The iteration of the header the saved blocks belong to. */
  readonly iteration: string;
  readonly blockSize: number;
  readonly offsets: readonly number[];
  readonly sha256: string;
}

const MASK = (1n << 64n) - 1n;

/** DuckDB's checksum of a buffer whose length is a multiple of 8 (a header is). */
function duckdbChecksum(buf: Buffer): bigint {
  let r = 5381n;
  for (let o = 0; o + 8 <= buf.length; o += 8) r ^= (buf.readBigUInt64LE(o) * 0xbf58476d1ce4e5b9n) & MASK;
  return r;
}

/** The iteration of the newest database header whose checksum holds (the one DuckDB opens), if any. */
export function headerIteration(db: string): bigint | undefined {
  if (!existsSync(db)) return undefined;
  const fd = openSync(db, 'r');
  try {
    const buf = Buffer.alloc(2 * HEADER_SIZE);
    if (readSync(fd, buf, 0, buf.length, HEADER_SIZE) < buf.length) return undefined;
    let best: bigint | undefined;
    for (const start of [0, HEADER_SIZE]) {
      const h = buf.subarray(start, start + HEADER_SIZE);
      if (h.readBigUInt64LE(0) !== duckdbChecksum(h.subarray(8))) continue;
      const it = h.readBigUInt64LE(8);
      if (best === undefined || it > best) best = it;
    }
    return best;
  } finally {
    closeSync(fd);
  }
}

/** Makes a rename or unlink in the file's folder durable (where the platform can sync a folder). */
function syncDir(path: string): void {
  let fd: number;
  try {
    fd = openSync(dirname(path), 'r');
  } catch {
    return; // Windows cannot open a folder to sync it
  }
  try {
    fsyncSync(fd);
  } catch {
    // some file systems refuse fsync on a folder; the file's own sync still happened
  } finally {
    closeSync(fd);
  }
}

function alive(head: SidecarHead): boolean {
  if (head.host !== hostname()) return true; // another machine's process: not ours to judge
  if (head.pid === process.pid) return true;
  try {
    process.kill(head.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A sidecar's head and blocks, or undefined if it does not verify. */
export function readSidecar(path: string): { head: SidecarHead; blocks: Buffer } | undefined {
  const raw = readFileSync(path);
  const nl = raw.indexOf(0x0a);
  if (nl < 0) return undefined;
  try {
    const head = JSON.parse(raw.subarray(0, nl).toString('utf8')) as SidecarHead;
    const blocks = raw.subarray(nl + 1);
    if (blocks.length !== head.offsets.length * head.blockSize) return undefined;
    if (createHash('sha256').update(blocks).digest('hex') !== head.sha256) return undefined;
    return { head, blocks };
  } catch {
    return undefined;
  }
}

export type Recovery = 'none' | 'restored' | 'stale' | 'in-use';

/**
 * Run before DuckDB opens `db`: puts back the metadata blocks of a checkpoint that a killed process
 * left unfinished. 'in-use': the sidecar's writer still runs (DuckDB's lock will refuse this open).
 */
export function recoverInterruptedCheckpoint(db: string): Recovery {
  const path = sidecarPath(db);
  if (!existsSync(path)) return 'none';
  const saved = readSidecar(path);
  if (saved && alive(saved.head)) return 'in-use';
  // A sidecar that does not verify was never renamed into place whole: nothing to restore.
  if (!saved || headerIteration(db) !== BigInt(saved.head.iteration)) {
    rmSync(path);
    return 'stale';
  }
  const fd = openSync(db, 'r+');
  try {
    const { head, blocks } = saved;
    head.offsets.forEach((offset, i) => writeSync(fd, blocks, i * head.blockSize, head.blockSize, offset));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  rmSync(path);
  syncDir(path);
  return 'restored';
}

/** Saves the metadata blocks the on-disk header reads, synced, before a checkpoint may rewrite them. */
export async function saveMetadataBlocks(conn: DuckDBConnection, db: string): Promise<void> {
  const iteration = headerIteration(db);
  if (iteration === undefined) return; // a new file: no header yet, nothing a checkpoint could tear
  const blockSize = Number((await conn.runAndReadAll('PRAGMA database_size')).getRowObjectsJS()[0]!.block_size);
  const size = statSync(db).size;
  const ids = (await conn.runAndReadAll('SELECT block_id FROM pragma_metadata_info()')).getRows().map((r) => Number(r[0]));
  // Blocks past the end of the file are new since the header: it does not read them.
  const offsets = ids.map((id) => BLOCKS_START + id * blockSize).filter((o) => o + blockSize <= size).sort((a, b) => a - b);
  const blocks = Buffer.alloc(offsets.length * blockSize);
  const fd = openSync(db, 'r');
  try {
    offsets.forEach((o, i) => readSync(fd, blocks, i * blockSize, blockSize, o));
  } finally {
    closeSync(fd);
  }
  const head: SidecarHead = { pid: process.pid, host: hostname(), iteration: String(iteration), blockSize, offsets, sha256: createHash('sha256').update(blocks).digest('hex') };
  const path = sidecarPath(db);
  const tmp = `${path}.tmp`;
  const out = openSync(tmp, 'w');
  try {
    writeSync(out, `${JSON.stringify(head)}\n`);
    writeSync(out, blocks);
    fsyncSync(out);
  } finally {
    closeSync(out);
  }
  renameSync(tmp, path);
  syncDir(path);
}

/**
 * The checkpoints of one read-write DuckDB instance: after writes once the WAL has grown past
 * `thresholdBytes`, and at close. One at a time.
 */
export class CheckpointGuard {
  private running?: Promise<void>;

  constructor(
    private readonly db: string,
    private readonly connect: () => Promise<DuckDBConnection>,
    private readonly thresholdBytes: number,
  ) {}

  /** Checkpoints if the WAL has grown past the threshold (a stat per call: cheap next to a statement). */
  async afterWrite(): Promise<void> {
    if (this.walBytes() >= this.thresholdBytes) await this.checkpoint();
  }

  /** At close: whatever the WAL holds goes into the file, so the next open replays nothing. */
  async beforeClose(): Promise<void> {
    if (this.walBytes() > 0) await this.checkpoint();
  }

  private walBytes(): number {
    try {
      return statSync(`${this.db}.wal`).size;
    } catch {
      return 0; // no WAL: nothing to checkpoint
    }
  }

  /** A guarded CHECKPOINT (or the one already running). */
  checkpoint(): Promise<void> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<void> {
    const conn = await this.connect();
    try {
      await saveMetadataBlocks(conn, this.db);
      try {
        await conn.run('CHECKPOINT');
      } catch (e) {
        // Another connection is in a write transaction: DuckDB refuses before writing anything. The
        // next write after it (or the close) checkpoints instead.
        if (!/other write transactions active/i.test(e instanceof Error ? e.message : String(e))) throw e;
      }
      // Finished or refused: the sidecar is stale.
      rmSync(sidecarPath(this.db), { force: true });
    } finally {
      conn.closeSync();
    }
  }
}

/** `'16MB'`, `'1 GiB'`, `1048576` as bytes (DuckDB's size syntax), or undefined. */
export function parseBytes(v: string | number | boolean | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$/i.exec(v);
  if (!m) return undefined;
  const unit = (m[2] ?? '').toLowerCase();
  const power = { '': 0, b: 0, k: 1, kb: 1, kib: 1, m: 2, mb: 2, mib: 2, g: 3, gb: 3, gib: 3, t: 4, tb: 4, tib: 4 }[unit];
  if (power === undefined) return undefined;
  const base = unit.includes('i') ? 1024 : 1000;
  return Math.round(Number(m[1]) * base ** power);
}
