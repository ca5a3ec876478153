import { LedgerError } from '@audit-ledger/domain';

/** A principal over its request rate: HTTP 429, the same code over TCP and NATS. */
export class RateLimitedError extends LedgerError {
  readonly code = 'AUTH.RATE_LIMITED';
  constructor(
    principalId: string,
    /** Milliseconds until one request is allowed again. */
    readonly retryAfterMs: number,
  ) {
    super(`${principalId} is over its request rate limit; retry in ${Math.ceil(retryAfterMs)} ms`);
  }
}

export interface RateLimit {
  /** Sustained requests per second per principal. */
  perSecond: number;
  /** Requests a principal may send at once after being idle. */
  burst: number;
}

interface Bucket {
  tokens: number;
  /** Monotonic milliseconds of the last refill. */
  at: number;
}

/**
 * A token bucket per principal (docs/security.md, "Limits"): one noisy or compromised principal is slowed down, the
 * others are not. A dozen lines, so no library: the throttlers for Nest key by route and IP and know only HTTP.
 */
export class PrincipalRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private sweeps = 0;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(limit.perSecond > 0) || !(limit.burst >= 1))
      throw new RangeError('rate limit needs perSecond > 0, burst ≥ 1');
  }

  /** Takes one request's token for `principalId`, or throws RateLimitedError. */
  take(principalId: string): void {
    const at = this.now();
    const bucket = this.buckets.get(principalId) ?? { tokens: this.limit.burst, at };
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + ((at - bucket.at) * this.limit.perSecond) / 1000);
    bucket.at = at;
    if (bucket.tokens < 1) {
      this.buckets.set(principalId, bucket);
      throw new RateLimitedError(principalId, ((1 - bucket.tokens) * 1000) / this.limit.perSecond);
    }
    bucket.tokens -= 1;
    this.buckets.set(principalId, bucket);
    if (++this.sweeps >= 10_000) this.forgetFullBuckets(at);
  }

  /** Buckets refilled to the brim hold nothing worth keeping: bounded memory however many principals come and go. */
  private forgetFullBuckets(at: number): void {
    this.sweeps = 0;
    for (const [id, bucket] of this.buckets) {
      if (bucket.tokens + ((at - bucket.at) * this.limit.perSecond) / 1000 >= this.limit.burst) this.buckets.delete(id);
    }
  }
}
