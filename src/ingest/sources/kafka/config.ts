import { z } from 'zod';
import { ConfigError } from '../../../core/errors.js';
import { parseWith } from '../../../config/validate.js';

const saslSchema = z
  .object({
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
    username: z.string().min(1),
    /** Give it with env('KAFKA_PASSWORD'): it is never printed. */
    password: z.string(),
  })
  .strict();

export const kafkaConfigSchema = z
  .object({
    type: z.literal('kafka'),
    /** Bootstrap brokers, `host:port`. */
    brokers: z.array(z.string().min(1)).min(1),
    /** Each topic is one stream; its stream name is the topic with every other character than a-z0-9_ as `_` (`shop.orders` → `shop_orders`). */
    topics: z.array(z.string().min(1)).min(1),
    /** Consumer group offsets are committed to (after each warehouse commit). Default `smelt-<source name>`. */
    group_id: z.string().min(1).optional(),
    /** json: the value is a JSON object (one column per field); string: `{value: text}`; bytes: `{value: base64}`. */
    value_format: z.enum(['json', 'string', 'bytes']).default('json'),
    /** Where to begin when smelt has no stored state for the stream. */
    start: z.enum(['earliest', 'latest']).default('earliest'),
    /** Default `smelt-<source name>`. */
    client_id: z.string().min(1).optional(),
    ssl: z.boolean().default(false),
    sasl: saslSchema.optional(),
    connection_timeout_ms: z.number().int().positive().default(10_000),
    /** How long the broker may hold a fetch when there is nothing new (follow mode waits this long per round). */
    fetch_max_wait_ms: z.number().int().min(10).max(30_000).default(500),
    /** Bytes one fetch asks for per partition (a message larger than this is still returned whole). */
    fetch_max_bytes: z.number().int().min(1024).default(1 << 20),
  })
  .strict();

export type KafkaConfig = z.infer<typeof kafkaConfigSchema>;

/** `shop.orders` → `shop_orders`: a valid, lower-case identifier. */
export function streamNameOf(topic: string): string {
  const s = topic
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
  const safe = s || 'topic';
  return /^[0-9]/.test(safe) ? `_${safe}` : safe;
}

export function parseKafkaConfig(raw: unknown): KafkaConfig {
  const cfg = parseWith(kafkaConfigSchema, raw, '');
  const seen = new Map<string, string>();
  for (const t of cfg.topics) {
    const name = streamNameOf(t);
    const prev = seen.get(name);
    if (prev !== undefined) {
      throw new ConfigError(`topics: '${prev}' and '${t}' both map to stream '${name}'`, { hint: 'list each topic once; topics that differ only in punctuation or case cannot share a source' });
    }
    seen.set(name, t);
  }
  return cfg;
}

/** Stream name → topic. */
export const topicsByStream = (cfg: KafkaConfig): Map<string, string> => new Map(cfg.topics.map((t) => [streamNameOf(t), t]));
