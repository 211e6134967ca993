/**
 * Runs function code in child processes, like Lambda's execution environments: one invocation at a
 * time per process, warm processes reused per function version (a small pool per snapshot of code
 * and configuration), the function's timeout enforced by killing the process, and its output
 * forwarded, line by line, as Lambda sends it to CloudWatch Logs: to the log group
 * `/aws/lambda/<function name>` (or the function's `LoggingConfig.LogGroup`), one log stream per
 * process (execution environment).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { localCredentials } from '../net.ts';
import type { AccountScope } from './names.ts';
import type {
  FunctionErrorPayload,
  InitErrorMessage,
  InvokeMessage,
  ResultMessage,
  RuntimeMessage,
} from './runtime-protocol.ts';
import { type FunctionSnapshot, functionLogGroup, type InvocationTarget, nodeRuntimeMajor } from './store.ts';

/** Lambda quota: response payload of a synchronous invocation, as the runtime measures it (bytes). */
export const responsePayloadLimitBytes = 6_291_556;
/** Lambda: the Init phase of an on-demand execution environment may take at most 10 seconds. */
export const initTimeoutMs = 10_000;
/** Lambda: the log tail returned with `LogType: Tail` is the last 4 KB of the invocation's log. */
const logTailBytes = 4096;

const bootstrapPath = fileURLToPath(new URL('./runtime-bootstrap.ts', import.meta.url));
const hostNodeMajor = Number(process.versions.node.split('.')[0]);

/** Receives each line the emulator logs (and the functions' output, without a {@link FunctionLogSink}). */
export type LogSink = (line: string) => void;

/** One line of a function's output, addressed as Lambda sends it to CloudWatch Logs. */
export interface FunctionLogEvent {
  /**
   * `AWS_LAMBDA_LOG_GROUP_NAME`: the function's `LoggingConfig.LogGroup`, else
   * `/aws/lambda/<function name>`.
   */
  readonly logGroupName: string;
  /**
   * `YYYY/MM/DD/[<version>]<32 hex digits>` (`AWS_LAMBDA_LOG_STREAM_NAME`): one stream per function
   * process, dated (UTC) when it started, `<version>` being `$LATEST` or the version number.
   */
  readonly logStreamName: string;
  /** When the line was written, in milliseconds since the epoch. */
  readonly timestamp: number;
  /** The line: `START RequestId: ...`, a `console` call in Lambda's format (newlines kept), `END ...`, `REPORT ...`. */
  readonly message: string;
  /** The function name and version, for a console prefix (`[name:version]`). */
  readonly functionName: string;
  readonly version: string;
}

/** Receives every line of function output (START/END/REPORT and the function's stdout and stderr). */
export type FunctionLogSink = (event: FunctionLogEvent) => void;

/** Where one process's output goes: its function's log group and its own stream. */
interface LogDestination {
  readonly target: InvocationTarget;
  readonly logStreamName: string;
}

/**
 * A new stream name, as Lambda names the stream of an execution environment: `YYYY/MM/DD/[<version>]<id>`
 * in the default group, `YYYY/MM/DD/<function name>[<version>]<id>` in a custom one
 * (`LoggingConfig.LogGroup`), which the functions of several names share.
 */
function newLogStreamName(target: InvocationTarget): string {
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  const owner = target.snapshot.logGroup === undefined ? '' : target.functionName;
  return `${day}/${owner}[${target.version}]${randomBytes(16).toString('hex')}`;
}

/** Options of {@link FunctionRunner}. */
export interface FunctionRunnerOptions {
  readonly scope: AccountScope;
  /** Variables given to every function process, below the function's own variables. */
  readonly functionEnvironment: Readonly<Record<string, string>>;
  readonly logSink: LogSink;
  /**
   * Receives the functions' output, line by line, with its log group and stream.
   * @default - each line goes to `logSink`, prefixed `[name:version]`
   */
  readonly functionLogSink?: FunctionLogSink;
  /** Warm idle processes kept per function version. @default 4 */
  readonly maxIdlePerVersion?: number;
  /** An idle process is stopped after this long, in milliseconds. @default 300000 */
  readonly idleTimeoutMs?: number;
  /** Called when a process exits (to release code no process runs any more). */
  readonly onProcessExit?: () => void;
}

