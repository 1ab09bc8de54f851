/**
 * Fetched messages not yet put in a batch, partition by partition in fetch order, and where each
 * partition stands. The Kafka source fills batches from it record by record, so a batch ends at any
 * message and its state is exactly the offsets after the records it holds.
 */
import type { FetchedMessage, PartitionFetch, Taken } from './kafka-client.js';

/** Fetched messages of one partition not yet put in a batch. */
interface Buffered {
  readonly partition: number;
  readonly msgs: readonly FetchedMessage[];
  i: number;
  /** Where the partition stands once all of msgs are taken (past filtered records too). */
  readonly next: bigint;
}

export class FetchBuffer {
  private readonly buffered: Buffered[] = [];

  /**
   * @param positions partition → next offset not yet in a batch (the state a batch ends with); moved here.
   * @param targets batch mode: partition → offset where reading stops (the high watermark when the read began).
   */
  constructor(private readonly positions: Map<number, bigint>, private readonly targets: ReadonlyMap<number, bigint> | undefined) {}

  get empty(): boolean {
    return this.buffered.length === 0;
  }

  /** Partitions still to fetch, at the offset where their next fetch starts (past what is buffered). */
  wanted(): Map<number, bigint> {
    const at = new Map(this.positions);
    for (const b of this.buffered) at.set(b.partition, b.next);
    if (this.targets) for (const [p, o] of at) if (o >= (this.targets.get(p) ?? 0n)) at.delete(p);
    return at;
  }

  /** Buffers one partition's fetch (cut at its target); false when it moves nothing. */
  add(r: PartitionFetch): boolean {
    const pos = this.positions.get(r.partition)!;
    const target = this.targets?.get(r.partition);
    let msgs = r.messages;
    let next = r.next;
    if (target !== undefined) {
      let n = msgs.length;
      while (n > 0 && BigInt(msgs[n - 1]!.offset) >= target) n--;
      if (n < msgs.length) msgs = msgs.slice(0, n);
      if (next > target) next = target;
    }
    if (next <= pos) return false;
    this.buffered.push({ partition: r.partition, msgs, i: 0, next });
    return true;
  }

  /** Moves buffered messages into `taken` until it holds `upTo`, positions with them; true when a position moved. */
  fill(taken: Taken[], upTo: number): boolean {
    let moved = false;
    while (taken.length < upTo && this.buffered.length) {
      const head = this.buffered[0]!;
      const k = Math.min(upTo - taken.length, head.msgs.length - head.i);
      for (let j = head.i; j < head.i + k; j++) taken.push({ partition: head.partition, m: head.msgs[j]! });
      head.i += k;
      if (k > 0) {
        this.positions.set(head.partition, BigInt(head.msgs[head.i - 1]!.offset) + 1n);
        moved = true;
      }
      if (head.i >= head.msgs.length) {
        this.buffered.shift();
        if (head.next > this.positions.get(head.partition)!) {
          this.positions.set(head.partition, head.next);
          moved = true;
        }
      }
    }
    return moved;
  }
}
