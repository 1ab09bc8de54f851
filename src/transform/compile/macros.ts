import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CompileError } from '../../core/errors.js';

export type MacroFn = (...args: unknown[]) => unknown;

/**
 * Loads `macros/*.ts` files: every exported function becomes callable from SQL
 * templates (`{{ cents_to_dollars('amount') }}`). Typed TypeScript instead of a
 * Jinja engine: logic lives in a real language with real tests.
 */
export async function loadMacros(projectDir: string, files: readonly string[]): Promise<Record<string, MacroFn>> {
  if (files.length === 0) return {};
  const { createJiti } = await import('jiti');
  const self = fileURLToPath(new URL('../../config-api.js', import.meta.url));
  const jiti = createJiti(pathToFileURL(join(projectDir, 'smelt.config.ts')).href, { alias: { smelt: self }, moduleCache: false });
  const out: Record<string, MacroFn> = {};
  for (const f of files) {
    let mod: Record<string, unknown>;
    try {
      mod = (await jiti.import(join(projectDir, f))) as Record<string, unknown>;
    } catch (e) {
      throw new CompileError(`cannot load macro file: ${e instanceof Error ? e.message.split('\n')[0] : e}`, { location: { file: f }, cause: e });
    }
    for (const [name, v] of Object.entries(mod)) {
      if (typeof v !== 'function' || name === 'default') continue;
      if (out[name]) throw new CompileError(`macro '${name}' is defined twice`, { location: { file: f } });
      out[name] = v as MacroFn;
    }
  }
  return out;
}
