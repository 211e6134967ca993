/**
 * The local Lambda API emulator: the real Lambda REST API (restJson1 paths, headers, status codes
 * and error shapes, as `@aws-sdk/client-lambda` and the AWS CLI send and expect them), running
 * Node.js functions in child processes.
 *
 * Control plane: CreateFunction, GetFunction, GetFunctionConfiguration, UpdateFunctionCode,
 * UpdateFunctionConfiguration, DeleteFunction, ListFunctions, PublishVersion, ListVersionsByFunction,
 * Create/Get/Update/Delete/ListAliases, Put/Get/DeleteFunctionConcurrency, TagResource, UntagResource,
 * ListTags, GetAccountSettings; an account-wide control-plane rate limit (a token bucket, 15
 * requests/s by default as Lambda's quota; GetFunction has its own 100/s) and fault injection.
 * Data plane: Invoke (RequestResponse, Event, DryRun) and the deprecated InvokeAsync.
 *
 * Admin surface for other processes (not part of the Lambda API): `POST /_greco/faults` (JSON
 * {@link LambdaFaults}), `GET /_greco/faults`, `POST /_greco/rate-limit` (`{"requestsPerSecond": n}`),
 * `GET /_greco/stats` ({@link LambdaEmulatorStats}), `GET /_greco/code/<sha256-hex>.zip` (the
 * `Code.Location` of GetFunction).
 *
 * State lives in memory: functions are gone when the emulator stops.
 *
 * @example
 * const lambda = await startLambdaEmulator({ functionEnvironment: { AWS_ENDPOINT_URL_S3: s3 } });
 * const client = new LambdaClient({ endpoint: lambda.endpoint, region: localRegion, credentials: localCredentials });
 * // … CreateFunction, waitUntilFunctionActiveV2, Invoke …
 * await lambda.close();
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { BodyTooLargeError, closeServer, listen, readBody, sendJson } from '../http.ts';
import { localAccountId, localRegion } from '../net.ts';
import { CodeStore } from './code.ts';
import {
  invalidRequestContent,
  LambdaApiError,
  requestTooLarge,
  serviceException,
  tooManyRequests,
  unknownOperation,
} from './errors.ts';
import { asyncPayloadLimitBytes, type InvocationStats, Invoker, syncPayloadLimitBytes } from './invoke.ts';
import type { AccountScope } from './names.ts';
import { TokenBucket } from './rate-limit.ts';
import { type FunctionLogSink, FunctionRunner, type LogSink } from './runner.ts';
import { S3CodeSource } from './s3-code.ts';
import { FunctionStore, type Json } from './store.ts';
import { parseJsonObject } from './validate.ts';

export { LambdaApiError } from './errors.ts';
export type { FunctionLogEvent, FunctionLogSink, LogSink } from './runner.ts';

/** Lambda quota: control-plane API requests per second for the account, all operations together. */
export const defaultControlPlaneRateLimit = 15;
/** Lambda quota: GetFunction requests per second (its own budget, apart from the 15/s). */
export const defaultGetFunctionRateLimit = 100;
/** Lambda: CreateFunction and UpdateFunctionCode accept requests up to this many bytes. */
const codeRequestLimitBytes = 70_167_211;

/** Faults injected into control-plane calls (never into Invoke). */
export interface LambdaFaults {
  /** Share of control-plane calls answered 500 ServiceException, 0..1. @default 0 */
  readonly errorRate?: number;
  /** Share of control-plane calls answered 429 TooManyRequestsException, 0..1. @default 0 */
  readonly throttleRate?: number;
  /** Added before every control-plane answer, in milliseconds. @default 0 */
  readonly latencyMs?: number;
}

