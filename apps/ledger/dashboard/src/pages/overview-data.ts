import { ApiError, get, getWithLag } from '../api';
import type { TimeRange } from '../range';
import type { Overview, Summaries } from '../types';

/** What the overview shows; a part is null where this ledger's API cannot give it (shown as "not available"). */
export interface OverviewView {
  series: { t: string; executions: number; mismatches: number; unclear: number | null }[];
  mismatchesByKind: { kind: string; count: number }[];
  mismatchesBySeverity: { severity: string; count: number }[] | null;
  approvalsByStatus: { status: string; count: number }[] | null;
  topWorkers: { name: string; count: number }[];
  topTools: { name: string; count: number }[];
  topSessions: { name: string; count: number }[];
  approvalTime: { label: string; value: number | null }[];
  readModelLag: { projection: string; lagEvents: number; lagMs: number | null }[];
  lastCheckpoint: { position: string; sealedAt: string } | null;
  /** `overview`: `GET /v1/dashboard/overview`; `summaries`: assembled from the summaries and integrity routes. */
  source: 'overview' | 'summaries';
}

type Point = OverviewView['series'][number];

/** Every bucket of the range, those without rows at zero: the chart's time axis is the range, not the data. */
function fillBuckets(series: Point[], range: TimeRange): Point[] {
  const step = range.bucket === 'hour' ? 3_600_000 : 86_400_000;
  const byTime = new Map(series.map((point) => [Math.floor(Date.parse(point.t) / step) * step, point]));
  const unclear = series.some((point) => point.unclear !== null) ? 0 : null;
  const filled: Point[] = [];
  const end = Date.parse(range.to);
  for (let t = Math.floor(Date.parse(range.from) / step) * step; t < end && filled.length < 1000; t += step) {
    filled.push(byTime.get(t) ?? { t: new Date(t).toISOString(), executions: 0, mismatches: 0, unclear });
  }
  return filled;
}

export async function loadOverview(range: TimeRange, signal: AbortSignal): Promise<OverviewView> {
  const view = await load(range, signal);
  return { ...view, series: fillBuckets(view.series, range) };
}

async function load(range: TimeRange, signal: AbortSignal): Promise<OverviewView> {
  const params = { from: range.from, to: range.to, bucket: range.bucket };
  try {
    const overview = await get<Overview>('/v1/dashboard/overview', params, signal);
    return {
      series: overview.series,
      mismatchesByKind: overview.mismatchesByKind,
      mismatchesBySeverity: overview.mismatchesBySeverity,
      approvalsByStatus: overview.approvalsByStatus,
      topWorkers: overview.topWorkers.map((w) => ({ name: w.workerId, count: w.count })),
      topTools: overview.topTools.map((t) => ({ name: t.tool, count: t.count })),
      topSessions: overview.topSessions.map((s) => ({ name: s.sessionId, count: s.count })),
      approvalTime: [
        { label: 'p50', value: overview.approvalTimeMs.p50 },
        { label: 'p95', value: overview.approvalTimeMs.p95 },
        { label: 'max', value: overview.approvalTimeMs.max },
      ],
      readModelLag: overview.readModelLag,
      lastCheckpoint: overview.lastCheckpoint,
      source: 'overview',
    };
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
  }
  return fromSummaries(params, signal);
}

const top = (summaries: Summaries, dimension: 'worker' | 'toolName' | 'session') => {
  const counts = new Map<string, number>();
  for (const item of summaries.items) {
    const name = item[dimension];
    if (name && item.executions > 0) counts.set(name, (counts.get(name) ?? 0) + item.executions);
  }
  return [...counts.entries()]
    .map(([name, count]) => ({ name, count }))
    .sort((a, b) => b.count - a.count)
    .slice(0, 5);
};

/** A ledger without the overview route: the same picture from `GET /v1/summaries` and `GET /v1/integrity`. */
async function fromSummaries(
  params: { from: string; to: string; bucket: string },
  signal: AbortSignal,
): Promise<OverviewView> {
  const [buckets, workers, tools, sessions, integrity] = await Promise.all([
    getWithLag<Summaries>('/v1/summaries', params, signal),
    get<Summaries>('/v1/summaries', { ...params, groupBy: 'worker' }, signal),
    get<Summaries>('/v1/summaries', { ...params, groupBy: 'toolName' }, signal),
    get<Summaries>('/v1/summaries', { ...params, groupBy: 'session' }, signal),
    get<{ lastCheckpoint: { toPosition: string; sealedAt: string } | null }>('/v1/integrity', {}, signal),
  ]);
  const byKind = new Map<string, number>();
  let timed = 0;
  let timeSum = 0;
  let p95Max: number | null = null;
  const series = buckets.body.items.map((item) => {
    for (const [kind, n] of Object.entries(item.mismatchesByKind)) byKind.set(kind, (byKind.get(kind) ?? 0) + n);
    if (item.approvalsTimed && item.approvalTimeMs !== undefined) {
      timed += item.approvalsTimed;
      timeSum += item.approvalTimeMs * item.approvalsTimed;
      p95Max = Math.max(p95Max ?? 0, item.approvalTimeP95Ms ?? 0);
    }
    return {
      t: item.bucket,
      executions: item.executions,
      mismatches: Object.values(item.mismatchesByKind).reduce((a, b) => a + b, 0),
      unclear: null,
    };
  });
  return {
    series,
    mismatchesByKind: [...byKind.entries()].map(([kind, count]) => ({ kind, count })),
    mismatchesBySeverity: null,
    approvalsByStatus: null,
    topWorkers: top(workers, 'worker'),
    topTools: top(tools, 'toolName'),
    topSessions: top(sessions, 'session'),
    approvalTime: [
      { label: 'mean', value: timed ? timeSum / timed : null },
      { label: 'highest bucket p95', value: p95Max },
    ],
    readModelLag: buckets.lag === null ? [] : [{ projection: 'executions', lagEvents: buckets.lag, lagMs: null }],
    lastCheckpoint: integrity.lastCheckpoint
      ? { position: integrity.lastCheckpoint.toPosition, sealedAt: integrity.lastCheckpoint.sealedAt }
      : null,
    source: 'summaries',
  };
}
