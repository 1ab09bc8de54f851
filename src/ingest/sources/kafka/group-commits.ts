/**
 * Consumer group offsets, committed after each warehouse commit. Best effort: the warehouse holds
 * the truth, and the group serves monitoring (lag). A commit that fails is kept and retried with
 * the next one and on close.
 */
import type { KafkaState } from './kafka-state.js';

/** Commits one topic's offsets for the group. */
export type CommitOffsets = (topic: string, offsets: Map<number, bigint>) => Promise<void>;

export class GroupCommits {
  /** Stream → offsets a commit could not deliver yet. */
  private readonly pending = new Map<string, KafkaState>();
  /** The last error a group commit met, scrubbed of secrets. */
  lastError?: string;

  constructor(private readonly commitOffsets: CommitOffsets, private readonly scrub: (message: string) => string) {}

  get waiting(): boolean {
    return this.pending.size > 0;
  }

  /** Commits `state` of `stream` (and any earlier one still pending). */
  async commit(stream: string, state: KafkaState): Promise<void> {
    this.pending.set(stream, state);
    await this.flush();
  }

  async flush(): Promise<void> {
    for (const [name, state] of [...this.pending]) {
      const offsets = new Map(Object.entries(state.partitions).map(([p, o]) => [Number(p), BigInt(o)]));
      for (let attempt = 0; ; attempt++) {
        try {
          await this.commitOffsets(state.topic, offsets);
          if (this.pending.get(name) === state) this.pending.delete(name);
          this.lastError = undefined;
          break;
        } catch (e) {
          // Another consumer may be an active member of the group.
          this.lastError = this.scrub(e instanceof Error ? e.message : String(e));
          if (attempt >= 2) break;
          await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
        }
      }
    }
  }
}
