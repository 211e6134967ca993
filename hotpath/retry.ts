/**
 * The hot path's numbers for the shared Lambda retry policy (`domain/lambda-retry.ts`): short
 * waits and a 3 s deadline per call, so a verb answers 503 fast rather than late, and the
 * conductor (30 s deadline) is the caller that backs off.
 */
import { type LambdaRetryOptions, LambdaRetryStrategy } from '../domain/lambda-retry.ts';

/** The hot path's retry timings, in milliseconds. */
export const hotPathRetryDefaults = {
  /** First retry waits up to 20 ms: Lambda's 15 requests/s bucket refills every ~67 ms. */
  baseDelayMs: 20,
  /** Largest wait before one retry: 200 ms. */
  maxDelayMs: 200,
  /** No retry is scheduled whose wait would end later than 3 s after the call's first attempt. */
  deadlineMs: 3000,
} as const;

/**
 * Options of {@link HotPathRetryStrategy}: those of {@link LambdaRetryOptions}, each timing
 * defaulting to {@link hotPathRetryDefaults}.
 */
export type HotPathRetryOptions = Partial<LambdaRetryOptions>;

/**
 * The shared {@link LambdaRetryStrategy} with the hot path's {@link hotPathRetryDefaults}.
 *
 * @throws RangeError when a duration is negative or not finite, or `maxDelayMs < baseDelayMs`
 * @example
 * const lambda = new LambdaClient({ retryStrategy: new HotPathRetryStrategy() });
 */
export class HotPathRetryStrategy extends LambdaRetryStrategy {
  constructor(options: HotPathRetryOptions = {}) {
    super({
      ...options,
      baseDelayMs: options.baseDelayMs ?? hotPathRetryDefaults.baseDelayMs,
      maxDelayMs: options.maxDelayMs ?? hotPathRetryDefaults.maxDelayMs,
      deadlineMs: options.deadlineMs ?? hotPathRetryDefaults.deadlineMs,
    });
  }
}
