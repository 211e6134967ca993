/**
 * A token bucket: `requestsPerSecond` tokens per second, holding at most one second's worth
 * (`requestsPerSecond` tokens), so a burst of up to `requestsPerSecond` calls passes at once and
 * the sustained rate cannot exceed it. This is how AWS meters the Lambda control-plane quota
 * (15 requests per second per account, all control-plane operations together).
 *
 * @example
 * const bucket = new TokenBucket(15);
 * if (!bucket.tryTake()) throw tooManyRequests('CallerRateLimitExceeded');
 */
export class TokenBucket {
  #ratePerSecond: number;
  #tokens: number;
  #updatedAtMs: number;
  readonly #now: () => number;

  /**
   * @param requestsPerSecond sustained rate and burst size; 0 means unlimited
   * @param now clock in milliseconds (injectable for tests)
   * @throws RangeError when `requestsPerSecond` is negative or not finite
   */
  constructor(requestsPerSecond: number, now: () => number = () => performance.now()) {
    TokenBucket.check(requestsPerSecond);
    this.#now = now;
    this.#ratePerSecond = requestsPerSecond;
    this.#tokens = requestsPerSecond;
    this.#updatedAtMs = now();
  }

  /** The current rate in requests per second (0: unlimited). */
  get requestsPerSecond(): number {
    return this.#ratePerSecond;
  }

  /**
   * Changes the rate; the bucket starts full at the new rate.
   *
   * @throws RangeError when `requestsPerSecond` is negative or not finite
   */
  setRate(requestsPerSecond: number): void {
    TokenBucket.check(requestsPerSecond);
    this.#ratePerSecond = requestsPerSecond;
    this.#tokens = requestsPerSecond;
    this.#updatedAtMs = this.#now();
  }

  /** Takes one token if there is one; `false` means the call is over the rate. */
  tryTake(): boolean {
    if (this.#ratePerSecond === 0) return true;
    const now = this.#now();
    const elapsedSeconds = Math.max(0, now - this.#updatedAtMs) / 1000;
    this.#tokens = Math.min(this.#ratePerSecond, this.#tokens + elapsedSeconds * this.#ratePerSecond);
    this.#updatedAtMs = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  private static check(requestsPerSecond: number): void {
    if (!Number.isFinite(requestsPerSecond) || requestsPerSecond < 0) {
      throw new RangeError(`requestsPerSecond must be a finite number >= 0, got ${requestsPerSecond}`);
    }
  }
}
