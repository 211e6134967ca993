/**
 * The retry policy of greco's Lambda API clients, shared by both planes: the hot path (fast
 * retries, a 3 s deadline: `hotpath/retry.ts`) and the Lambda conductor (slower, a 30 s deadline:
 * `core/conductor/kit/rate-limit.ts`). One policy, each plane with its own numbers.
 */
import type { RetryErrorInfo, RetryStrategyV2, RetryToken } from '@smithy/types';

/**
 * Options of {@link LambdaRetryStrategy}. Every duration is in milliseconds; each plane states its
 * own (see `hotPathRetryDefaults` in `hotpath/retry.ts`, `conductorRateDefaults` in
 * `core/conductor/kit/rate-limit.ts`).
 */
export interface LambdaRetryOptions {
  /** Base of the exponential backoff: attempt `n` (1-based) waits up to `baseDelayMs * 2^(n-1)`. */
  readonly baseDelayMs: number;
  /** Largest wait before one retry. */
  readonly maxDelayMs: number;
  /**
   * Time budget of one API call, counted from its first attempt: no retry is scheduled whose wait
   * would end after it.
   */
  readonly deadlineMs: number;
  /**
   * Client errors retried like throttles. Lambda answers `ResourceConflictException` to
   * TagResource ("another operation is in progress") while a function is being updated, which a
   * deployment may be doing at that moment. @default ['ResourceConflictException']
   */
  readonly retryableErrorNames?: readonly string[];
  /** Source of randomness in [0, 1), for tests. @default Math.random */
  readonly random?: () => number;
  /** Clock in milliseconds, for tests. @default Date.now */
  readonly now?: () => number;
}

/** The token of one API call: when its first attempt started and how many retries it has had. */
class DeadlineRetryToken implements RetryToken {
  readonly startedAt: number;
  readonly retryCount: number;
  readonly delayMs: number;
  constructor(startedAt: number, retryCount: number, delayMs: number) {
    this.startedAt = startedAt;
    this.retryCount = retryCount;
    this.delayMs = delayMs;
  }
  getRetryCount(): number {
    return this.retryCount;
  }
  getRetryDelay(): number {
    return this.delayMs;
  }
}

/**
 * The retry strategy of greco's Lambda API clients, for AWS SDK v3 (`new LambdaClient({
 * retryStrategy })`): throttles and transient errors are retried with full jitter until a
 * deadline rather than a number of attempts.
 *
 * Why: the Lambda control-plane API allows 15 requests/s for the whole account (Lambda quotas,
 * "API request rate"), shared by the hot path and the deployment conductor. A
 * `TooManyRequestsException` there means "the bucket is empty this instant", and it refills every
 * ~67 ms, so a caller waits `random(0, min(maxDelayMs, baseDelayMs * 2^(n-1)))` (AWS Architecture
 * Blog, "Exponential Backoff And Jitter", full jitter) and tries again, as long as the wait ends
 * within `deadlineMs` of the call's first attempt. The hot path uses short delays and deadline; the
 * conductor long ones, so that it is the one that backs off. A `Retry-After` hint is deliberately
 * not honoured: it would trade the hot path's latency for the conductor's. Unlike the SDK's
 * standard strategy there is no shared retry quota that a burst of throttles could drain for the
 * whole container. Client errors (4xx other than 429) are not retried, except
 * `retryableErrorNames`.
 *
 * @example
 * const lambda = new LambdaClient({
 *   retryStrategy: new LambdaRetryStrategy({ baseDelayMs: 100, maxDelayMs: 5_000, deadlineMs: 30_000 }),
 * });
 */
export class LambdaRetryStrategy implements RetryStrategyV2 {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly deadlineMs: number;
  readonly #retryableErrorNames: ReadonlySet<string>;
  readonly #random: () => number;
  readonly #now: () => number;

  /** @throws RangeError when a duration is negative or not finite, or `maxDelayMs < baseDelayMs` */
  constructor(options: LambdaRetryOptions) {
    this.baseDelayMs = options.baseDelayMs;
    this.maxDelayMs = options.maxDelayMs;
    this.deadlineMs = options.deadlineMs;
    for (const [key, value] of Object.entries({
      baseDelayMs: this.baseDelayMs,
      maxDelayMs: this.maxDelayMs,
      deadlineMs: this.deadlineMs,
    })) {
      if (!Number.isFinite(value) || value < 0) {
        throw new RangeError(`${key} must be a finite number of milliseconds >= 0, got ${value}`);
      }
    }
    if (this.maxDelayMs < this.baseDelayMs) {
      throw new RangeError(
        `maxDelayMs (${this.maxDelayMs}) must not be smaller than baseDelayMs (${this.baseDelayMs})`,
      );
    }
    this.#retryableErrorNames = new Set(options.retryableErrorNames ?? ['ResourceConflictException']);
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
  }

  async acquireInitialRetryToken(_retryTokenScope: string): Promise<RetryToken> {
    return new DeadlineRetryToken(this.#now(), 0, 0);
  }

  /**
   * Grants one more attempt after `errorInfo`, or refuses (the SDK then throws the last error).
   *
   * @throws Error when the error is not retryable or the next attempt would start past the deadline
   */
  async refreshRetryTokenForRetry(token: RetryToken, errorInfo: RetryErrorInfo): Promise<RetryToken> {
    if (!(token instanceof DeadlineRetryToken))
      throw new Error('token was not issued by LambdaRetryStrategy');
    const retryable =
      errorInfo.errorType === 'THROTTLING' ||
      errorInfo.errorType === 'TRANSIENT' ||
      this.#retryableErrorNames.has(errorInfo.error?.name ?? '');
    if (!retryable) throw new Error(`${errorInfo.errorType} errors are not retried`);
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** token.retryCount);
    const delayMs = Math.floor(this.#random() * ceiling);
    if (this.#now() + delayMs - token.startedAt > this.deadlineMs) {
      throw new Error(
        `retry deadline of ${this.deadlineMs} ms reached after ${token.retryCount + 1} attempts`,
      );
    }
    return new DeadlineRetryToken(token.startedAt, token.retryCount + 1, delayMs);
  }

  recordSuccess(_token: RetryToken): void {}
}
