/** Fixture projects for the compile tests (src/transform/compile/compile*.test.ts). */
import { expect } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { SmeltError } from '../../src/core/errors.js';
import type { Manifest, ModelNode } from '../../src/transform/manifest.js';
import { compile } from '../../src/transform/compile/compile.js';
import { makeProject, type TempProject } from './project.js';

const projects: TempProject[] = [];
/** Removes the projects compileProject() made; each test file calls it in afterEach. */
export function removeProjects(): void {
  for (const p of projects.splice(0)) p.remove();
}

/** Compiles a fixture project; `cfg` is extra properties of the (plain object) config. */
export async function compileProject(files: Record<string, string>, cfg = '', vars?: Record<string, unknown>): Promise<Manifest> {
  const p = makeProject({ 'smelt.config.ts': `export default { name: 'cmp'${cfg ? `, ${cfg}` : ''} };\n`, ...files }, 'smelt-compile-');
  projects.push(p);
  return compile(await loadConfig({ projectDir: p.dir, vars, env: {} }));
}

/** The SmeltError compiling the project raises. */
export async function compileError(files: Record<string, string>, cfg = ''): Promise<SmeltError> {
  const e = await compileProject(files, cfg).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, 'compile should fail').toBeInstanceOf(SmeltError);
  return e as SmeltError;
}

export const model = (m: Manifest, name: string) => m.nodes[`model.${name}`] as ModelNode;
