/**
 * Files: a glob per stream. The state is a manifest of loaded files (size,
 * mtime, content hash) plus progress inside the current file, so only new or
 * changed files are read, a changed file replaces its earlier rows, and a crash
 * mid-file resumes after the last committed line.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { glob } from 'tinyglobby';
import { AbortedError } from '../../../core/errors.js';
import { didYouMean } from '../../../core/suggest.js';
import type { CheckOptions, CheckResult, JsonLinesPart, RecordBatch, ReadOptions, Source, SourceContext, SourceRecord, StreamColumn, StreamInfo } from '../../source.js';
import type { FilesConfig, FilesStreamConfig } from './config.js';
import { parquetColumns } from './parquet.js';
import { formatOf, readRecordChunks } from './read-file.js';

/**
 * NDJSON files handed to the warehouse in one batch: up to this many bytes or files (a batch whose
 * lines the warehouse refuses is loaded again file by file). The warehouse holds a batch's lines in
 * memory while it loads them; fewer, larger batches commit and checkpoint faster (bench/ndjson-bronze.mjs).
 */
const GROUP_BYTES = 128 * 1024 * 1024;
const GROUP_FILES = 16;

interface FileEntry { size: number; mtimeMs: number; hash: string }
export interface FilesState {
  files: Record<string, FileEntry>;
  /** The file being loaded, how many of its records are committed, and the last committed record's line (unset in states of older versions). */
  current?: { path: string; hash: string; records: number; line?: number };
}

/** A file to read, and where to start: after `records` records, the last of them on `line` (undefined: unknown). */
interface FileRun {
  readonly abs: string;
  readonly path: string;
  readonly entry: FileEntry;
  /** The manifest before this file. */
  readonly files: Record<string, FileEntry>;
  records: number;
  line: number | undefined;
}

/** The file's SHA-1, and whether it starts with a UTF-8 byte order mark. */
async function hashFile(path: string): Promise<{ hash: string; bom: boolean }> {
  const h = createHash('sha1');
  let head: Buffer | undefined;
  for await (const chunk of createReadStream(path)) {
    head ??= chunk as Buffer;
    h.update(chunk as Buffer);
  }
  return { hash: h.digest('hex'), bom: Boolean(head && head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) };
}

export class FilesSource implements Source {
  constructor(private readonly cfg: FilesConfig, private readonly ctx: SourceContext) {}

  private async list(stream: string): Promise<string[]> {
    const s = this.cfg.streams[stream]!;
    const files = await glob(s.path, { cwd: this.ctx.projectDir, absolute: true, onlyFiles: true });
    return files.sort();
  }

  async check(opts?: CheckOptions): Promise<CheckResult> {
    for (const name of opts?.stream ? [opts.stream] : Object.keys(this.cfg.streams)) {
      if ((await this.list(name)).length === 0) return { ok: false, reason: `stream ${name}: no file matches ${this.cfg.streams[name]!.path}${await this.missingFolder(this.cfg.streams[name]!.path)}` };
    }
    return { ok: true };
  }

  /** Where a glob's folder (its part before the first wildcard) is missing: which, and the closest folder that exists. */
  private async missingFolder(pattern: string): Promise<string> {
    const parts = pattern.split('/');
    const fixed: string[] = [];
    for (const part of parts.slice(0, -1)) {
      if (/[*?[\]{}!]/.test(part)) break;
      fixed.push(part);
    }
    // Walk down from the deepest folder that exists (the project, `..`, `/`): the first missing one is the typo.
    let dir = isAbsolute(pattern) ? '/' : this.ctx.projectDir;
    let shown = isAbsolute(pattern) ? '/' : '';
    for (const part of fixed) {
      if (part === '' || part === '.' || part === '..') {
        dir = resolve(dir, part || '.');
        shown += part ? `${part}/` : '';
        continue;
      }
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
      if (!entries) return '';
      const folders = entries.filter((e) => e.isDirectory()).map((e) => e.name);
      if (!folders.includes(part)) {
        const hint = didYouMean(part, folders);
        return ` (folder ${shown}${part}/ does not exist${hint ? `; ${hint}` : ''})`;
      }
      dir = join(dir, part);
      shown += `${part}/`;
    }
    return '';
  }

  async discover(): Promise<StreamInfo[]> {
    const out: StreamInfo[] = [];
    for (const [name, s] of Object.entries(this.cfg.streams)) {
      const declared = s.columns ? Object.entries(s.columns).map(([column, type]) => ({ name: column, type })) : [];
      const columns = [...(await this.parquetSchema(name)).filter((c) => !s.columns?.[c.name]), ...declared];
      out.push({
        name,
        primaryKey: s.primary_key,
        columns: columns.length ? columns : undefined,
        positionFields: [{ name: 'file', type: 'varchar' }, { name: 'line', type: 'bigint' }],
      });
    }
    return out;
  }

