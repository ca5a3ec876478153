/** The most executions one batch reads, whatever the rate. */
export const MAX_RERUN_BATCH = 500;

/**
 * The rate limit of a re-run job: batches of at most `eventsPerSecond` executions, and after each the wait that keeps
 * the n-th execution from being examined before n / rate seconds since the start. A batch that took longer than its
 * share waits nothing (the job never catches up by bursting beyond one batch).
 */
export function rerunPace(eventsPerSecond: number): {
  batchSize: number;
  waitMs: (startedAtMs: number, examined: number, nowMs: number) => number;
} {
  if (!Number.isInteger(eventsPerSecond) || eventsPerSecond < 1) {
    throw new RangeError(`eventsPerSecond must be an integer >= 1, got ${eventsPerSecond}`);
  }
  return {
    batchSize: Math.min(MAX_RERUN_BATCH, eventsPerSecond),
    waitMs: (startedAtMs, examined, nowMs) =>
      Math.max(0, startedAtMs + Math.ceil((examined * 1000) / eventsPerSecond) - nowMs),
  };
}
