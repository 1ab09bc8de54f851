/**
 * The `smelt` command line. Commands are imported lazily so that `smelt ls`
 * never loads DuckDB and `smelt --help` loads almost nothing.
 */
import { Command, CommanderError, Option } from 'commander';
import { SMELT_VERSION } from '../core/version.js';
import { isSmeltError, toSmeltError } from '../core/errors.js';
import { redact } from '../core/redact.js';
import { createCtx, type Ctx, type GlobalOptions } from './context.js';
import { formatError } from './output/format-error.js';

type Handler = (ctx: Ctx, args: unknown[], opts: Record<string, any>) => Promise<number>;

const selectionOptions = (c: Command) =>
  c
    .option('-s, --select <selectors...>', 'nodes to run: orders, +orders, orders+, tag:x, path:models/gold')
    .option('--exclude <selectors...>', 'nodes to leave out')
    .option('-t, --threads <n>', 'parallel workers (default: the target\'s threads)', (v) => parseInt(v, 10))
    .option('--full-refresh', 'rebuild incremental models and snapshots from scratch');

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  let ctx: Ctx | undefined;
  const program = new Command('smelt')
    .description('smelt: ingest, transform and serve data from one process')
    .version(SMELT_VERSION, '--version')
    .option('--project-dir <dir>', 'project folder', process.env.SMELT_PROJECT_DIR ?? '.')
    .option('--target <name>', 'target from smelt.config.ts (default: SMELT_TARGET or defaultTarget)')
    .option('--vars <json>', 'override project vars: \'{"key": "value"}\' or key=value,key2=value2')
    .addOption(new Option('--log-format <format>', 'text lines or JSON lines').choices(['text', 'json']))
    .option('-q, --quiet', 'only errors and the summary')
    .option('-v, --verbose', 'more detail')
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s) });

  const action = (load: () => Promise<{ default: Handler }>) =>
    async function (this: Command, ...args: unknown[]) {
      const cmd = args[args.length - 1] as Command;
      const opts = { ...cmd.opts(), __command: cmd.name() };
      ctx = createCtx(program.opts() as GlobalOptions);
      const handler = (await load()).default;
      exitCode = await handler(ctx, args.slice(0, -2), opts);
    };

  program.command('init [dir]').description('create a project (the shop example) in dir').option('--force', 'write into a non-empty folder')
    .action(action(() => import('./commands/init.js')));
  program.command('check').description('validate config, models, YAML and tests without a database')
    .action(action(() => import('./commands/check.js')));
  program.command('compile [model]').description('compile the project; print one model\'s SQL')
    .option('--incremental', 'print the incremental variant')
    .action(action(() => import('./commands/compile.js')));
  selectionOptions(program.command('run').description('ingest, build and test in DAG order: sources → bronze → silver → gold'))
    .action(action(() => import('./commands/run-dag.js')));
  selectionOptions(program.command('ingest [sources...]').description('load sources into bronze (all, or the named ones)'))
    .option('--follow', 'keep reading continuous sources (Kafka) until Ctrl-C')
    .action(action(() => import('./commands/run-dag.js')));
  program.command('export <source>').description('write what a source reads (a first read, every stream) into PostgreSQL tables or Kafka topics')
    .option('--postgres <url>', 'into tables <schema>.<stream> (replaced)')
    .option('--schema <name>', 'schema of those tables (default: the source name)')
    .option('--kafka <brokers>', 'into topics <stream> (JSON values, appended); brokers comma-separated')
    .action(action(() => import('./commands/export.js')));
  program.command('state <action> [source] [stream]').description('show or reset ingestion state: state show [source], state reset <source> [stream]')
    .action(action(() => import('./commands/state.js')));
  for (const [name, description] of [
    ['build', 'seed, snapshot, build and test the selected nodes in DAG order'],
    ['test', 'run data tests and unit tests'],
    ['seed', 'load seeds/*.csv'],
    ['snapshot', 'update SCD2 snapshots'],
  ] as const) {
    selectionOptions(program.command(name).description(description)).action(action(() => import('./commands/run-dag.js')));
  }
  program.command('ls').description('list nodes').option('-s, --select <selectors...>', 'filter').option('--exclude <selectors...>', 'leave out')
    .addOption(new Option('--resource-type <type>', 'only one kind').choices(['model', 'seed', 'snapshot', 'source', 'test']))
    .addOption(new Option('--output <format>', 'text or json').choices(['text', 'json']).default('text'))
    .action(action(() => import('./commands/ls.js')));
  program.command('show <model>').description('preview rows of a model').option('-n, --limit <n>', 'rows', (v) => parseInt(v, 10), 10)
    .addOption(new Option('--format <format>').choices(['table', 'csv', 'json']).default('table'))
    .action(action(() => import('./commands/show.js')));
  program.command('query <sql>').description('run a read-only SQL query against the warehouse')
    .addOption(new Option('--format <format>').choices(['table', 'csv', 'json']).default('table'))
    .option('--limit <n>', 'at most n rows (default 1000, 0 for no limit)', (v) => parseInt(v, 10), 1000)
    .action(action(() => import('./commands/query.js')));
  program.command('lineage <model>').description('upstream and downstream tree of a node').option('--depth <n>', 'levels each way', (v) => parseInt(v, 10))
    .action(action(() => import('./commands/lineage.js')));
  program.command('clean').description('remove compiled artifacts (.smelt/target); --all also removes the embedded databases')
    .option('--all', 'also remove .smelt entirely (DuckDB files, run history)')
    .action(action(() => import('./commands/clean.js')));

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    const err = toSmeltError(e);
    const projectDir = ctx?.projectDir ?? process.cwd();
    if ((program.opts() as GlobalOptions).logFormat === 'json') {
      process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), event: 'error', ...err.toJSON() })}\n`);
    } else {
      process.stderr.write(`${formatError(err, projectDir, Boolean(process.stderr.isTTY))}\n`);
      if ((program.opts() as GlobalOptions).verbose && !isSmeltError(e) && e instanceof Error) process.stderr.write(`${redact(e.stack ?? '')}\n`);
    }
    exitCode = isSmeltError(e) ? e.exitCode : 1;
  } finally {
    await ctx?.close().catch(() => undefined);
  }
  return exitCode;
}
