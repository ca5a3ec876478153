import { WrongExpectedVersionError } from '../errors.js';

/**
 * How a decider command is repeated when another writer moved its stream between the read and the append
 * (a WrongExpectedVersionError): read again, decide again, append again, after a short randomised pause so that
 * writers that collided do not collide again in step.
 */
export interface ConflictRetryPolicy {
  /** Attempts in all, the first one included; after the last conflict the command fails. */
  maxAttempts: number;
  /** The ceiling of the pause before the first retry; it doubles for each further retry. */
  baseDelayMs: number;
  /** The ceiling of any one pause. */
  maxDelayMs: number;
}

/** The one policy of every decider command: 8 attempts, pauses drawn from [0, 2 ms], [0, 4 ms] … up to [0, 100 ms]. */
export const CONFLICT_RETRY_POLICY: ConflictRetryPolicy = Object.freeze({
  maxAttempts: 8,
  baseDelayMs: 2,
  maxDelayMs: 100,
});

/**
 * The stream kept moving for every attempt the policy allows. Still a WrongExpectedVersionError (same code,
 * `EVENT_STORE.WRONG_EXPECTED_VERSION`, answered 409), carrying the values of the last conflict.
 */
export class ConflictRetriesExhaustedError extends WrongExpectedVersionError {
  constructor(
    readonly attempts: number,
    readonly lastConflict: WrongExpectedVersionError,
  ) {
    super(lastConflict.streamId, lastConflict.expected, lastConflict.actual);
    this.message =
      `Gave up after ${attempts} attempts: another writer moved stream ${lastConflict.streamId} each time ` +
      `(last: expected version ${lastConflict.expected}, stream version ${lastConflict.actual})`;
  }
}

/** The pause before retry number `retry` (1 = the second attempt): "full jitter" under the doubling ceiling. */
export function conflictRetryDelayMs(
  policy: ConflictRetryPolicy,
  retry: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Runs `attempt` until it does not throw a WrongExpectedVersionError, at most `policy.maxAttempts` times. Any other
 * error ends it at once. With one attempt allowed the conflict itself is thrown.
 */
export async function retryOnConflict<T>(
  attempt: (attempt: number) => Promise<T>,
  policy: ConflictRetryPolicy = CONFLICT_RETRY_POLICY,
): Promise<T> {
  for (let number = 1; ; number++) {
    try {
      return await attempt(number);
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
      if (number >= policy.maxAttempts) {
        throw policy.maxAttempts > 1 ? new ConflictRetriesExhaustedError(number, error) : error;
      }
      const pause = conflictRetryDelayMs(policy, number);
      if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}
