/**
 * The generator source: simulated time instead of a peer. The first run emits
 * `initial_days` of history, each later run `days_per_run` more days. A stream's
 * state is the last simulated day fully emitted, how many records of the next
 * day are already committed (batches end mid-day), the last sequence number and
 * the last day of the run in progress, so a killed run resumes exactly where its
 * last committed batch ended and finishes the same run: no gaps, no repeats.
 *
 * Every read replays the world from the start date (it is small and fast), so
 * the records of a day never depend on how runs were cut: same seed, same
 * settings, same state → the same records.
 */
import { AbortedError, ConfigError } from '../../../core/errors.js';
import type { CheckResult, RecordBatch, ReadOptions, Source, SourceContext, SourceRecord, StreamInfo } from '../../source.js';
import { DEFAULT_INITIAL_END, GENERATOR_STREAMS, type GeneratorConfig, type GeneratorStream } from './config.js';
import { DAY, isoDate } from './dirt.js';
import { badPayloads, dayEvents, eventData } from './events.js';
import { streamInfo } from './streams.js';
import { World, type DayOutput } from './world.js';

/**
 * The settings the history of a stream depends on: a read refuses a state written under
 * others. (`bad_record_rate` is not one: it only decides which events arrive malformed,
 * each in its own slot, so it may change between runs.)
 */
interface Settings {
  seed: number;
  start_date: string;
  scale: number;
  events_per_day?: number | null;
}

export interface GeneratorState {
  /** Last simulated day fully emitted (YYYY-MM-DD), or null before the first one is complete. */
  day: string | null;
  /** Records of the day after `day` already emitted (a batch ended mid-day). */
  offset: number;
  /** Sequence number of the last record emitted (the stream's records are numbered from 1). */
  seq: number;
  /** Last day of the run in progress; equals `day` once the run is complete. */
  until: string;
  settings: Settings;
}

const dayMs = (date: string) => Date.parse(`${date}T00:00:00Z`);
const isCalendarDate = (date: string) => !Number.isNaN(dayMs(date)) && isoDate(dayMs(date)) === date;

/** The semantic checks parseConfig cannot do; a reason, or undefined when the settings can run. */
export function settingsProblem(cfg: GeneratorConfig): string | undefined {
  if (!isCalendarDate(cfg.start_date)) return `start_date ${cfg.start_date} is not a calendar date`;
  if (cfg.initial_days === undefined && cfg.start_date > DEFAULT_INITIAL_END) {
    return `start_date ${cfg.start_date} is after ${DEFAULT_INITIAL_END}, where the default history ends: set initial_days`;
  }
  return undefined;
}

export class GeneratorSource implements Source {
  private readonly start: number;

  constructor(private readonly cfg: GeneratorConfig, private readonly ctx: SourceContext) {
    this.start = dayMs(cfg.start_date);
  }

  async check(): Promise<CheckResult> {
    const problem = settingsProblem(this.cfg);
    return problem ? { ok: false, reason: problem } : { ok: true };
  }

  async discover(): Promise<StreamInfo[]> {
    return GENERATOR_STREAMS.map(streamInfo);
  }

  private initialDays(): number {
    return this.cfg.initial_days ?? Math.round((dayMs(DEFAULT_INITIAL_END) - this.start) / DAY) + 1;
  }

  private settings(stream: GeneratorStream): Settings {
    const { seed, start_date, scale } = this.cfg;
    return stream === 'events' ? { seed, start_date, scale, events_per_day: this.cfg.events_per_day ?? null } : { seed, start_date, scale };
  }

  private index(date: string): number {
    return Math.round((dayMs(date) - this.start) / DAY);
  }

  private date(index: number): string {
    return isoDate(this.start + index * DAY);
  }

