/**
 * DuckDB's worker threads, lent down by one while a source reads the next file on the same
 * machine (`CsvLoadInput.readerBusy`). Measured on 2 cores with a local PostgreSQL: the INSERT on
 * both threads, competing with the COPY, used 40% more CPU than on one and finished later
 * (BENCHMARKS.md section 7). DuckDB has no per-statement thread count, so this sets the
 * instance's `threads` and restores it once the last such load ends: loads may overlap (several
 * streams), so they are counted, and the SETs run one at a time.
 */
export class ThreadShare {
  private loads = 0;
  private queue: Promise<unknown> = Promise.resolve();

  /** `base`: the instance's thread count at open; `set` applies a count (`SET threads = n`). */
  constructor(private readonly base: number, private readonly set: (threads: number) => Promise<unknown>) {}

  /**
   * Runs `fn` with one thread fewer (never fewer than one) while no other reserved load is still
   * running; `fn` learns the count it runs with.
   */
  async during<T>(fn: (threads: number) => Promise<T>): Promise<T> {
    if (this.base < 2) return fn(Math.max(1, this.base));
    await this.step(() => (++this.loads === 1 ? this.set(this.base - 1) : undefined));
    try {
      return await fn(this.base - 1);
    } finally {
      await this.step(() => (--this.loads === 0 ? this.set(this.base) : undefined));
    }
  }

  private step(f: () => unknown): Promise<void> {
    const next = this.queue.then(f);
    this.queue = next.catch(() => undefined);
    return next.then(() => undefined);
  }
}
