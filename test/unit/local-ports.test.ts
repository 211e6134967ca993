/**
 * Ports of the local cloud and of test servers (`local/net.ts`, `listen` in `local/http.ts`): a
 * reserved port stays bound from the moment it is chosen until its server serves on it, so no
 * parallel test file or outgoing connection can take it in between.
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { closeServer, listen } from '../../local/http.ts';
import {
  ephemeralPortFloor,
  lowestPickedPort,
  randomPortBelowEphemeralRange,
  reservePort,
} from '../../local/net.ts';

/** Tries to bind `port` on 127.0.0.1 from another socket; resolves with the error code, or 'bound'. */
async function bindElsewhere(port: number): Promise<string> {
  const other = createServer();
  return new Promise((resolve) => {
    other.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    other.listen(port, '127.0.0.1', () => other.close(() => resolve('bound')));
  });
}

describe('reservePort', () => {
  it('refuses the reserved port to every other socket until it is released', async () => {
    // Prepare
    const reservation = await reservePort();

    // Act
    const whileHeld = await bindElsewhere(reservation.port);
    await reservation.release();
    const afterRelease = await bindElsewhere(reservation.port);

    // Assess
    expect(whileHeld).toBe('EADDRINUSE');
    expect(afterRelease).toBe('bound');
  });

  it('resets a connection to a port that is held and not served yet', async () => {
    // Prepare
    const reservation = await reservePort();
    try {
      // Act
      const answer = await fetch(`http://127.0.0.1:${reservation.port}/`).catch(
        (error: Error & { cause?: NodeJS.ErrnoException }) => error.cause?.code,
      );

      // Assess
      expect(answer).toBe('ECONNRESET');
    } finally {
      await reservation.release();
    }
  });

  it('hands the held socket to the server that listens on the port: it serves there at once', async () => {
    // Prepare
    const reservation = await reservePort();
    const server = createHttpServer((_req, res) => res.end('served'));

    // Act
    const url = await listen(server, reservation.port);

    // Assess
    try {
      expect(url).toBe(`http://127.0.0.1:${reservation.port}`);
      expect(await (await fetch(url)).text()).toBe('served');
      expect(await bindElsewhere(reservation.port)).toBe('EADDRINUSE');
      // The server owns the socket now: releasing the reservation leaves it serving.
      await reservation.release();
      expect(await (await fetch(url)).text()).toBe('served');
    } finally {
      await closeServer(server);
    }
    expect(await bindElsewhere(reservation.port)).toBe('bound');
  });

  it('refuses a port another socket holds with EADDRINUSE', async () => {
    // Prepare
    const first = await reservePort();
    try {
      // Act
      const second = reservePort(first.port);

      // Assess
      await expect(second).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await first.release();
    }
  });
});

describe('randomPortBelowEphemeralRange', () => {
  it('picks ports the OS never hands out by itself, the whole span below its ephemeral range', async () => {
    // Prepare
    const floor = await ephemeralPortFloor();
    const span = 13;

    // Act
    const picks = await Promise.all(Array.from({ length: 200 }, () => randomPortBelowEphemeralRange(span)));

    // Assess
    for (const port of picks) {
      expect(port).toBeGreaterThanOrEqual(lowestPickedPort);
      expect(port + span - 1).toBeLessThan(floor);
    }
    expect(new Set(picks).size).toBeGreaterThan(100);
  });
});
