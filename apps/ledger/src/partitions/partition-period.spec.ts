import { nextPeriodStart, periodStart } from './partition-period.js';

describe('partition periods (UTC)', () => {
  const at = new Date('2026-12-07T14:30:00.000Z'); // a Monday

  it('starts a month on its 1st, a week on its Monday, a day at midnight', () => {
    expect(periodStart(at, 'month').toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(periodStart(at, 'week').toISOString()).toBe('2026-12-07T00:00:00.000Z');
    expect(periodStart(new Date('2026-12-06T23:59:59.999Z'), 'week').toISOString()).toBe('2026-11-30T00:00:00.000Z');
    expect(periodStart(at, 'day').toISOString()).toBe('2026-12-07T00:00:00.000Z');
  });

  it('finds the next period across a year end', () => {
    expect(nextPeriodStart(at, 'month').toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(nextPeriodStart(new Date('2026-12-31T23:00:00Z'), 'day').toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(nextPeriodStart(new Date('2026-12-31T23:00:00Z'), 'week').toISOString()).toBe('2027-01-04T00:00:00.000Z');
  });
});
