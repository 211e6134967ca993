import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { takeReservedPort } from './net.ts';

/** Thrown by {@link readBody} when a request body is larger than allowed. */
export class BodyTooLargeError extends Error {
  readonly limitBytes: number;
  constructor(limitBytes: number) {
    super(`request body is larger than ${limitBytes} bytes`);
    this.name = 'BodyTooLargeError';
    this.limitBytes = limitBytes;
  }
}

/**
 * Reads a whole request body. Past `limitBytes` it keeps nothing more, reads and discards the rest
 * of the body (see {@link answerAfterBody}: at most {@link lingerMs}), and only then throws, so
 * the caller's answer (413 or the service's own error) reaches a client that is still sending,
 * and the keep-alive connection stays usable for the client's next request.
 *
 * @param limitBytes largest body accepted, in bytes (default 10 MiB: API Gateway's payload quota)
 * @throws BodyTooLargeError once the body is known to be larger than `limitBytes` and has ended
 * @throws RequestAbortedError when the client closes the connection before the body ends, or
 *   keeps sending past {@link lingerMs} after the limit (the connection is then destroyed)
 */
export async function readBody(req: IncomingMessage, limitBytes = 10 * 1024 * 1024): Promise<Buffer> {
  const body = await readBodyWithin(req, limitBytes);
  if (body !== undefined) return body;
  await new Promise<void>((resolve, reject) => {
    req.once('close', () => {
      if (!req.readableEnded) reject(new RequestAbortedError());
    });
    answerAfterBody(req, resolve);
  });
  throw new BodyTooLargeError(limitBytes);
}

/**
 * How long the rest of a refused body is read and discarded before the connection is dropped
 * without an answer: 30 s, nginx's `lingering_time` default. Bounds what a client that never
 * stops sending costs.
 */
export const lingerMs = 30_000;

/** Thrown by {@link readBodyWithin} when the client went away before its body ended. */
export class RequestAbortedError extends Error {
  constructor(options?: ErrorOptions) {
    super('the client closed the connection before the request body ended', options);
    this.name = 'RequestAbortedError';
  }
}

/**
 * Reads and discards whatever is left of `req`'s body, then calls `answer`. If the body has not
 * ended within {@link lingerMs}, the connection is destroyed and `answer` is never called; nor is
 * it when the client goes away first. Once the body has ended the connection is kept alive.
 */
export function answerAfterBody(req: IncomingMessage, answer: () => void): void {
  if (req.readableEnded) {
    answer();
    return;
  }
  const timer = setTimeout(() => req.socket.destroy(), lingerMs);
  timer.unref();
  const onEnd = (): void => {
    req.off('close', onClose);
    clearTimeout(timer);
    answer();
  };
  const onClose = (): void => {
    req.off('end', onEnd);
    clearTimeout(timer);
  };
  req.once('end', onEnd);
  req.once('close', onClose);
  // A 'data' listener marks the body as consumed, so Node does not dump it on its own.
  req.on('data', () => {});
  req.resume();
}

/**
 * Reads a whole request body of at most `limitBytes`. Past the limit it stops keeping what
 * arrives and resolves `undefined` at once, leaving the rest of the body to be discarded (see
 * {@link answerAfterBody}).
 *
 * @param limitBytes largest body accepted, in bytes
 * @returns the body, or `undefined` when it is larger than `limitBytes`
 * @throws RequestAbortedError when the client closes the connection before the body ends
 */
export function readBodyWithin(req: IncomingMessage, limitBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const onData = (chunk: Buffer): void => {
      if (settled) return; // over the limit: discarded
      size += chunk.length;
      if (size <= limitBytes) {
        chunks.push(chunk);
        return;
      }
      settled = true;
      chunks.length = 0;
      resolve(undefined);
    };
    const onEnd = (): void => {
      req.off('close', onClose);
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks));
    };
    const onClose = (): void => {
      req.off('end', onEnd);
      if (settled) return;
      settled = true;
      reject(new RequestAbortedError());
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onClose);
  });
}

/** Writes `body` as JSON with `status` and extra `headers`, and ends the response. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  contentType = 'application/json',
): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/**
 * Starts `server` on 127.0.0.1 and resolves with its base URL, `http://127.0.0.1:<port>`. A port
 * this process reserved with `reservePort` (`net.ts`) is served on the socket that holds it, so it
 * is never free in between.
 *
 * @param port TCP port; 0 (the default) lets the OS choose a free one
 */
export async function listen(server: Server, port = 0): Promise<string> {
  const held = takeReservedPort(port);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const listening = () => {
      server.off('error', reject);
      resolve();
    };
    if (held === undefined) server.listen(port, '127.0.0.1', listening);
    else server.listen(held, listening).ref();
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  return `http://127.0.0.1:${address.port}`;
}

/** Stops accepting connections, drops idle and open keep-alive sockets, and resolves when closed. */
export async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    server.closeAllConnections();
  });
}
