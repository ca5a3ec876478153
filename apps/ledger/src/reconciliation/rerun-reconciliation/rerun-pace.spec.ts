import fc from 'fast-check';
import { MAX_RERUN_BATCH, rerunPace } from './rerun-pace.js';

describe('rerunPace (the rate limit of re-run jobs)', () => {
  it('reads batches of at most the rate, and at most MAX_RERUN_BATCH', () => {
    expect(rerunPace(4).batchSize).toBe(4);
    expect(rerunPace(200).batchSize).toBe(200);
    expect(rerunPace(100_000).batchSize).toBe(MAX_RERUN_BATCH);
  });

  it('after its wait, never more than rate × elapsed seconds examined (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        (rate, examined, elapsed) => {
          const { waitMs } = rerunPace(rate);
          const wait = waitMs(0, examined, elapsed);
          expect(wait).toBeGreaterThanOrEqual(0);
          // once the wait is over, the executions examined so far fit in the time since the start
          expect(examined).toBeLessThanOrEqual((rate * (elapsed + wait)) / 1000);
        },
      ),
    );
  });

  it('waits nothing when behind the rate', () => {
    expect(rerunPace(10).waitMs(0, 10, 5_000)).toBe(0);
    expect(rerunPace(10).waitMs(0, 10, 400)).toBe(600);
  });

  it('refuses a rate below 1', () => {
    expect(() => rerunPace(0)).toThrow(RangeError);
  });
});
