/**
 * The Kafka stream's state as the warehouse stores it with each batch: the topic and the next offset
 * of every partition, offsets as text (`{topic, partitions: {"0": "123", …}}`). Parsed back with a
 * clear error when a stored state is not one, or belongs to another topic.
 */
import { SmeltError } from '../../../core/errors.js';

export interface KafkaState {
  topic: string;
  /** Partition → next offset to read. */
  partitions: Record<string, string>;
}

export function parseState(raw: unknown, topic: string, where: string): Map<number, bigint> | undefined {
  if (raw === undefined || raw === null) return undefined;
  const s = raw as Partial<KafkaState>;
  if (typeof s !== 'object' || typeof s.partitions !== 'object' || s.partitions === null) {
    throw new SmeltError(`${where}: the stored state is not a Kafka state`, { hint: 'reset it with `smelt state reset <source> <stream>`' });
  }
  if (s.topic !== undefined && s.topic !== topic) {
    throw new SmeltError(`${where}: the stored state belongs to topic '${s.topic}', not '${topic}'`, { hint: 'reset it with `smelt state reset <source> <stream>` to read the new topic from `start`' });
  }
  const out = new Map<number, bigint>();
  for (const [p, o] of Object.entries(s.partitions)) out.set(Number(p), BigInt(String(o)));
  return out;
}

export const stateOf = (topic: string, positions: Map<number, bigint>): KafkaState => ({
  topic,
  partitions: Object.fromEntries([...positions.entries()].sort((a, b) => a[0] - b[0]).map(([p, o]) => [String(p), o.toString()])),
});
