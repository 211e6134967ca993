/** Measures how long a client spends in AWS API calls, to tell the controller's own time apart. */

import type { MiddlewareStack } from '@smithy/types';

/** The part of an AWS SDK v3 client this needs: its middleware stack. */
export interface WithMiddlewareStack {
  // biome-ignore lint/suspicious/noExplicitAny: any client's stack, whatever its input and output types
  readonly middlewareStack: MiddlewareStack<any, any>;
}

/** Time and count of API calls since the last {@link ApiTimer.reset}. */
export interface ApiTimer {
  /** Milliseconds spent inside `send` (retries and backoff included), summed over calls. */
  readonly totalMs: number;
  readonly calls: number;
  reset(): void;
}

/** Timers already attached, so that tracking a client twice returns the same timer. */
const timers = new WeakMap<WithMiddlewareStack, ApiTimer>();

/**
 * Adds a middleware to `client` that sums the wall time of every `send`. One Lambda container
 * serves one request at a time, so resetting it at the start of a request attributes the sums to
 * that request. Tracking the same client again returns its existing timer.
 */
export function trackApiTime(
  client: WithMiddlewareStack,
  now: () => number = performance.now.bind(performance),
): ApiTimer {
  const existing = timers.get(client);
  if (existing !== undefined) return existing;
  let totalMs = 0;
  let calls = 0;
  client.middlewareStack.add(
    (next) =>
      async function timeApiCall(args) {
        const started = now();
        try {
          return await next(args);
        } finally {
          totalMs += now() - started;
          calls += 1;
        }
      },
    { step: 'initialize', name: 'grecoApiTimer' },
  );
  const timer: ApiTimer = {
    get totalMs() {
      return totalMs;
    },
    get calls() {
      return calls;
    },
    reset() {
      totalMs = 0;
      calls = 0;
    },
  };
  timers.set(client, timer);
  return timer;
}
