import { floorToHour, retainedRange, retentionCutoff } from './retention-window.js';

describe('the retention window', () => {
  const now = new Date('2026-12-07T08:42:13.500Z');

  it('cuts the given days before now, down to the start of the hour', () => {
    expect(retentionCutoff(now, 400)).toEqual(new Date('2025-11-02T08:00:00.000Z'));
    expect(retentionCutoff(now, 1)).toEqual(new Date('2026-12-06T08:00:00.000Z'));
  });

  it('keeps forever with 0 days and refuses what is not a number of days', () => {
    expect(retentionCutoff(now, 0)).toBeUndefined();
    expect(() => retentionCutoff(now, -1)).toThrow(RangeError);
    expect(() => retentionCutoff(now, 1.5)).toThrow(RangeError);
  });

  it('floors to the hour', () => {
    expect(floorToHour(now)).toEqual(new Date('2026-12-07T08:00:00.000Z'));
  });
});

describe('a summary range over a trimmed history', () => {
  const trimmedBefore = new Date('2026-06-01T00:00:00.000Z');

  it('changes nothing when nothing was trimmed or the range starts after the cut', () => {
    const query = { from: new Date('2026-06-01T00:30:00Z'), exact: true };
    expect(retainedRange(query, undefined)).toEqual({ query, reachesTrimmed: false });
    expect(retainedRange(query, trimmedBefore)).toEqual({ query, reachesTrimmed: false });
  });

  it('takes bounds inside the trimmed period to their hour and drops exact', () => {
    const { query, reachesTrimmed } = retainedRange(
      { from: new Date('2026-03-01T10:20:00Z'), to: new Date('2026-05-02T11:59:00Z'), exact: true, bucket: 'day' },
      trimmedBefore,
    );
    expect(reachesTrimmed).toBe(true);
    expect(query).toEqual({
      from: new Date('2026-03-01T10:00:00Z'),
      to: new Date('2026-05-02T11:00:00Z'),
      bucket: 'day',
    });
  });

  it('leaves a bound after the cut as it is', () => {
    const to = new Date('2026-07-01T10:20:00Z');
    const { query, reachesTrimmed } = retainedRange({ to }, trimmedBefore);
    expect(reachesTrimmed).toBe(true);
    expect(query).toEqual({ to });
  });
});
