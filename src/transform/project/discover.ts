import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** The files that make up a project, as project-relative POSIX paths. */
export interface ProjectFiles {
  readonly models: string[];
  readonly yaml: string[];
  readonly seeds: string[];
  readonly snapshots: string[];
  readonly tests: string[];
  readonly macros: string[];
}

function walk(root: string, dir: string, out: string[]): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries.sort()) {
    if (name.startsWith('.') || name === 'node_modules') continue;
    const full = join(dir, name);
    let isDir = false;
    try {
      isDir = statSync(full).isDirectory();
    } catch {
      // A dangling symlink: list it as a file so that reading it fails with the file's name and a
      // hint (seed → a failed node; model → a compile error), instead of a bare ENOENT from here.
    }
    if (isDir) walk(root, full, out);
    else out.push(relative(root, full).split(sep).join('/'));
  }
}

/** Lists the project's models, YAML property files, seeds, snapshots, singular tests and macros. */
export function discoverProject(projectDir: string): ProjectFiles {
  const files: string[] = [];
  for (const d of ['models', 'seeds', 'snapshots', 'tests', 'macros']) walk(projectDir, join(projectDir, d), files);
  const under = (d: string, re: RegExp) => files.filter((f) => f.startsWith(`${d}/`) && re.test(f));
  return {
    models: under('models', /\.sql$/),
    yaml: files.filter((f) => /\.ya?ml$/.test(f)),
    seeds: under('seeds', /\.csv$/),
    snapshots: under('snapshots', /\.sql$/),
    tests: under('tests', /\.sql$/),
    macros: under('macros', /\.(ts|mts|js|mjs)$/).filter((f) => !/\.test\.[mc]?[tj]s$/.test(f)),
  };
}

/** `models/staging/stg_orders.sql` → `stg_orders`. */
export const baseName = (file: string): string => file.slice(file.lastIndexOf('/') + 1).replace(/\.[^.]+$/, '');
