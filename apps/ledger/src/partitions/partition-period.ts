/** How long one partition of the events table covers (LEDGER_PARTITION_PERIOD): periods start at 00:00 UTC. */
export const PARTITION_PERIODS = ['month', 'week', 'day'] as const;
export type PartitionPeriod = (typeof PARTITION_PERIODS)[number];

/** The start of the period holding `at` (a month on its 1st, an ISO week on its Monday, a day at midnight; UTC). */
export function periodStart(at: Date, period: PartitionPeriod): Date {
  const year = at.getUTCFullYear();
  const month = at.getUTCMonth();
  const day = at.getUTCDate();
  if (period === 'month') return new Date(Date.UTC(year, month, 1));
  if (period === 'day') return new Date(Date.UTC(year, month, day));
  const sinceMonday = (at.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(year, month, day - sinceMonday));
}

/** The start of the period after the one holding `at`. */
export function nextPeriodStart(at: Date, period: PartitionPeriod): Date {
  const start = periodStart(at, period);
  if (period === 'month') return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
  const days = period === 'week' ? 7 : 1;
  return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate() + days));
}
