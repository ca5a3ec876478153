import {
  bucketValue,
  DURATION_P95_MAX_RELATIVE_ERROR,
  DURATION_THRESHOLDS,
  durationBucket,
  histogramPercentile,
  type DurationHistogram,
} from './duration-histogram.js';

/** `percentile_cont` over sorted values, as PostgreSQL computes it. */
function percentileCont(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = p * (sorted.length - 1);
  const lower = Math.floor(rank);
  const low = sorted[lower]!;
  return lower + 1 < sorted.length ? low + (rank - lower) * (sorted[lower + 1]! - low) : low;
}

describe('duration histogram', () => {
  it('numbers buckets as width_bucket does: how many thresholds are at or below the duration', () => {
    expect(DURATION_THRESHOLDS.slice(0, 12)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12]);
    expect(DURATION_THRESHOLDS.at(-1)).toBe(1_000_000_000);
    expect([0, 1, 9, 10, 11, 12, 999_999_999, 1_000_000_000, 5e12].map(durationBucket)).toEqual([
      1,
      2,
      10,
      11,
      11,
      12,
      DURATION_THRESHOLDS.length - 1,
      DURATION_THRESHOLDS.length,
      DURATION_THRESHOLDS.length,
    ]);
  });

  it('represents every duration of a bucket within the documented relative error', () => {
    for (let bucket = 2; bucket < DURATION_THRESHOLDS.length; bucket++) {
      const lo = DURATION_THRESHOLDS[bucket - 1]!;
      const hi = DURATION_THRESHOLDS[bucket]! - 1;
      for (const value of [lo, hi]) {
        expect(Math.abs(bucketValue(bucket) - value) / value).toBeLessThanOrEqual(DURATION_P95_MAX_RELATIVE_ERROR);
      }
    }
    expect(bucketValue(1)).toBe(0);
  });

  it('reads a p95 within the bound of percentile_cont over the same durations', () => {
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let round = 0; round < 200; round++) {
      const values = Array.from({ length: 1 + Math.floor(next() * 300) }, () => Math.floor(10 ** (next() * 8)));
      const histogram: DurationHistogram = {};
      for (const value of values) histogram[durationBucket(value)] = (histogram[durationBucket(value)] ?? 0) + 1;
      const exact = percentileCont(values, 0.95);
      expect(Math.abs(histogramPercentile(histogram, 0.95)! - exact)).toBeLessThanOrEqual(
        exact * DURATION_P95_MAX_RELATIVE_ERROR + 1e-9,
      );
    }
    expect(histogramPercentile({}, 0.95)).toBeNull();
  });
});
