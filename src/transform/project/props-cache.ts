/**
 * The parsed property files of the last run, kept in `.smelt/cache/props.bin`, so that an
 * unchanged YAML file is not parsed again (dbt's partial parsing, for one stage). An entry is used
 * only for the same file with the same text (SHA-1 of it), parsed by the same build of smelt (the
 * parser module's own path and mtime are part of the key). The cache is an optimisation and
 * nothing more: one that cannot be read, or a project folder that cannot be written, just means
 * parsing everything, as without it. It is written atomically (temporary file, then rename), so a
 * killed run leaves the old cache or the new one.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import { stateDir } from '../artifacts.js';
import type { FileProps } from './yaml-props.js';

interface Stored {
  readonly build: string;
  readonly files: Map<string, { hash: string; props: FileProps }>;
}

export interface PropsCache {
  get(file: string, hash: string): FileProps | undefined;
  set(file: string, hash: string, props: FileProps): void;
  /** Writes the cache if anything changed, keeping only `files` (the project's property files now). */
  save(files: readonly string[]): void;
}

export const textHash = (text: string): string => createHash('sha1').update(text).digest('base64');

/** Which build of the parser wrote an entry: this module's sibling, yaml-props, by path and mtime. */
function buildKey(): string {
  const parser = join(dirname(fileURLToPath(import.meta.url)), `yaml-props${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`);
  try {
    return `${parser}:${statSync(parser).mtimeMs}`;
  } catch {
    return `${parser}:?`;
  }
}

export function openPropsCache(projectDir: string): PropsCache {
  const path = join(stateDir(projectDir), 'cache', 'props.bin');
  const build = buildKey();
  let files = new Map<string, { hash: string; props: FileProps }>();
  try {
    const stored = deserialize(readFileSync(path)) as Stored;
    if (stored?.build === build && stored.files instanceof Map) files = stored.files;
  } catch {
    // No cache yet, or one this build cannot read: parse everything.
  }
  let changed = false;
  return {
    get(file, hash) {
      const e = files.get(file);
      return e && e.hash === hash ? e.props : undefined;
    },
    set(file, hash, props) {
      files.set(file, { hash, props });
      changed = true;
    },
    save(current) {
      const keep = new Set(current);
      for (const f of files.keys()) {
        if (!keep.has(f)) {
          files.delete(f);
          changed = true;
        }
      }
      if (!changed) return;
      try {
        mkdirSync(dirname(path), { recursive: true });
        const tmp = `${path}.${process.pid}.tmp`;
        writeFileSync(tmp, serialize({ build, files } satisfies Stored));
        renameSync(tmp, path);
      } catch {
        // A read-only project folder: the next run parses again.
      }
    },
  };
}
