import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';

/** Fake static credentials for local services; AWS SDK v3 clients need some to sign requests. */
export const localCredentials = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

/** The region the local cloud claims to be. */
export const localRegion = 'us-east-1';

/** The 12-digit account id the local cloud claims to be. */
export const localAccountId = '000000000000';

/** A TCP port on 127.0.0.1 that this process holds (see {@link reservePort}). */
export interface PortReservation {
  readonly port: number;
  /** Closes the held socket unless a server took it over; safe to call twice. */
  release(): Promise<void>;
}

/** The sockets held by {@link reservePort}, by port, until `listen` (`http.ts`) takes one over. */
const heldPorts = new Map<number, Server>();

/**
 * Binds a TCP port on 127.0.0.1 and holds it for a server of this process, so that the port is
 * never free between being chosen and being served. `listen` in `http.ts` (every emulator and
 * test server) takes the held socket over when asked for a reserved port: a port chosen with
 * `listen(0)`, closed and bound again later could be taken in between by a parallel test file or
 * by any outgoing connection (the OS picks both from the same ephemeral range). Until it is
 * taken over, a connection to the port is reset.
 *
 * @param port the port to hold; 0 (the default) lets the OS choose a free one
 * @throws the `listen` error: an `EADDRINUSE` `NodeJS.ErrnoException` when `port` is taken
 * @example
 * ```ts
 * const { port } = await reservePort();
 * const other = await startSomething({ peer: `http://127.0.0.1:${port}` });
 * await listen(server, port); // the held socket, never released in between
 * ```
 */
export async function reservePort(port = 0): Promise<PortReservation> {
  const holder = createServer((socket) => socket.resetAndDestroy());
  await new Promise<void>((resolve, reject) => {
    holder.once('error', reject);
    holder.listen(port, '127.0.0.1', () => {
      holder.off('error', reject);
      resolve();
    });
  });
  // A held port alone keeps no process alive; the server that takes it over does (`listen`).
  holder.unref();
  const address = holder.address();
  const held = typeof address === 'object' && address !== null ? address.port : port;
  heldPorts.set(held, holder);
  return {
    port: held,
    async release() {
      if (heldPorts.get(held) !== holder) return;
      heldPorts.delete(held);
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    },
  };
}

/**
 * The held socket of a port {@link reservePort} reserved, handed over once (for `listen` in
 * `http.ts`: `server.listen(held)` serves on the same socket); `undefined` for any other port.
 */
export function takeReservedPort(port: number): Server | undefined {
  const held = heldPorts.get(port);
  heldPorts.delete(port);
  return held;
}

/**
 * The lowest port of the range the OS assigns by itself, to `listen(0)` and to outgoing
 * connections: Linux's `net.ipv4.ip_local_port_range` (32768 by default), else 49152 (IANA's
 * dynamic range, the default of macOS and Windows).
 */
export async function ephemeralPortFloor(): Promise<number> {
  try {
    const range = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8');
    const low = Number(range.trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 1024) return low;
  } catch {
    // Not Linux: the IANA default below.
  }
  return 49_152;
}

/** Lowest port {@link randomPortBelowEphemeralRange} picks: clear of the usual well-known services. */
export const lowestPickedPort = 20_000;

/**
 * A random port between {@link lowestPickedPort} and the OS's ephemeral range minus `span`
 * (exclusive), so that the ports `port` to `port + span - 1` are ones the OS never hands out by
 * itself. For servers that cannot take a held socket (DynamoDB Local runs in a JVM) and for port
 * blocks: between a check and the bind, only a process that picks the same port on purpose can
 * take it, and callers retry on `EADDRINUSE`.
 *
 * @param span how many consecutive ports the caller uses from the one returned (default 1)
 */
export async function randomPortBelowEphemeralRange(span = 1): Promise<number> {
  const ceiling = Math.max(lowestPickedPort + span + 1, (await ephemeralPortFloor()) - span);
  return lowestPickedPort + Math.floor(Math.random() * (ceiling - lowestPickedPort));
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