/** One invocation to run. */
export interface RunRequest {
  readonly target: InvocationTarget;
  readonly requestId: string;
  /** The event as JSON text. */
  readonly payload: string;
  /** Decoded `X-Amz-Client-Context`, JSON text. */
  readonly clientContext?: string;
  /** Whether to return the last 4 KB of log (`LogType: Tail`). */
  readonly tail: boolean;
}

/** How an invocation ended. A function error is a result, not an exception. */
export interface RunResult {
  /** Response payload: the handler's JSON result, or the error payload. */
  readonly payload: string;
  /** `Unhandled` when the function failed (Lambda's `X-Amz-Function-Error`). */
  readonly functionError?: 'Unhandled';
  /** Base64 of the last 4 KB of log, when asked. */
  readonly logResult?: string;
  readonly coldStart: boolean;
  readonly timedOut: boolean;
  /** Wall time of the invocation (without init), in milliseconds. */
  readonly durationMs: number;
}

/** Thrown by {@link FunctionRunner.run} after {@link FunctionRunner.close}. */
export class RunnerClosedError extends Error {
  constructor(message = 'the Lambda emulator is closing', options?: ErrorOptions) {
    super(message, options);
    this.name = 'RunnerClosedError';
  }
}

type WorkerOutcome =
  | { readonly kind: 'result'; readonly message: ResultMessage }
  | { readonly kind: 'exit'; readonly code: number | null; readonly signal: NodeJS.Signals | null };

interface Worker {
  readonly child: ChildProcess;
  readonly pool: Pool;
  /** Where this process's output goes. */
  readonly log: LogDestination;
  readonly ready: Promise<FunctionErrorPayload | 'exited' | undefined>;
  readonly exited: Promise<void>;
  dead: boolean;
  reusable: boolean;
  idleTimer: NodeJS.Timeout | undefined;
  pending: ((outcome: WorkerOutcome) => void) | undefined;
}

interface Pool {
  readonly key: string;
  readonly target: InvocationTarget;
  readonly idle: Worker[];
  readonly all: Set<Worker>;
  retired: boolean;
}

/** Starts, reuses and stops function processes. */
export class FunctionRunner {
  readonly #options: FunctionRunnerOptions;
  readonly #pools = new Map<string, Pool>();
  #closed = false;
  #coldStarts = 0;

  constructor(options: FunctionRunnerOptions) {
    this.#options = options;
  }

