import { createServer } from 'node:net';

/** Fake static credentials for local services; AWS SDK v3 clients need some to sign requests. */
export const localCredentials = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

/** The region the local cloud claims to be. */
export const localRegion = 'us-east-1';

/** The 12-digit account id the local cloud claims to be. */
export const localAccountId = '000000000000';

/** Asks the OS for a free TCP port on 127.0.0.1 and releases it. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Thrown by {@link waitFor} when the condition did not hold before the deadline. */
export class WaitTimeoutError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'WaitTimeoutError';
  }
}

/**
 * Polls `check` until it returns a value other than `undefined`/`false`, or the deadline passes.
 * A `check` that throws is retried; the last error becomes the timeout's `cause`.
 *
 * @param options.timeoutMs deadline in milliseconds (default 10000)
 * @param options.intervalMs pause between attempts in milliseconds (default 50)
 * @param options.signal stops waiting when aborted, rejecting with the signal's reason
 * @throws WaitTimeoutError naming `options.what` when the deadline passes
 */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: { timeoutMs?: number; intervalMs?: number; what?: string; signal?: AbortSignal } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let lastError: unknown;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      throw new WaitTimeoutError(`timed out waiting for ${options.what ?? 'a condition'}`, {
        cause: lastError,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
  }
}
