/** `smelt clean`: remove compiled artifacts; `--all` removes every local state file too. */
import { rmSync } from 'node:fs';
import { stateDir, targetDir } from '../../transform/artifacts.js';
import type { Ctx } from '../context.js';

export default async function clean(ctx: Ctx, _args: unknown[], opts: Record<string, any>): Promise<number> {
  const dir = opts.all ? stateDir(ctx.projectDir) : targetDir(ctx.projectDir);
  rmSync(dir, { recursive: true, force: true });
  ctx.out(`Removed ${dir}`);
  return 0;
}
