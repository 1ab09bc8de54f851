/**
 * Run output in three styles: a live task list on a terminal, dbt-style plain
 * lines in CI or when piped, and JSON lines (`--log-format json`).
 */
import pc from 'picocolors';
import { redact } from '../../core/redact.js';
import type { RunEvent, RunResults, StepResult } from '../../transform/run/results.js';
import { formatLocation, codeFrame } from './format-error.js';
import { formatTable } from './table.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type OutputMode = 'live' | 'plain' | 'json';

export interface Reporter {
  event(e: RunEvent): void;
  info(message: string): void;
  done(r: RunResults): void;
}

export interface ReporterOptions {
  mode: OutputMode;
  quiet: boolean;
  color: boolean;
  projectDir: string;
  write?: (s: string) => void;
}

const STATUS_WORD: Record<StepResult['status'], string> = {
  success: 'OK', pass: 'PASS', warn: 'WARN', fail: 'FAIL', error: 'ERROR', skipped: 'SKIP',
};

const secs = (ms: number) => `${(ms / 1000).toFixed(2)}s`;
const time = () => new Date().toISOString().slice(11, 19);

function colorFor(status: StepResult['status'], color: boolean): (s: string) => string {
  if (!color) return (s) => s;
  if (status === 'success' || status === 'pass') return pc.green;
  if (status === 'warn' || status === 'skipped') return pc.yellow;
  return pc.red;
}

function finishLine(e: Extract<RunEvent, { type: 'finish' }>, color: boolean): string {
  const r = e.result;
  const word = colorFor(r.status, color)(STATUS_WORD[r.status]);
  const rows = r.rowsAffected !== undefined ? ` ${r.rowsAffected} row${r.rowsAffected === 1 ? '' : 's'}` : '';
  const detail =
    r.status === 'skipped' ? ` ${r.kind} ${r.name} (${r.message})`
    : r.status === 'error' ? ''
    : r.status === 'success' || r.kind === 'ingest' ? ` ${r.message}`
    : ` ${r.name}${r.failures ? ` (${r.message})` : ''}`;
  const subject = r.status === 'error' ? ` ${r.kind} ${r.name}` : '';
  return `${e.index} of ${e.total} ${word}${subject}${detail}${rows} in ${secs(r.durationMs)}`;
}

/** Details for failures and warnings, after the run. */
function failureDetails(r: RunResults, opts: ReporterOptions): string[] {
  const out: string[] = [];
  for (const s of r.results) {
    const changes = s.kind === 'ingest' && (s.sample?.length ?? 0) > 0;
    if (!['error', 'fail', 'warn'].includes(s.status) && !changes) continue;
    const title = `${changes && s.status === 'success' ? 'SCHEMA' : STATUS_WORD[s.status]} ${s.kind} ${s.name}`;
    out.push('', opts.color ? colorFor(s.status, true)(title) : title);
    if (s.error) {
      out.push(`  ${redact(s.error.message)}`);
      if (s.error.location) {
        out.push(`  at ${formatLocation(s.error.location)}`);
        const path = join(opts.projectDir, s.error.location.file);
        if (s.error.location.line && existsSync(path)) out.push(codeFrame(readFileSync(path, 'utf8'), s.error.location.line, s.error.location.column, opts.color));
      }
      if (s.error.hint) out.push(`  hint: ${redact(s.error.hint)}`);
    } else {
      out.push(`  ${s.message}`);
      if (s.sample?.length) {
        const cols = [...new Set(s.sample.flatMap((x) => Object.keys(x)))];
        out.push(formatTable(cols, s.sample));
      }
    }
  }
  return out;
}

export function createReporter(opts: ReporterOptions): Reporter {
  const write = opts.write ?? ((s: string) => process.stdout.write(s));
  if (opts.mode === 'json') {
    // The whole line is redacted: results carry messages, hints and sample rows from many places,
    // and a JSON consumer (a log shipper) is exactly where a leaked secret would be kept.
    const line = (o: Record<string, unknown>) => write(`${redact(JSON.stringify({ time: new Date().toISOString(), ...o }))}\n`);
    return {
      event: (e) => (e.type === 'start' ? line({ event: 'node_start', id: e.id, index: e.index, total: e.total, description: e.description }) : line({ event: 'node_finish', index: e.index, total: e.total, ...e.result })),
      info: (message) => line({ event: 'info', message }),
      done: (r) => line({ event: 'run_finish', runId: r.runId, command: r.command, durationMs: r.durationMs, summary: r.summary }),
    };
  }
  const summaryLine = (r: RunResults) => {
    const s = r.summary;
    const text = `Done. PASS=${s.pass} WARN=${s.warn} ERROR=${s.error} SKIP=${s.skip} TOTAL=${s.total}`;
    return opts.color ? (s.error ? pc.red(text) : s.warn ? pc.yellow(text) : pc.green(text)) : text;
  };
  if (opts.mode === 'plain') {
    return {
      event(e) {
        if (opts.quiet && !(e.type === 'finish' && ['error', 'fail', 'warn'].includes(e.result.status))) return;
        if (e.type === 'start') write(`${time()}  ${e.index} of ${e.total} START ${e.description} ${'.'.repeat(Math.max(3, 48 - e.description.length))} [RUN]\n`);
        else write(`${time()}  ${finishLine(e, opts.color)}\n`);
      },
      info: (m) => { if (!opts.quiet) write(`${time()}  ${redact(m)}\n`); },
      done(r) {
        for (const l of failureDetails(r, opts)) write(`${l}\n`);
        write(`\n${time()}  Finished in ${secs(r.durationMs)}.\n${summaryLine(r)}\n`);
      },
    };
  }
  // Live: completed lines scroll above a block of running tasks that is redrawn in place.
  const running = new Map<string, { description: string; started: number }>();
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let frame = 0;
  let drawn = 0;
  const clear = () => {
    if (drawn) write(`\x1b[${drawn}A\x1b[J`);
    drawn = 0;
  };
  const draw = () => {
    const lines = [...running.values()].map((t) => `${pc.cyan(frames[frame % frames.length]!)} ${t.description} ${pc.dim(secs(Date.now() - t.started))}`);
    if (lines.length) write(`${lines.join('\n')}\n`);
    drawn = lines.length;
  };
  const timer = setInterval(() => { frame++; clear(); draw(); }, 100);
  timer.unref();
  return {
    event(e) {
      clear();
      if (e.type === 'start') running.set(e.id, { description: `${e.description}`, started: Date.now() });
      else {
        running.delete(e.result.id);
        const r = e.result;
        const icon = r.status === 'success' || r.status === 'pass' ? pc.green('✔') : r.status === 'skipped' ? pc.yellow('↷') : r.status === 'warn' ? pc.yellow('!') : pc.red('✖');
        if (!opts.quiet || !['success', 'pass', 'skipped'].includes(r.status)) write(`${icon} ${finishLine(e, true)}\n`);
      }
      draw();
    },
    info: (m) => { clear(); if (!opts.quiet) write(`${pc.dim(redact(m))}\n`); draw(); },
    done(r) {
      clearInterval(timer);
      clear();
      for (const l of failureDetails(r, opts)) write(`${l}\n`);
      write(`\nFinished in ${secs(r.durationMs)}. ${summaryLine(r)}\n`);
    },
  };
}

/** Live on an interactive terminal outside CI; plain otherwise (Vitest's rule). */
export function pickMode(logFormat: string | undefined): OutputMode {
  if (logFormat === 'json') return 'json';
  if (logFormat === 'text') return 'plain';
  return process.stdout.isTTY && !process.env.CI ? 'live' : 'plain';
}
