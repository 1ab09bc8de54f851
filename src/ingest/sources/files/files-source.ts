/**
 * Files: a glob per stream. The state is a manifest of loaded files (size,
 * mtime, content hash) plus progress inside the current file, so only new or
 * changed files are read, a changed file replaces its earlier rows, and a crash
 * mid-file resumes after the last committed line.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { relative } from 'node:path';
import { glob } from 'tinyglobby';
import { AbortedError } from '../../../core/errors.js';
import type { CheckResult, RecordBatch, ReadOptions, Source, SourceContext, SourceRecord, StreamInfo } from '../../source.js';
import type { FilesConfig } from './config.js';
import { readRecordChunks } from './read-file.js';

interface FileEntry { size: number; mtimeMs: number; hash: string }
export interface FilesState {
  files: Record<string, FileEntry>;
  /** The file being loaded and how many of its records are committed. */
  current?: { path: string; hash: string; records: number };
}

async function hashFile(path: string): Promise<string> {
  const h = createHash('sha1');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export class FilesSource implements Source {
  constructor(private readonly cfg: FilesConfig, private readonly ctx: SourceContext) {}

  private async list(stream: string): Promise<string[]> {
    const s = this.cfg.streams[stream]!;
    const files = await glob(s.path, { cwd: this.ctx.projectDir, absolute: true, onlyFiles: true });
    return files.sort();
  }

  async check(): Promise<CheckResult> {
    for (const name of Object.keys(this.cfg.streams)) {
      if ((await this.list(name)).length === 0) return { ok: false, reason: `stream ${name}: no file matches ${this.cfg.streams[name]!.path}` };
    }
    return { ok: true };
  }

  async discover(): Promise<StreamInfo[]> {
    return Object.entries(this.cfg.streams).map(([name, s]) => ({
      name,
      primaryKey: s.primary_key,
      positionFields: [{ name: 'file', type: 'varchar' }, { name: 'line', type: 'bigint' }],
    }));
  }

  async *read(stream: StreamInfo, opts: ReadOptions): AsyncIterable<RecordBatch> {
    const cfg = this.cfg.streams[stream.name]!;
    const prev = (opts.state as FilesState | undefined) ?? { files: {} };
    const state: FilesState = { files: { ...prev.files }, current: prev.current };
    for (const abs of await this.list(stream.name)) {
      if (opts.signal?.aborted) throw new AbortedError('cancelled');
      const path = relative(this.ctx.projectDir, abs).split('\\').join('/');
      const st = await stat(abs);
      const known = state.files[path];
      if (known && known.size === st.size && known.mtimeMs === st.mtimeMs) continue;
      const hash = await hashFile(abs);
      if (known && known.hash === hash) {
        state.files[path] = { size: st.size, mtimeMs: st.mtimeMs, hash };
        continue;
      }
      const resumeFrom = state.current?.path === path && state.current.hash === hash ? state.current.records : 0;
      let supersedes: Record<string, unknown> | undefined = resumeFrom === 0 ? { file: path } : undefined;
      let count = 0;
      let batch: SourceRecord[] = [];
      const flush = (done: boolean): RecordBatch => {
        const out: RecordBatch = {
          records: batch,
          state: done
            ? { files: { ...state.files, [path]: { size: st.size, mtimeMs: st.mtimeMs, hash } } }
            : { files: state.files, current: { path, hash, records: count } },
          supersedes,
        };
        supersedes = undefined;
        batch = [];
        return out;
      };
      for await (const chunk of readRecordChunks(abs, cfg)) {
        for (const r of chunk) {
          count++;
          if (count <= resumeFrom) continue;
          batch.push({ data: r.data, raw: r.raw, error: r.error, position: { file: path, line: r.line } });
          if (batch.length >= opts.batchSize) {
            if (opts.signal?.aborted) throw new AbortedError('cancelled');
            yield flush(false);
          }
        }
      }
      state.files[path] = { size: st.size, mtimeMs: st.mtimeMs, hash };
      state.current = undefined;
      yield flush(true);
    }
  }

  async close(): Promise<void> {}
}
