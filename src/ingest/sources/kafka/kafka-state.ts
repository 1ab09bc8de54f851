/**
 * The Kafka stream's state as the warehouse stores it with each batch: the topic and the next offset
 * of every partition, offsets as text (`{topic, partitions: {"0": "123", …}}`). Parsed back with a
 * clear error when a stored state is not one, or belongs to another topic.
 */
import { SmeltError } from '../../../core/errors.js';
import type { SourceRecord } from '../../source.js';
import type { PartitionWatermarks } from './kafka-client.js';
import { gapRecord } from './records.js';

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

/**
 * Where each partition starts: its stored offset; without one, the start (`earliest`/`latest`) when
 * nothing is stored, else the earliest offset (a partition added to the topic later). A stored offset
 * below the log's start becomes a gap record (what retention deleted); one past the end is an error.
 */
export function startPositions(
  marks: readonly PartitionWatermarks[], stored: Map<number, bigint> | undefined, start: 'earliest' | 'latest', pastEnd: (partition: number, offset: bigint, high: string) => Error,
): { positions: Map<number, bigint>; gaps: SourceRecord[] } {
  const positions = new Map<number, bigint>(stored ?? []);
  const gaps: SourceRecord[] = [];
  for (const w of marks) {
    const low = BigInt(w.low);
    const high = BigInt(w.high);
    let at = stored?.get(w.partition);
    if (at === undefined) at = stored || start === 'earliest' ? low : high;
    if (at > high) throw pastEnd(w.partition, at, w.high);
    if (at < low) {
      gaps.push(gapRecord(w.partition, at, low));
      at = low;
    }
    positions.set(w.partition, at);
  }
  return { positions, gaps };
}
