/**
 * How a conductor stays under the account's Lambda control-plane quota: a rate limiter in front of
 * every call its Lambda client sends (waiters and `domain/concurrency` included), and the shared
 * Lambda retry strategy (`domain/lambda-retry.ts`) with the conductors' slower timings. Every
 * conductor that calls the Lambda API (the Lambda conductor, and any later one that manages
 * permissions or function URLs) builds its client here, so that all back off before the hot path.
 *
 * Why: the Lambda control-plane API allows 15 requests/s for the whole account, all mutating and
 * most read calls together (Lambda quotas, "API request rate"); GetFunction has its own 100/s.
 * The hot path shares that budget and must not starve while a large deployment runs, so the
 * conductor paces itself below it (10/s by default) and is the one that backs off.
 *
 * @module
 */
import { LambdaClient, type LambdaClientConfig } from '@aws-sdk/client-lambda';
import { LambdaRetryStrategy } from '../../../domain/lambda-retry.ts';

/** The conductor's defaults; every rate is in requests per second, every duration in milliseconds. */
export const conductorRateDefaults = {
  /** Control-plane calls per second, all operations but GetFunction and Invoke: 10, two thirds of Lambda's 15/s account quota. */
  requestsPerSecond: 10,
  /** GetFunction calls per second: 50, half of its own 100/s quota (Lambda quotas). */
  getFunctionRequestsPerSecond: 50,
  /** Calls let through at once after an idle spell; 1 paces calls evenly. */
  burst: 1,
  /** First retry waits up to this long (full jitter: a uniform draw in [0, ceiling)). */
  baseDelayMs: 100,
  /** Largest wait before one retry. */
  maxDelayMs: 5_000,
  /** No retry is scheduled whose wait would end later than this after the call's first attempt. */
  deadlineMs: 30_000,
} as const;

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Calls let through at once after an idle spell. @default 1 */
  readonly burst?: number;
  /** Clock in milliseconds, for tests. @default performance.now */
  readonly now?: () => number;
  /** Waits `ms` milliseconds, for tests. @default a timer */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * An asynchronous rate limiter (the generic cell rate algorithm, equivalent to a token bucket of
 * `burst` tokens refilled at `requestsPerSecond`): {@link acquire} resolves when the caller may
 * send its request. Each caller is given its own slot at once, so concurrent callers are spaced
 * `1000 / requestsPerSecond` ms apart and the sustained rate never exceeds `requestsPerSecond`.
 *
 * @example
 * const limiter = new RateLimiter(10);
 * await limiter.acquire(); // then send one request
 */
export class RateLimiter {
  #requestsPerSecond: number;
  readonly burst: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  /** Theoretical arrival time of the next call, in ms on {@link #now}'s clock. */
  #nextAt: number;
  #acquired = 0;

  /**
   * @param requestsPerSecond sustained rate; 0 means unlimited
   * @throws RangeError when the rate is negative or not finite, or `burst` is not an integer ≥ 1
   */
  constructor(requestsPerSecond: number, options: RateLimiterOptions = {}) {
    RateLimiter.check(requestsPerSecond);
    const burst = options.burst ?? conductorRateDefaults.burst;
    if (!Number.isInteger(burst) || burst < 1)
      throw new RangeError(`burst must be an integer >= 1, got ${burst}`);
    this.#requestsPerSecond = requestsPerSecond;
    this.burst = burst;
    this.#now = options.now ?? (() => performance.now());
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#nextAt = this.#now();
  }

  /** The sustained rate, in requests per second (0: unlimited). */
  get requestsPerSecond(): number {
    return this.#requestsPerSecond;
  }

  /** Calls let through since the limiter was made. */
  get acquired(): number {
    return this.#acquired;
  }

  /** Changes the rate; slots already given keep their time. @throws RangeError as the constructor */
  setRate(requestsPerSecond: number): void {
    RateLimiter.check(requestsPerSecond);
    this.#requestsPerSecond = requestsPerSecond;
  }

