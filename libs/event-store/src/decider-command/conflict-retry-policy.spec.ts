import { CONFLICT_RETRY_POLICY, conflictRetryDelayMs } from './conflict-retry-policy.js';

describe('the conflict retry policy', () => {
  it('is 8 attempts with pauses doubling from 2 ms up to 100 ms', () => {
    expect(CONFLICT_RETRY_POLICY).toEqual({ maxAttempts: 8, baseDelayMs: 2, maxDelayMs: 100 });
  });

  it('draws each pause from zero up to a ceiling that doubles per retry and stops at maxDelayMs', () => {
    const ceilings = [1, 2, 3, 4, 5, 6, 7].map((retry) =>
      conflictRetryDelayMs(CONFLICT_RETRY_POLICY, retry, () => 0.999999),
    );
    expect(ceilings).toEqual([1, 3, 7, 15, 31, 63, 99]);
    expect(conflictRetryDelayMs(CONFLICT_RETRY_POLICY, 5, () => 0)).toBe(0);
    expect(conflictRetryDelayMs(CONFLICT_RETRY_POLICY, 5, () => 0.5)).toBe(16);
  });
});