/** Options of {@link startLambdaEmulator}. */
export interface LambdaEmulatorOptions {
  /** TCP port on 127.0.0.1. @default 0 (a free port chosen by the OS) */
  readonly port?: number;
  /**
   * Requests per second for all control-plane calls together, account-wide; 0 means unlimited.
   * @default 15 (Lambda's quota)
   */
  readonly controlPlaneRateLimit?: number;
  /** GetFunction's own budget in requests per second; 0 means unlimited. @default 100 (Lambda's quota) */
  readonly getFunctionRateLimit?: number;
  /** Faults injected into control-plane calls. @default - none */
  readonly faults?: LambdaFaults;
  /**
   * Merged into every function process's environment (local endpoints, fake credentials), above
   * Lambda's defined variables and below the function's own variables. @default - none
   */
  readonly functionEnvironment?: Readonly<Record<string, string>>;
  /**
   * S3 endpoint (the local S3 emulator) from which CreateFunction `Code.S3Bucket`/`S3Key` and
   * UpdateFunctionCode `S3Bucket`/`S3Key` are read, as Lambda reads code from S3.
   * @default - code from S3 is refused with InvalidParameterValueException
   */
  readonly s3Endpoint?: string;
  /** Where code zips are stored and unpacked. @default - a temporary folder, removed on close */
  readonly dataDir?: string;
  /** @default 'us-east-1' (local/net.ts localRegion) */
  readonly region?: string;
  /** @default '000000000000' (local/net.ts localAccountId) */
  readonly accountId?: string;
  /**
   * How long a new function stays `Pending`, an update `InProgress` and a new version `Pending`, in
   * milliseconds; 0 applies changes at once. @default 200
   */
  readonly transitionMs?: number;
  /** Concurrent executions of the account (Lambda's default quota). @default 1000 */
  readonly accountConcurrency?: number;
  /**
   * Receives emulator notices, and function output (prefixed `[name:version]`) when there is no
   * `functionLogSink`. @default - lines to stderr
   */
  readonly logSink?: LogSink;
  /**
   * Receives function output line by line (START/END/REPORT, the function's stdout and stderr)
   * with the log group (`/aws/lambda/<name>`) and stream Lambda would write it to: the local cloud
   * sends it to its CloudWatch Logs emulator. @default - function output goes to `logSink`
   */
  readonly functionLogSink?: FunctionLogSink;
  /** Warm idle processes kept per function version. @default 4 */
  readonly maxIdlePerVersion?: number;
  /** An idle function process is stopped after this long, in milliseconds. @default 300000 */
  readonly idleTimeoutMs?: number;
  /**
   * Pauses before the 2nd and 3rd attempt of a failed asynchronous invocation, in milliseconds
   * (Lambda: about 1 and 2 minutes). @default [1000, 2000]
   */
  readonly asyncRetryDelaysMs?: readonly number[];
}

/** Counters of a running emulator. */
export interface LambdaEmulatorStats {
  /** Requests received per Lambda operation (`CreateFunction`, `Invoke`, …), whatever their answer. */
  readonly operations: Readonly<Record<string, number>>;
  /** Control-plane calls answered 429: rate limit plus injected throttles. */
  readonly throttled: number;
  /** Control-plane calls answered 429 by the rate limit, per operation. */
  readonly rateLimited: Readonly<Record<string, number>>;
  /** Control-plane calls answered by fault injection. */
  readonly injected: { readonly errors: number; readonly throttles: number };
  readonly invocations: InvocationStats & { readonly coldStarts: number };
  /** Function processes alive now. */
  readonly processes: number;
}

/** A running emulator. */
export interface RunningLambdaEmulator {
  /** `http://127.0.0.1:<port>`: the Lambda endpoint (`AWS_ENDPOINT_URL_LAMBDA`, `--endpoint-url`). */
  readonly endpoint: string;
  /**
   * Replaces the injected faults (`{}` turns them off).
   * @throws RangeError when a rate is outside 0..1, their sum is over 1, or the latency is negative
   */
  setFaults(faults: LambdaFaults): void;
  /**
   * Sets the control-plane rate limit in requests per second (0: unlimited); the bucket starts full.
   * @throws RangeError when negative or not finite
   */
  setControlPlaneRateLimit(requestsPerSecond: number): void;
  stats(): LambdaEmulatorStats;
  /** Stops the server and every function process, and removes the temporary data folder. */
  close(): Promise<void>;
}

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly operation: string;
}