  /** Number of function processes alive. */
  get processCount(): number {
    let count = 0;
    for (const pool of this.#pools.values()) count += pool.all.size;
    return count;
  }

  /** Number of processes started so far (cold starts). */
  get coldStarts(): number {
    return this.#coldStarts;
  }

  /** Code folders that a live process may still read. */
  codeInUse(): Set<string> {
    const hexes = new Set<string>();
    for (const pool of this.#pools.values()) {
      if (pool.all.size > 0) hexes.add(pool.target.snapshot.code.sha256Hex);
    }
    return hexes;
  }

  /**
   * Runs one invocation in a warm process of the target's snapshot, or a new one.
   *
   * @throws RunnerClosedError when the runner is closed
   */
  async run(request: RunRequest): Promise<RunResult> {
    if (this.#closed) throw new RunnerClosedError();
    const { target } = request;
    const major = nodeRuntimeMajor(target.snapshot.runtime);
    if (major === undefined || major < 18 || major > hostNodeMajor) {
      return this.#unsupportedRuntime(request);
    }
    const pool = this.#pool(target);
    let worker = pool.idle.pop();
    const coldStart = worker === undefined;
    if (worker === undefined) worker = this.#spawn(pool);
    if (worker.idleTimer !== undefined) clearTimeout(worker.idleTimer);
    worker.idleTimer = undefined;

    const { snapshot } = target;
    const { log } = worker;
    const startLine = `START RequestId: ${request.requestId} Version: ${target.version}`;
    this.#log(log, startLine);
    const initStarted = performance.now();
    const init = await this.#waitReady(worker);
    const initDurationMs = performance.now() - initStarted;
    if (init !== undefined) {
      this.#kill(worker);
      const error =
        init === 'timeout'
          ? {
              errorType: 'Sandbox.Timedout',
              errorMessage: `RequestId: ${request.requestId} Error: Init phase timed out after ${(initTimeoutMs / 1000).toFixed(2)} seconds`,
            }
          : init === 'exited'
            ? {
                errorType: 'Runtime.ExitError',
                errorMessage: `RequestId: ${request.requestId} Error: Runtime exited before it was ready`,
              }
            : init;
      return this.#finish(
        request,
        log,
        { payload: JSON.stringify(error), failed: true },
        0,
        coldStart,
        false,
        startLine,
      );
    }

    const started = performance.now();
    const timeoutMs = snapshot.timeoutSeconds * 1000;
    const message: InvokeMessage = {
      type: 'invoke',
      requestId: request.requestId,
      payload: request.payload,
      deadlineMs: Date.now() + timeoutMs,
      invokedFunctionArn: target.invokedFunctionArn,
      ...(request.clientContext === undefined ? {} : { clientContext: request.clientContext }),
      tail: request.tail,
    };
    const outcome = await new Promise<WorkerOutcome | 'timeout'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), timeoutMs);
      const current = worker;
      current.pending = (value) => {
        clearTimeout(timer);
        current.pending = undefined;
        resolve(value);
      };
      current.child.send(message, (error) => {
        if (error !== null && error !== undefined)
          current.pending?.({ kind: 'exit', code: null, signal: null });
      });
    });
    const durationMs = performance.now() - started;
    if (outcome === 'timeout') {
      worker.pending = undefined;
      this.#kill(worker);
      const error = {
        errorType: 'Sandbox.Timedout',
        errorMessage: `RequestId: ${request.requestId} Error: Task timed out after ${snapshot.timeoutSeconds.toFixed(2)} seconds`,
      };
      this.#log(
        log,
        `${new Date().toISOString()} ${request.requestId} Task timed out after ${snapshot.timeoutSeconds.toFixed(2)} seconds`,
      );
      return this.#finish(
        request,
        log,
        { payload: JSON.stringify(error), failed: true },
        durationMs,
        coldStart,
        true,
        startLine,
        initDurationMs,
      );
    }
    if (outcome.kind === 'exit') {
      const how =
        outcome.signal === null ? `exit status ${outcome.code ?? 'unknown'}` : `signal: ${outcome.signal}`;
      const error = {
        errorType: 'Runtime.ExitError',
        errorMessage: `RequestId: ${request.requestId} Error: Runtime exited with error: ${how}`,
      };
      return this.#finish(
        request,
        log,
        { payload: JSON.stringify(error), failed: true },
        durationMs,
        coldStart,
        false,
        startLine,
        initDurationMs,
      );
    }
    const result = outcome.message;
    if (result.exiting) worker.reusable = false;
    this.#release(worker);
    let payload = result.payload ?? 'null';
    let failed = result.error !== undefined;
    if (result.error !== undefined) payload = JSON.stringify(result.error);
    if (!failed && Buffer.byteLength(payload) > responsePayloadLimitBytes) {
      payload = JSON.stringify({
        errorMessage: `Response payload size exceeded maximum allowed payload size (${responsePayloadLimitBytes} bytes).`,
        errorType: 'Function.ResponseSizeTooLarge',
      });
      failed = true;
    }
    return this.#finish(
      request,
      log,
      { payload, failed, log: result.log, memoryUsedMiB: result.maxMemoryUsedMiB },
      durationMs,
      coldStart,
      false,
      startLine,
      initDurationMs,
    );
  }

  /** No invocation will run this snapshot again: stop its idle processes, and busy ones when done. */
  retire(snapshotId: string): void {
    for (const pool of this.#pools.values()) {
      if (pool.target.snapshot.id !== snapshotId) continue;
      pool.retired = true;
      for (const worker of pool.idle.splice(0)) this.#kill(worker);
      if (pool.all.size === 0) this.#pools.delete(pool.key);
    }
  }

  /** Stops every process and waits until all have exited. */
  async close(): Promise<void> {
    this.#closed = true;
    const exits: Array<Promise<void>> = [];
    for (const pool of this.#pools.values()) {
      for (const worker of pool.all) {
        this.#kill(worker);
        exits.push(worker.exited);
      }
    }
    await Promise.all(exits);
    this.#pools.clear();
  }

  #pool(target: InvocationTarget): Pool {
    // One pool per snapshot and version: AWS_LAMBDA_FUNCTION_VERSION differs between them.
    const key = `${target.snapshot.id}/${target.version}`;
    let pool = this.#pools.get(key);
    if (pool === undefined || pool.retired) {
      pool = { key, target, idle: [], all: new Set(), retired: false };
      this.#pools.set(key, pool);
    }
    return pool;
  }

  #spawn(pool: Pool): Worker {
    const { target } = pool;
    const { snapshot } = target;
    this.#coldStarts += 1;
    const log: LogDestination = { target, logStreamName: newLogStreamName(target) };
    const child = spawn(
      process.execPath,
      [`--max-old-space-size=${Math.floor((snapshot.memoryMiB * 90) / 100)}`, bootstrapPath],
      {
        cwd: snapshot.code.dir,
        env: this.#environment(target, snapshot, log.logStreamName),
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        serialization: 'json',
        // Its own process group, so that close() also stops processes the function started.
        detached: true,
      },
    );
    let resolveReady: (value: FunctionErrorPayload | 'exited' | undefined) => void = () => {};
    const ready = new Promise<FunctionErrorPayload | 'exited' | undefined>((resolve) => {
      resolveReady = resolve;
    });
    let resolveExited: () => void = () => {};
    const exited = new Promise<void>((resolve) => {
      resolveExited = resolve;
    });
    const worker: Worker = {
      child,
      pool,
      log,
      ready,
      exited,
      dead: false,
      reusable: true,
      idleTimer: undefined,
      pending: undefined,
    };
    pool.all.add(worker);
    this.#forward(child.stdout, log);
    this.#forward(child.stderr, log);
    child.on('message', (message: RuntimeMessage) => {
      if (message.type === 'ready') resolveReady(undefined);
      else if (message.type === 'init-error') resolveReady((message as InitErrorMessage).error);
      else if (message.type === 'result') worker.pending?.({ kind: 'result', message });
    });
    const onGone = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (worker.dead) return;
      worker.dead = true;
      if (worker.idleTimer !== undefined) clearTimeout(worker.idleTimer);
      resolveReady('exited');
      worker.pending?.({ kind: 'exit', code, signal });
      pool.all.delete(worker);
      const index = pool.idle.indexOf(worker);
      if (index >= 0) pool.idle.splice(index, 1);
      if (pool.all.size === 0 && pool.retired && this.#pools.get(pool.key) === pool)
        this.#pools.delete(pool.key);
      resolveExited();
      this.#options.onProcessExit?.();
    };
    child.once('exit', onGone);
    child.once('error', (error) => {
      this.#options.logSink(
        `[lambda emulator] could not start a process for ${target.functionName}: ${error.message}`,
      );
      onGone(null, null);
    });
    return worker;
  }

  async #waitReady(worker: Worker): Promise<FunctionErrorPayload | 'exited' | 'timeout' | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), initTimeoutMs);
    });
    try {
      return await Promise.race([worker.ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Back to the idle pool, or stopped when the pool is full, retired, or the process is done. */
  #release(worker: Worker): void {
    const { pool } = worker;
    const maxIdle = this.#options.maxIdlePerVersion ?? 4;
    if (worker.dead) return;
    if (this.#closed || pool.retired || !worker.reusable || pool.idle.length >= maxIdle) {
      this.#kill(worker);
      return;
    }
    worker.idleTimer = setTimeout(() => this.#kill(worker), this.#options.idleTimeoutMs ?? 300_000);
    worker.idleTimer.unref();
    pool.idle.push(worker);
  }

  #kill(worker: Worker): void {
    const index = worker.pool.idle.indexOf(worker);
    if (index >= 0) worker.pool.idle.splice(index, 1);
    const { child } = worker;
    if (worker.dead || child.exitCode !== null || child.signalCode !== null) return;
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      else child.kill('SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }

  #environment(
    target: InvocationTarget,
    snapshot: FunctionSnapshot,
    logStreamName: string,
  ): Record<string, string> {
    const { region } = this.#options.scope;
    const defined: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_EXECUTION_ENV: `AWS_Lambda_${snapshot.runtime}`,
      AWS_LAMBDA_FUNCTION_NAME: target.functionName,
      AWS_LAMBDA_FUNCTION_VERSION: target.version,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(snapshot.memoryMiB),
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_LAMBDA_LOG_GROUP_NAME: functionLogGroup(target.functionName, snapshot),
      AWS_LAMBDA_LOG_STREAM_NAME: logStreamName,
      // Lambda sets the execution role's credentials; locally, fake ones (never the host's).
      AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
      AWS_SESSION_TOKEN: 'local',
      _HANDLER: snapshot.handler ?? '',
      LAMBDA_TASK_ROOT: snapshot.code.dir,
      LAMBDA_RUNTIME_DIR: fileURLToPath(new URL('.', import.meta.url)),
    };
    return { ...defined, ...this.#options.functionEnvironment, ...snapshot.variables };
  }

  #forward(stream: NodeJS.ReadableStream | null, log: LogDestination): void {
    if (stream === null) return;
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        this.#log(log, buffered.slice(0, newline).replaceAll('\r', '\n'));
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
      }
    });
    stream.on('end', () => {
      if (buffered !== '') this.#log(log, buffered.replaceAll('\r', '\n'));
    });
  }

  #log({ target, logStreamName }: LogDestination, line: string): void {
    const sink = this.#options.functionLogSink;
    if (sink === undefined) {
      this.#options.logSink(`[${target.functionName}:${target.version}] ${line}`);
      return;
    }
    sink({
      logGroupName: functionLogGroup(target.functionName, target.snapshot),
      logStreamName,
      timestamp: Date.now(),
      message: line,
      functionName: target.functionName,
      version: target.version,
    });
  }

  #unsupportedRuntime(request: RunRequest): RunResult {
    const runtime = request.target.snapshot.runtime ?? '(none)';
    const error = {
      errorType: 'Runtime.Unsupported',
      errorMessage: `The local Lambda emulator runs Node.js runtimes only (nodejs18.x to nodejs${hostNodeMajor}.x, on Node.js ${process.versions.node}); this function's runtime is ${runtime}.`,
      trace: [],
    };
    this.#log(
      { target: request.target, logStreamName: newLogStreamName(request.target) },
      `Runtime.Unsupported: ${error.errorMessage}`,
    );
    return {
      payload: JSON.stringify(error),
      functionError: 'Unhandled',
      coldStart: false,
      timedOut: false,
      durationMs: 0,
    };
  }

  #finish(
    request: RunRequest,
    log: LogDestination,
    outcome: { payload: string; failed: boolean; log?: string | undefined; memoryUsedMiB?: number },
    durationMs: number,
    coldStart: boolean,
    timedOut: boolean,
    startLine: string,
    initDurationMs?: number,
  ): RunResult {
    const { target } = request;
    const endLine = `END RequestId: ${request.requestId}`;
    const init =
      coldStart && initDurationMs !== undefined ? `\tInit Duration: ${initDurationMs.toFixed(2)} ms` : '';
    const reportLine =
      `REPORT RequestId: ${request.requestId}\tDuration: ${durationMs.toFixed(2)} ms\t` +
      `Billed Duration: ${Math.ceil(durationMs)} ms\tMemory Size: ${target.snapshot.memoryMiB} MB\t` +
      `Max Memory Used: ${outcome.memoryUsedMiB ?? 0} MB${init}${timedOut ? '\tStatus: timeout' : ''}`;
    this.#log(log, endLine);
    this.#log(log, reportLine);
    let logResult: string | undefined;
    if (request.tail) {
      const text = `${startLine}\n${outcome.log ?? ''}${endLine}\n${reportLine}\n`;
      logResult = Buffer.from(text).subarray(-logTailBytes).toString('base64');
    }
    return {
      payload: outcome.payload,
      ...(outcome.failed ? { functionError: 'Unhandled' as const } : {}),
      ...(logResult === undefined ? {} : { logResult }),
      coldStart,
      timedOut,
      durationMs,
    };
  }
}
