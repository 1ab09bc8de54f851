import { z } from 'zod';
import { parseWith } from '../../../config/validate.js';

/** The streams the generator offers, in the order it declares them. */
export const GENERATOR_STREAMS = ['customers', 'plans', 'subscriptions', 'payments', 'banks', 'events'] as const;
export type GeneratorStream = (typeof GENERATOR_STREAMS)[number];

/** The last day of the default first run: a start on the default date yields 2023 and 2024. */
export const DEFAULT_INITIAL_END = '2024-12-31';

export const generatorConfigSchema = z
  .object({
    type: z.literal('generator'),
    /** Same seed, same settings and same state: the same records, byte for byte. */
    seed: z.number().int().default(42),
    /** First simulated day (UTC), `YYYY-MM-DD`. */
    start_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date as YYYY-MM-DD').default('2023-01-01'),
    /** Days of history the first run emits; default: from start_date through 2024-12-31. */
    initial_days: z.number().int().positive().optional(),
    /** Simulated days each later run adds. */
    days_per_run: z.number().int().nonnegative().default(1),
    /** Multiplies the volumes (signups, and with them subscriptions, payments and events). */
    scale: z.number().positive().max(1000).default(1),
    /** Share of events emitted as malformed raw text (they become dead letters). */
    bad_record_rate: z.number().min(0).max(1).default(0),
    /** A fixed number of activity events per day instead of the usage model (load tests, exact counts). */
    events_per_day: z.number().int().nonnegative().optional(),
  })
  .strict();

export type GeneratorConfig = z.infer<typeof generatorConfigSchema>;

export const parseGeneratorConfig = (raw: unknown): GeneratorConfig => parseWith(generatorConfigSchema, raw, '');
