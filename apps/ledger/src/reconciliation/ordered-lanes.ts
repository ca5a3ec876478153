/**
 * Runs work concurrently across keys (streams) and in order within a key, and knows the highest position below
 * which every submitted piece of work is done: the position a checkpoint may safely record. After a failure no new
 * work starts; the caller drains, checkpoints the safe position and resubscribes from it.
 */
export class OrderedLanes {
  private readonly lanes = new Map<string, Promise<void>>();
  private readonly window: { position: bigint; done: boolean }[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(
    private safe: bigint,
    private readonly maxInFlight: number,
  ) {}

  /** Every piece of work at or below this position is done. */
  get safePosition(): bigint {
    return this.safe;
  }

  get failed(): { error: unknown } | undefined {
    return this.failure;
  }

  /** Queues the work behind earlier work of the same key; waits while `maxInFlight` pieces are running. */
  async submit(key: string, position: bigint, work: () => Promise<void>): Promise<void> {
    const slot = { position, done: false };
    this.window.push(slot);
    const previous = this.lanes.get(key) ?? Promise.resolve();
    const task = previous.then(async () => {
      if (this.failure) return;
      try {
        await work();
        slot.done = true;
        while (this.window[0]?.done) this.safe = this.window.shift()!.position;
      } catch (error) {
        this.failure ??= { error };
      }
    });
    this.lanes.set(key, task);
    this.inFlight.add(task);
    void task.then(() => {
      this.inFlight.delete(task);
      if (this.lanes.get(key) === task) this.lanes.delete(key);
    });
    while (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight);
  }

  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }
}