const functionSegment = '([^/]+)';
const routes: readonly Route[] = [
  ['POST', '/2015-03-31/functions', 'CreateFunction'],
  ['GET', '/2015-03-31/functions', 'ListFunctions'],
  ['GET', `/2015-03-31/functions/${functionSegment}`, 'GetFunction'],
  ['DELETE', `/2015-03-31/functions/${functionSegment}`, 'DeleteFunction'],
  ['GET', `/2015-03-31/functions/${functionSegment}/configuration`, 'GetFunctionConfiguration'],
  ['PUT', `/2015-03-31/functions/${functionSegment}/configuration`, 'UpdateFunctionConfiguration'],
  ['PUT', `/2015-03-31/functions/${functionSegment}/code`, 'UpdateFunctionCode'],
  ['POST', `/2015-03-31/functions/${functionSegment}/versions`, 'PublishVersion'],
  ['GET', `/2015-03-31/functions/${functionSegment}/versions`, 'ListVersionsByFunction'],
  ['POST', `/2015-03-31/functions/${functionSegment}/aliases`, 'CreateAlias'],
  ['GET', `/2015-03-31/functions/${functionSegment}/aliases`, 'ListAliases'],
  ['GET', `/2015-03-31/functions/${functionSegment}/aliases/([^/]+)`, 'GetAlias'],
  ['PUT', `/2015-03-31/functions/${functionSegment}/aliases/([^/]+)`, 'UpdateAlias'],
  ['DELETE', `/2015-03-31/functions/${functionSegment}/aliases/([^/]+)`, 'DeleteAlias'],
  ['PUT', `/2017-10-31/functions/${functionSegment}/concurrency`, 'PutFunctionConcurrency'],
  ['DELETE', `/2017-10-31/functions/${functionSegment}/concurrency`, 'DeleteFunctionConcurrency'],
  ['GET', `/2019-09-30/functions/${functionSegment}/concurrency`, 'GetFunctionConcurrency'],
  ['POST', '/2017-03-31/tags/([^/]+)', 'TagResource'],
  ['DELETE', '/2017-03-31/tags/([^/]+)', 'UntagResource'],
  ['GET', '/2017-03-31/tags/([^/]+)', 'ListTags'],
  ['GET', '/2016-08-19/account-settings', 'GetAccountSettings'],
  ['POST', `/2015-03-31/functions/${functionSegment}/invocations`, 'Invoke'],
  ['POST', `/2014-11-13/functions/${functionSegment}/invoke-async`, 'InvokeAsync'],
].map(([method, path, operation]) => ({
  method: method as string,
  pattern: new RegExp(`^${path}/?$`),
  operation: operation as string,
}));

function matchRoute(method: string, path: string): { operation: string; params: string[] } | undefined {
  for (const route of routes) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(path);
    if (match !== null) return { operation: route.operation, params: match.slice(1).map(decodeSegment) };
  }
  return undefined;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch (error) {
    throw Object.assign(invalidRequestContent(`The request path is not valid URL encoding: ${segment}`), {
      cause: error,
    });
  }
}

/** Checks faults; @throws RangeError naming the bad value */
function checkFaults(faults: LambdaFaults): Required<LambdaFaults> {
  const errorRate = faults.errorRate ?? 0;
  const throttleRate = faults.throttleRate ?? 0;
  const latencyMs = faults.latencyMs ?? 0;
  for (const [name, rate] of [
    ['errorRate', errorRate],
    ['throttleRate', throttleRate],
  ] as const) {
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
      throw new RangeError(`${name} must be a number from 0 to 1, got ${String(rate)}`);
    }
  }
  if (errorRate + throttleRate > 1) {
    throw new RangeError(`errorRate + throttleRate must be at most 1, got ${errorRate + throttleRate}`);
  }
  if (typeof latencyMs !== 'number' || !Number.isFinite(latencyMs) || latencyMs < 0) {
    throw new RangeError(`latencyMs must be a number >= 0, got ${String(latencyMs)}`);
  }
  return { errorRate, throttleRate, latencyMs };
}

const defaultLogSink: LogSink = (line) => {
  process.stderr.write(`${line}\n`);
};

/**
 * Starts the Lambda emulator on 127.0.0.1 and resolves once it listens.
 *
 * @throws RangeError for invalid faults or rate limits
 */
