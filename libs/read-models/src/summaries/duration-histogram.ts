/**
 * A fixed log-scale histogram of execution durations (ms), so that a p95 over any union of rollup rows is a merge of
 * their histograms instead of a sort of their executions.
 *
 * Bucket `k` (1-based, as PostgreSQL's `width_bucket(duration_ms, DURATION_THRESHOLDS)` numbers it) holds the
 * integer durations in `[DURATION_THRESHOLDS[k-1], DURATION_THRESHOLDS[k])`. The thresholds are 0 and
 * `ceil(10^(i/16))` for i = 0..144 (16 buckets per decade, up to 10^9 ms, about 11.6 days), duplicates removed, so
 * durations below 8 ms have a bucket each. A bucket `[lo, hi]` is represented by `2·lo·hi / (lo + hi)`, which is
 * within `(hi − lo) / (hi + lo)` of every value in it: less than `DURATION_P95_MAX_RELATIVE_ERROR` since
 * `hi / lo < 10^(1/16)`. Durations of 10^9 ms and more share the last bucket, represented by its lower bound.
 */
const PER_DECADE = 16;
const DECADES = 9;

export const DURATION_THRESHOLDS: readonly number[] = [
  ...new Set([
    0,
    ...Array.from({ length: PER_DECADE * DECADES + 1 }, (_, i) =>
      Math.ceil(Number((10 ** (i / PER_DECADE)).toPrecision(12))),
    ),
  ]),
];

/** Bound on `|estimate − exact| / exact` of a percentile read from the histogram (durations under 10^9 ms). */
export const DURATION_P95_MAX_RELATIVE_ERROR = 0.072;

/** A sparse histogram: bucket number (1-based, as text, as stored in jsonb) → executions in it. */
export type DurationHistogram = Record<string, number>;

/** The bucket number of a duration: how many thresholds are ≤ it (`width_bucket` in SQL). */
export function durationBucket(durationMs: number): number {
  let low = 0;
  let high = DURATION_THRESHOLDS.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (DURATION_THRESHOLDS[mid]! <= durationMs) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** The value a bucket stands for (see the module comment). */
export function bucketValue(bucket: number): number {
  const lo = DURATION_THRESHOLDS[bucket - 1]!;
  const next = DURATION_THRESHOLDS[bucket];
  if (next === undefined) return lo;
  const hi = next - 1;
  return lo === hi ? lo : (2 * lo * hi) / (lo + hi);
}

/**
 * Counts per bucket number, dense (index = bucket number, 0 unused): what merging many sparse histograms adds into,
 * cheaper than objects when a summary merges thousands of rows.
 */
export type DenseHistogram = Float64Array;

export const denseHistogram = (): DenseHistogram => new Float64Array(DURATION_THRESHOLDS.length + 1);

/** Adds a sparse histogram (as stored) into a dense one. */
export function addHistogram(into: DenseHistogram, from: DurationHistogram): DenseHistogram {
  for (const bucket in from) into[Number(bucket)]! += from[bucket]!;
  return into;
}

/**
 * The percentile `p` (0..1) as `percentile_cont` would compute it from the exact durations (linear interpolation
 * between the order statistics around rank `p·(n−1)`), with each order statistic replaced by its bucket's value;
 * null for an empty histogram.
 */
export function histogramPercentile(histogram: DurationHistogram | DenseHistogram, p: number): number | null {
  // A sparse histogram's keys are array indices, which objects enumerate in ascending numeric order.
  const dense = histogram instanceof Float64Array ? histogram : undefined;
  const sparse = dense ? undefined : (histogram as DurationHistogram);
  let n = 0;
  if (dense) for (const count of dense) n += count;
  else for (const bucket in sparse) n += sparse[bucket]!;
  if (n === 0) return null;
  const rank = p * (n - 1);
  const lower = Math.floor(rank);
  const valueAt = (index: number): number => {
    let seen = 0;
    let last = 0;
    if (dense) {
      for (let bucket = 1; bucket < dense.length; bucket++) {
        if (dense[bucket] === 0) continue;
        seen += dense[bucket]!;
        last = bucket;
        if (index < seen) return bucketValue(bucket);
      }
    } else {
      for (const bucket in sparse) {
        if (sparse[bucket] === 0) continue;
        seen += sparse[bucket]!;
        last = Number(bucket);
        if (index < seen) return bucketValue(last);
      }
    }
    return bucketValue(last);
  };
  const low = valueAt(lower);
  const fraction = rank - lower;
  return fraction === 0 ? low : low + fraction * (valueAt(lower + 1) - low);
}
