import { PrincipalRateLimiter, RateLimitedError } from './principal-rate-limiter.js';

describe('PrincipalRateLimiter', () => {
  let clock = 0;
  const limiter = () => new PrincipalRateLimiter({ perSecond: 10, burst: 3 }, () => clock);

  beforeEach(() => {
    clock = 0;
  });

  it('allows a burst, then refuses with the time until the next token', () => {
    const limits = limiter();
    for (let i = 0; i < 3; i++) limits.take('key:gw');
    expect(() => limits.take('key:gw')).toThrow(RateLimitedError);
    try {
      limits.take('key:gw');
    } catch (error) {
      expect((error as RateLimitedError).code).toBe('AUTH.RATE_LIMITED');
      expect((error as RateLimitedError).retryAfterMs).toBeCloseTo(100);
    }
  });

  it('refills at the sustained rate', () => {
    const limits = limiter();
    for (let i = 0; i < 3; i++) limits.take('key:gw');
    clock = 100;
    expect(() => limits.take('key:gw')).not.toThrow();
    expect(() => limits.take('key:gw')).toThrow(RateLimitedError);
  });

  it('keeps each principal to its own bucket', () => {
    const limits = limiter();
    for (let i = 0; i < 3; i++) limits.take('key:noisy');
    expect(() => limits.take('key:noisy')).toThrow(RateLimitedError);
    expect(() => limits.take('key:quiet')).not.toThrow();
  });

  it('never holds more than the burst after a long idle time', () => {
    const limits = limiter();
    limits.take('key:gw');
    clock = 3_600_000;
    for (let i = 0; i < 3; i++) limits.take('key:gw');
    expect(() => limits.take('key:gw')).toThrow(RateLimitedError);
  });

  it('refuses a limit that would allow nothing', () => {
    expect(() => new PrincipalRateLimiter({ perSecond: 0, burst: 1 })).toThrow(RangeError);
  });
});