export async function startLambdaEmulator(
  options: LambdaEmulatorOptions = {},
): Promise<RunningLambdaEmulator> {
  let faults = checkFaults(options.faults ?? {});
  const controlPlane = new TokenBucket(options.controlPlaneRateLimit ?? defaultControlPlaneRateLimit);
  const getFunctionBucket = new TokenBucket(options.getFunctionRateLimit ?? defaultGetFunctionRateLimit);
  const scope: AccountScope = {
    region: options.region ?? localRegion,
    accountId: options.accountId ?? localAccountId,
  };
  const logSink = options.logSink ?? defaultLogSink;
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'greco-lambda-'));
  const code = new CodeStore(dataDir);
  const s3Code =
    options.s3Endpoint === undefined ? undefined : new S3CodeSource(options.s3Endpoint, scope.region);
  let closing = false;
  let endpoint = '';

  const pruneCode = (): void => {
    const inUse = store.codeInUse();
    for (const hex of runner.codeInUse()) inUse.add(hex);
    code.prune(inUse);
  };
  const runner = new FunctionRunner({
    scope,
    functionEnvironment: options.functionEnvironment ?? {},
    logSink,
    ...(options.functionLogSink === undefined ? {} : { functionLogSink: options.functionLogSink }),
    ...(options.maxIdlePerVersion === undefined ? {} : { maxIdlePerVersion: options.maxIdlePerVersion }),
    ...(options.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: options.idleTimeoutMs }),
    onProcessExit: () => {
      if (!closing) pruneCode();
    },
  });
  const store: FunctionStore = new FunctionStore({
    scope,
    code,
    ...(options.transitionMs === undefined ? {} : { transitionMs: options.transitionMs }),
    ...(options.accountConcurrency === undefined ? {} : { accountConcurrency: options.accountConcurrency }),
    listener: {
      snapshotRetired: (snapshotId) => {
        runner.retire(snapshotId);
        pruneCode();
      },
      concurrencyChanged: (functionName) => invoker.concurrencyChanged(functionName),
    },
  });
  const invoker: Invoker = new Invoker({
    store,
    runner,
    logSink,
    ...(options.asyncRetryDelaysMs === undefined ? {} : { asyncRetryDelaysMs: options.asyncRetryDelaysMs }),
  });

  const operations: Record<string, number> = {};
  const rateLimited: Record<string, number> = {};
  const injected = { errors: 0, throttles: 0 };

  async function controlPlaneGate(operation: string): Promise<void> {
    const bucket = operation === 'GetFunction' ? getFunctionBucket : controlPlane;
    if (!bucket.tryTake()) {
      rateLimited[operation] = (rateLimited[operation] ?? 0) + 1;
      throw tooManyRequests('CallerRateLimitExceeded');
    }
    if (faults.latencyMs > 0) await delay(faults.latencyMs);
    const roll = Math.random();
    if (roll < faults.throttleRate) {
      injected.throttles += 1;
      throw tooManyRequests('CallerRateLimitExceeded');
    }
    if (roll < faults.throttleRate + faults.errorRate) {
      injected.errors += 1;
      throw serviceException();
    }
  }

  async function body(req: IncomingMessage, limitBytes: number, operation: string): Promise<Buffer> {
    try {
      return await readBody(req, limitBytes);
    } catch (error) {
      if (error instanceof BodyTooLargeError) throw requestTooLarge(limitBytes, operation);
      throw error;
    }
  }

  async function json(
    req: IncomingMessage,
    operation: string,
    limitBytes = syncPayloadLimitBytes,
  ): Promise<Json> {
    return parseJsonObject(await body(req, limitBytes, operation));
  }

  type Answer = { status: number; body?: unknown; headers?: Record<string, string>; raw?: string };

  async function dispatch(
    operation: string,
    params: string[],
    query: URLSearchParams,
    req: IncomingMessage,
  ): Promise<Answer> {
    const [name = '', second = ''] = params;
    const optional = (key: string): string | undefined => query.get(key) ?? undefined;
    switch (operation) {
      case 'CreateFunction': {
        const input = await json(req, 'CreateFunction', codeRequestLimitBytes);
        const codeInput = input.Code;
        if (
          s3Code !== undefined &&
          typeof codeInput === 'object' &&
          codeInput !== null &&
          !Array.isArray(codeInput)
        ) {
          input.Code = await s3Code.inline(codeInput as Json);
        }
        return { status: 201, body: store.createFunction(input) };
      }
      case 'ListFunctions':
        return {
          status: 200,
          body: store.listFunctions({
            ...(query.has('Marker') ? { marker: query.get('Marker') ?? '' } : {}),
            ...(query.has('MaxItems') ? { maxItems: query.get('MaxItems') ?? '' } : {}),
            ...(query.has('FunctionVersion') ? { functionVersion: query.get('FunctionVersion') ?? '' } : {}),
          }),
        };
      case 'GetFunction':
        return {
          status: 200,
          body: store.getFunction(
            name,
            optional('Qualifier'),
            (artifact) => `${endpoint}/_greco/code/${artifact.sha256Hex}.zip`,
          ),
        };
      case 'DeleteFunction':
        store.deleteFunction(name, optional('Qualifier'));
        pruneCode();
        return { status: 204 };
      case 'GetFunctionConfiguration':
        return { status: 200, body: store.getFunctionConfiguration(name, optional('Qualifier')) };
      case 'UpdateFunctionConfiguration':
        return { status: 200, body: store.updateFunctionConfiguration(name, await json(req, operation)) };
      case 'UpdateFunctionCode': {
        const input = await json(req, operation, codeRequestLimitBytes);
        return {
          status: 200,
          body: store.updateFunctionCode(name, s3Code === undefined ? input : await s3Code.inline(input)),
        };
      }
      case 'PublishVersion':
        return { status: 201, body: store.publishVersion(name, await json(req, operation)) };
      case 'ListVersionsByFunction':
        return {
          status: 200,
          body: store.listVersionsByFunction(name, {
            ...(query.has('Marker') ? { marker: query.get('Marker') ?? '' } : {}),
            ...(query.has('MaxItems') ? { maxItems: query.get('MaxItems') ?? '' } : {}),
          }),
        };
      case 'CreateAlias':
        return { status: 201, body: store.createAlias(name, await json(req, operation)) };
      case 'ListAliases':
        return {
          status: 200,
          body: store.listAliases(name, {
            ...(query.has('Marker') ? { marker: query.get('Marker') ?? '' } : {}),
            ...(query.has('MaxItems') ? { maxItems: query.get('MaxItems') ?? '' } : {}),
            ...(query.has('FunctionVersion') ? { functionVersion: query.get('FunctionVersion') ?? '' } : {}),
          }),
        };
      case 'GetAlias':
        return { status: 200, body: store.getAlias(name, second) };
      case 'UpdateAlias':
        return { status: 200, body: store.updateAlias(name, second, await json(req, operation)) };
      case 'DeleteAlias':
        store.deleteAlias(name, second);
        return { status: 204 };
      case 'PutFunctionConcurrency':
        return { status: 200, body: store.putFunctionConcurrency(name, await json(req, operation)) };
      case 'DeleteFunctionConcurrency':
        store.deleteFunctionConcurrency(name);
        return { status: 204 };
      case 'GetFunctionConcurrency':
        return { status: 200, body: store.getFunctionConcurrency(name) };
      case 'TagResource':
        store.tagResource(name, await json(req, operation));
        return { status: 204 };
      case 'UntagResource':
        store.untagResource(name, query.getAll('tagKeys'));
        return { status: 204 };
      case 'ListTags':
        return { status: 200, body: store.listTags(name) };
      case 'GetAccountSettings':
        return { status: 200, body: store.getAccountSettings() };
      case 'Invoke':
      case 'InvokeAsync': {
        const invocationType = operation === 'InvokeAsync' ? 'Event' : header(req, 'x-amz-invocation-type');
        const limit = invocationType === 'Event' ? asyncPayloadLimitBytes : syncPayloadLimitBytes;
        const payload = await body(
          req,
          limit,
          operation === 'InvokeAsync' ? 'InvokeAsync' : 'InvokeFunction',
        );
        const answer = await invoker.invoke({
          functionName: name,
          qualifier: optional('Qualifier'),
          invocationType,
          logType: header(req, 'x-amz-log-type'),
          clientContext: header(req, 'x-amz-client-context'),
          payload,
        });
        if (operation === 'InvokeAsync') return { status: 202, body: { Status: 202 } };
        return { status: answer.status, headers: answer.headers, raw: answer.body };
      }
      default:
        throw unknownOperation(req.method ?? '', req.url ?? '');
    }
  }

  async function admin(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const fail = (status: number, message: string): void => sendJson(res, status, { message });
    if (req.method === 'GET' && path === '/_greco/stats') return sendJson(res, 200, stats());
    if (req.method === 'GET' && path === '/_greco/faults') return sendJson(res, 200, faults);
    if (req.method === 'POST' && (path === '/_greco/faults' || path === '/_greco/rate-limit')) {
      let input: Json;
      try {
        input = parseJsonObject(await readBody(req, 64 * 1024));
      } catch (error) {
        return fail(400, (error as Error).message);
      }
      try {
        if (path === '/_greco/faults') {
          running.setFaults(input as LambdaFaults);
          return sendJson(res, 200, faults);
        }
        const rate = input.requestsPerSecond;
        if (typeof rate !== 'number') return fail(400, 'requestsPerSecond must be a number');
        running.setControlPlaneRateLimit(rate);
        return sendJson(res, 200, { requestsPerSecond: controlPlane.requestsPerSecond });
      } catch (error) {
        return fail(400, (error as Error).message);
      }
    }
    const zip = /^\/_greco\/code\/([0-9a-f]{64})\.zip$/.exec(path);
    if (req.method === 'GET' && zip !== null) {
      if (!store.codeInUse().has(zip[1] ?? '')) return fail(404, `no code with SHA-256 ${zip[1]}`);
      res.writeHead(200, { 'content-type': 'application/zip' });
      createReadStream(join(dataDir, 'zips', `${zip[1]}.zip`))
        .on('error', () => res.destroy())
        .pipe(res);
      return;
    }
    return fail(404, `no admin route ${req.method} ${path}`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path.startsWith('/_greco/')) return admin(req, res, path);
    let route: ReturnType<typeof matchRoute>;
    try {
      route = matchRoute(req.method ?? 'GET', path);
      if (route === undefined) throw unknownOperation(req.method ?? '', path);
      operations[route.operation] = (operations[route.operation] ?? 0) + 1;
      if (route.operation !== 'Invoke' && route.operation !== 'InvokeAsync')
        await controlPlaneGate(route.operation);
      const answer = await dispatch(route.operation, route.params, url.searchParams, req);
      const headers = { 'x-amzn-RequestId': requestId, ...(answer.headers ?? {}) };
      if (answer.raw !== undefined) {
        res.writeHead(answer.status, {
          ...headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(answer.raw),
        });
        res.end(answer.raw);
      } else if (answer.body === undefined) {
        res.writeHead(answer.status, headers);
        res.end();
      } else {
        sendJson(res, answer.status, answer.body, headers);
      }
    } catch (error) {
      let apiError: LambdaApiError;
      if (error instanceof LambdaApiError) {
        apiError = error;
      } else {
        logSink(
          `[lambda emulator] internal error in ${route?.operation ?? path}: ${(error as Error).stack ?? String(error)}`,
        );
        apiError = serviceException(`Internal error: ${(error as Error).message}`);
      }
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendJson(res, apiError.status, apiError.toBody(), {
        'x-amzn-RequestId': requestId,
        'x-amzn-ErrorType': apiError.name,
      });
    }
  }

  function stats(): LambdaEmulatorStats {
    let throttles = injected.throttles;
    for (const count of Object.values(rateLimited)) throttles += count;
    return {
      operations: { ...operations },
      throttled: throttles,
      rateLimited: { ...rateLimited },
      injected: { ...injected },
      invocations: { ...invoker.stats(), coldStarts: runner.coldStarts },
      processes: runner.processCount,
    };
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logSink(`[lambda emulator] request failed: ${String(error)}`);
      if (!res.headersSent) sendJson(res, 500, { message: 'internal error' });
    });
  });
  try {
    endpoint = await listen(server, options.port ?? 0);
  } catch (error) {
    store.dispose();
    s3Code?.destroy();
    if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }

  let closed: Promise<void> | undefined;
  const running: RunningLambdaEmulator = {
    endpoint,
    setFaults(next) {
      faults = checkFaults(next);
    },
    setControlPlaneRateLimit(requestsPerSecond) {
      controlPlane.setRate(requestsPerSecond);
    },
    stats,
    close() {
      closed ??= (async () => {
        closing = true;
        store.dispose();
        s3Code?.destroy();
        await closeServer(server);
        const invocationsEnded = invoker.close();
        await runner.close();
        await invocationsEnded;
        if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
  return running;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