  /** Resolves when one more call may be sent. */
  async acquire(): Promise<void> {
    this.#acquired += 1;
    if (this.#requestsPerSecond === 0) return;
    const intervalMs = 1000 / this.#requestsPerSecond;
    const now = this.#now();
    const nextAt = Math.max(this.#nextAt, now);
    const sendAt = nextAt - (this.burst - 1) * intervalMs;
    this.#nextAt = nextAt + intervalMs;
    if (sendAt > now) await this.#sleep(sendAt - now);
  }

  private static check(requestsPerSecond: number): void {
    if (!Number.isFinite(requestsPerSecond) || requestsPerSecond < 0) {
      throw new RangeError(`requestsPerSecond must be a finite number >= 0, got ${requestsPerSecond}`);
    }
  }
}

/** The limiters of one Lambda client: one for GetFunction (its own quota), one for the rest. */
export interface LambdaRateLimiters {
  readonly controlPlane: RateLimiter;
  readonly getFunction: RateLimiter;
}

/** Clients already limited, so that installing twice keeps the first limiters. */
const installed = new WeakMap<LambdaClient, LambdaRateLimiters>();

/**
 * Puts `limiters` in front of every request `lambda` sends, retries included (the middleware sits
 * inside the SDK's retry loop, so each attempt waits for its slot). `Invoke` is data plane and
 * passes freely; `GetFunction` uses {@link LambdaRateLimiters.getFunction}. Installing on a client
 * that already has limiters returns those and changes nothing.
 */
export function installRateLimit(lambda: LambdaClient, limiters: LambdaRateLimiters): LambdaRateLimiters {
  const existing = installed.get(lambda);
  if (existing !== undefined) return existing;
  lambda.middlewareStack.add(
    (next, context) =>
      async function waitForRateLimit(args) {
        const command = context.commandName ?? '';
        if (command !== 'InvokeCommand' && command !== 'InvokeAsyncCommand') {
          await (command === 'GetFunctionCommand' ? limiters.getFunction : limiters.controlPlane).acquire();
        }
        return next(args);
      },
    { step: 'finalizeRequest', priority: 'low', name: 'grecoConductorRateLimit' },
  );
  installed.set(lambda, limiters);
  return limiters;
}

/** Options of {@link createConductorLambdaClient}. */
export interface ConductorLambdaClientOptions {
  /** Control-plane calls per second (env `GRECO_CONDUCTOR_RATE_LIMIT`). @default 10 */
  readonly requestsPerSecond?: number;
  /** GetFunction calls per second. @default 50 */
  readonly getFunctionRequestsPerSecond?: number;
  /** Retry backoff: first ceiling, in ms. @default 100 */
  readonly baseDelayMs?: number;
  /** Retry backoff: largest wait, in ms. @default 5000 */
  readonly maxDelayMs?: number;
  /** Retry deadline of one call from its first attempt, in ms. @default 30000 */
  readonly deadlineMs?: number;
  /** Anything else of the client (endpoint, region, credentials, requestHandler). @default - the SDK's own configuration */
  readonly clientConfig?: LambdaClientConfig;
}

/**
 * Builds the conductor's Lambda client: paced by {@link installRateLimit} and retrying throttles
 * (`TooManyRequestsException`) and transient errors (5xx, timeouts) with exponential backoff and
 * full jitter until a per-call deadline (the shared {@link LambdaRetryStrategy}, with the
 * conductor's slower {@link conductorRateDefaults}). Client errors are never retried.
 *
 * @example
 * const lambda = createConductorLambdaClient({ requestsPerSecond: 10 });
 */
export function createConductorLambdaClient(options: ConductorLambdaClientOptions = {}): LambdaClient {
  const lambda = new LambdaClient({
    retryStrategy: new LambdaRetryStrategy({
      baseDelayMs: options.baseDelayMs ?? conductorRateDefaults.baseDelayMs,
      maxDelayMs: options.maxDelayMs ?? conductorRateDefaults.maxDelayMs,
      deadlineMs: options.deadlineMs ?? conductorRateDefaults.deadlineMs,
    }),
    requestHandler: { connectionTimeout: 2_000, requestTimeout: 10_000, throwOnRequestTimeout: true },
    ...options.clientConfig,
  });
  installRateLimit(lambda, {
    controlPlane: new RateLimiter(options.requestsPerSecond ?? conductorRateDefaults.requestsPerSecond),
    getFunction: new RateLimiter(
      options.getFunctionRequestsPerSecond ?? conductorRateDefaults.getFunctionRequestsPerSecond,
    ),
  });
  return lambda;
}

/** The limiters installed on a client by {@link installRateLimit}, if any. */
export function rateLimitersOf(lambda: LambdaClient): LambdaRateLimiters | undefined {
  return installed.get(lambda);
}