  async *read(stream: StreamInfo, opts: ReadOptions): AsyncIterable<RecordBatch> {
    const name = stream.name as GeneratorStream;
    if (!GENERATOR_STREAMS.includes(name)) throw new ConfigError(`source ${this.ctx.sourceName}: the generator has no stream '${stream.name}'`, { hint: `streams: ${GENERATOR_STREAMS.join(', ')}` });
    const problem = settingsProblem(this.cfg);
    if (problem) throw new ConfigError(`source ${this.ctx.sourceName}: ${problem}`);
    const settings = this.settings(name);
    const prev = opts.state as GeneratorState | undefined;
    if (prev && JSON.stringify(prev.settings) !== JSON.stringify(settings)) {
      throw new ConfigError(`source ${this.ctx.sourceName}: stream ${name} was generated with other settings (${JSON.stringify(prev.settings)}; now ${JSON.stringify(settings)})`, {
        hint: `the history would not match: reload it with \`smelt run --full-refresh\`, or \`smelt state reset ${this.ctx.sourceName}\` and drop its tables`,
      });
    }
    // Where this read starts (`next`, skipping `offset` records of that day) and the run's end (exclusive).
    let next = prev ? (prev.day === null ? 0 : this.index(prev.day) + 1) : 0;
    let offset = prev?.offset ?? 0;
    let seq = prev?.seq ?? 0;
    let until = prev ? this.index(prev.until) + 1 : this.initialDays();
    if (next >= until && offset === 0) until = next + this.cfg.days_per_run;
    if (next >= until) return;

    const stateAt = (done: number, off: number): GeneratorState => ({ day: done > 0 ? this.date(done - 1) : null, offset: off, seq, until: this.date(until - 1), settings });
    const world = new World(this.cfg.seed, this.start, this.cfg.scale);
    for (let d = 0; d < next; d++) {
      world.step(d);
      if (d % 64 === 63) await tick(opts.signal);
    }
    let batch: SourceRecord[] = [];
    let unsaved = false;
    for (let d = next; d < until; d++) {
      if (d % 16 === 15) await tick(opts.signal);
      if (opts.signal?.aborted) throw new AbortedError('cancelled');
      const out = world.step(d);
      const day = this.date(d);
      const firstSeq = seq - offset + 1;
      const records = this.recordsOf(name, d, out, world, firstSeq);
      for (let i = offset; i < records.length; i++) {
        seq++;
        batch.push({ ...records[i]!, position: { day, seq } });
        if (batch.length >= opts.batchSize) {
          if (opts.signal?.aborted) throw new AbortedError('cancelled');
          const dayDone = i + 1 === records.length;
          yield { records: batch, state: dayDone ? stateAt(d + 1, 0) : stateAt(d, i + 1) };
          batch = [];
          unsaved = false;
        }
      }
      offset = 0;
      next = d + 1;
      unsaved = true;
    }
    if (batch.length > 0 || unsaved) yield { records: batch, state: stateAt(next, 0) };
  }

  /** The day's records of one stream, before positions. */
  private recordsOf(stream: GeneratorStream, d: number, out: DayOutput, world: World, firstSeq: number): Omit<SourceRecord, 'position'>[] {
    if (stream !== 'events') return out[stream].map((data) => ({ data }));
    const drafts = dayEvents({
      seed: this.cfg.seed, day: d, dayStart: this.start + d * DAY, scale: this.cfg.scale,
      active: world.activeCustomers(), happenings: out.happenings, eventsPerDay: this.cfg.events_per_day,
    });
    const bad = badPayloads(this.cfg.seed, d, drafts.length, this.cfg.bad_record_rate);
    return drafts.map((e, i) => {
      const data = eventData(e, firstSeq + i);
      const malformed = bad[i];
      return malformed ? { raw: malformed(data) } : { data };
    });
  }

  async close(): Promise<void> {}
}

/** Lets timers and signals run during a long replay; throws once aborted. */
async function tick(signal?: AbortSignal): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  if (signal?.aborted) throw new AbortedError('cancelled');
}