  /**
   * A Parquet stream's column types, from the first file's own schema (a file of another schema
   * adds its other columns as inferred ones). None for other formats, or when no file matches yet.
   */
  private async parquetSchema(stream: string): Promise<StreamColumn[]> {
    const cfg = this.cfg.streams[stream]!;
    // No glob for a stream that holds no Parquet (its format, or the extension its pattern names).
    if (cfg.format ? cfg.format !== 'parquet' : /\.(csv|tsv|txt|ndjson|jsonl|json)$/i.test(cfg.path)) return [];
    const first = (await this.list(stream)).find((f) => formatOf(f, cfg) === 'parquet');
    // A file whose footer does not read fails when it is read, with its name: not here, for every stream.
    return first ? parquetColumns(first).catch(() => []) : [];
  }

  async *read(stream: StreamInfo, opts: ReadOptions): AsyncIterable<RecordBatch> {
    const cfg = this.cfg.streams[stream.name]!;
    const prev = (opts.state as FilesState | undefined) ?? { files: {} };
    const state: FilesState = { files: { ...prev.files }, current: prev.current };
    // Nothing loaded yet: the bronze table may not exist.
    let first = Object.keys(prev.files).length === 0 && !prev.current;
    // NDJSON files for the warehouse, loaded together (its threads work on several files at once).
    let group: JsonLinesPart[] = [];
    let groupBytes = 0;
    const flushGroup = (): RecordBatch => {
      const parts = group;
      group = [];
      groupBytes = 0;
      return { records: [], state: parts[parts.length - 1]!.state, lines: { parts, lineField: 'line' } };
    };
    for (const abs of await this.list(stream.name)) {
      if (opts.signal?.aborted) throw new AbortedError('cancelled');
      const path = relative(this.ctx.projectDir, abs).split('\\').join('/');
      const st = await stat(abs);
      const known = state.files[path];
      if (known && known.size === st.size && known.mtimeMs === st.mtimeMs) continue;
      const { hash, bom } = await hashFile(abs);
      const entry: FileEntry = { size: st.size, mtimeMs: st.mtimeMs, hash };
      if (known && known.hash === hash) {
        state.files[path] = entry;
        continue;
      }
      const resume = state.current?.path === path && state.current.hash === hash ? state.current : undefined;
      const file: FileRun = { abs, path, entry, files: { ...state.files }, records: resume?.records ?? 0, line: resume ? resume.line : 0 };
      state.files[path] = entry;
      state.current = undefined;
      const isFirst = first;
      first = false;
      // Where the warehouse parses NDJSON itself, the file goes to it as lines; it takes them
      // whole or hands them back (fallback) to be read here as records.
      // (Not a file that starts with a byte order mark: DuckDB's reader drops it, so a first line of
      // nothing else would be no record there but a bad one here.)
      if (opts.jsonLines && cfg.parse_in_warehouse && cfg.encoding === 'utf8' && formatOf(abs, cfg) === 'ndjson' && file.line !== undefined && !bom) {
        if (isFirst && file.records === 0) {
          // (No group yet: this is the first file.)
          // The stream's very first batch goes as records: it creates the table and its columns,
          // which the warehouse needs to type the rest.
          const at = yield* this.fileBatches(file, cfg, opts, 1);
          if (!at) continue;
          file.records = at.records;
          file.line = at.line;
        }
        const from = { ...file };
        group.push({
          path: abs, afterLine: from.line!, position: { file: path }, state: { files: { ...file.files, [path]: entry } },
          supersedes: from.records === 0 ? { file: path } : undefined, fallback: () => this.fileBatches(from, cfg, opts),
        });
        groupBytes += entry.size;
        if (groupBytes >= GROUP_BYTES || group.length >= GROUP_FILES) yield flushGroup();
        continue;
      }
      if (group.length) yield flushGroup();
      yield* this.fileBatches(file, cfg, opts);
    }
    if (group.length) yield flushGroup();
  }

  /**
   * One file's records in batches, from where `file` says it was left. The last batch's state has
   * the file in the manifest. With `maxBatches`, stops after that many batches that do not end the
   * file and returns how far they got (undefined: the file ended).
   */
  private async *fileBatches(file: FileRun, cfg: FilesStreamConfig, opts: ReadOptions, maxBatches = Infinity): AsyncGenerator<RecordBatch, { records: number; line: number } | undefined> {
    const { abs, path, entry, files } = file;
    let supersedes: Record<string, unknown> | undefined = file.records === 0 ? { file: path } : undefined;
    let count = 0;
    let line = 0;
    let batches = 0;
    let batch: SourceRecord[] = [];
    const flush = (done: boolean): RecordBatch => {
      const out: RecordBatch = {
        records: batch,
        state: done ? { files: { ...files, [path]: entry } } : { files, current: { path, hash: entry.hash, records: count, line } },
        supersedes,
      };
      supersedes = undefined;
      batch = [];
      return out;
    };
    for await (const chunk of readRecordChunks(abs, cfg)) {
      for (const r of chunk) {
        count++;
        if (count <= file.records) continue;
        batch.push({ data: r.data, raw: r.raw, error: r.error, position: { file: path, line: r.line } });
        line = r.line;
        if (batch.length >= opts.batchSize) {
          if (opts.signal?.aborted) throw new AbortedError('cancelled');
          yield flush(false);
          if (++batches >= maxBatches) return { records: count, line };
        }
      }
    }
    yield flush(true);
    return undefined;
  }

  async close(): Promise<void> {}
}
