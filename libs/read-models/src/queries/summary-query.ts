/** What a summary asks for and what each of its groups holds. */
import type { TimeRange } from './time-range.js';

export type SummaryDimension = 'worker' | 'riskLevel' | 'toolName' | 'session';
export type SummaryBucket = 'hour' | 'day' | 'week';

export interface SummaryQuery extends TimeRange {
  groupBy: SummaryDimension[];
  bucket: SummaryBucket;
  workerId?: string;
  toolName?: string;
  riskLevel?: string;
  sessionId?: string;
  /** Compute the p95 from the execution rows (`percentile_cont`) instead of the rollup's histograms. */
  exact?: boolean;
}

/** One group of a summary: its bucket, its dimension values (by dimension name), and what it counts. */
export type SummaryItem = {
  bucket: Date;
  executions: number;
  successes: number;
  failures: number;
  totalDurationMs: number;
  p95DurationMs: number | null;
  mismatchesByKind: Record<string, number>;
  /**
   * How long humans took to approve the grants decided in this group (bucket of the grant's occurrence time, the
   * grant's worker, risk level and session, tool `''`): grants whose gateway sent `requestedAt`, their mean and p95 of
   * `approvalTimeMs`. Present only on groups with such grants.
   */
  approvalsTimed?: number;
  approvalTimeMs?: number;
  approvalTimeP95Ms?: number;
} & Record<string, unknown>;

/**
 * How `p95DurationMs` was computed: `exact` from the execution rows, or `histogram` from the summary rollups' duration
 * histograms (within `DURATION_P95_MAX_RELATIVE_ERROR` of the exact value, for durations under 10^9 ms).
 */
export type SummaryP95 = 'exact' | 'histogram';
