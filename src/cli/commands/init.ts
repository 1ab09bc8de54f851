/** `smelt init [dir]`: scaffolds the shop example, which builds end to end as it is. */
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../core/errors.js';
import type { Ctx } from '../context.js';

const TEMPLATE = fileURLToPath(new URL('../../../examples/shop', import.meta.url));

export default async function init(ctx: Ctx, args: unknown[], opts: Record<string, any>): Promise<number> {
  const dir = resolve(String(args[0] ?? ctx.opts.projectDir ?? '.'));
  if (existsSync(dir) && readdirSync(dir).length > 0 && !opts.force) {
    throw new UsageError(`${dir} is not empty`, { hint: 'pick a new folder, or pass --force to write into it' });
  }
  cpSync(TEMPLATE, dir, {
    recursive: true,
    filter: (src) => !/[\\/](\.smelt|node_modules)([\\/]|$)/.test(src.slice(TEMPLATE.length)),
  });
  const name = basename(dir).replace(/[^\w-]/g, '_').replace(/^[^A-Za-z_]/, '_') || 'shop';
  const cfgFile = join(dir, 'smelt.config.ts');
  writeFileSync(cfgFile, readFileSync(cfgFile, 'utf8').replace(/name: '[^']*'/, `name: '${name}'`));
  ctx.out(`Created project '${name}' in ${dir}\n\nNext:\n  npx smelt run --project-dir ${dir}\n  npx smelt query "select * from gold.mrr_by_month limit 5" --project-dir ${dir}`);
  return 0;
}
