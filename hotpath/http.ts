/**
 * The hot-path controller's HTTP surface, served by a Lambda function URL (payload format 2.0):
 *
 * | method | path | answer |
 * |---|---|---|
 * | GET  | `/v1/functions/{name}`         | 200 {@link HotPathFunctionState} |
 * | POST | `/v1/functions/{name}/suspend` | 200 {@link HotPathFunctionState} after suspending |
 * | POST | `/v1/functions/{name}/start`   | 200 {@link HotPathFunctionState} after starting |
 *
 * Every request needs a bearer token of the operator role; the function is looked up in the
 * token's workspace only. Errors are RFC 9457 `application/problem+json`.
 */
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import {
  type FunctionTarget,
  getFunctionState,
  type HotPathFunctionState,
  startFunction,
  suspendFunction,
  type VerbOutcome,
} from '../domain/concurrency/protocol.ts';
import { GrecoError, NotFoundError, problemTypeBase } from '../domain/errors.ts';
import { HotPathRoutes, type HotPathVerb } from '../domain/hotpath-api.ts';
import { type Caller, requireOperator, type TokenVerifier } from './auth.ts';
import { MethodNotAllowedError } from './errors.ts';
import { HotPathDetailTypes, type HotPathEventPublisher } from './events.ts';
import type { HotPathLogger } from './log.ts';
import type { ApiTimer } from './timing.ts';

/** A function-URL answer in the structured form (payload format 2.0). */
export interface FunctionUrlResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** What {@link handleHotPathRequest} works with; built once per container. */
export interface HotPathDependencies {
  /** A client with {@link HotPathRetryStrategy}: its calls are the hot path's only dependency. */
  readonly lambda: LambdaClient;
  readonly verifyToken: TokenVerifier;
  readonly events: HotPathEventPublisher;
  readonly log: HotPathLogger;
  /** Prefix of managed function names (default `greco`). */
  readonly managedPrefix: string;
  /** Time spent in Lambda API calls, logged per request. @default - not measured */
  readonly lambdaTimer?: ApiTimer;
  /** Time spent publishing events (`PutEvents`, at most 300 ms), logged per request. @default - not measured */
  readonly eventsTimer?: ApiTimer;
  /** Clock in milliseconds. @default performance.now */
  readonly now?: () => number;
}

type Verb = HotPathVerb;

const routePattern = /^\/v1\/functions\/([^/]+)(?:\/(suspend|start))?\/?$/;

/**
 * Serves one function-URL request. Never throws: every failure becomes a problem+json answer
 * (500 without internals for anything unexpected, which is logged).
 */
export async function handleHotPathRequest(
  event: LambdaFunctionURLEvent,
  deps: HotPathDependencies,
): Promise<FunctionUrlResponse> {
  const now = deps.now ?? performance.now.bind(performance);
  const started = now();
  deps.lambdaTimer?.reset();
  deps.eventsTimer?.reset();
  const method = event.requestContext.http.method.toUpperCase();
  const path = event.rawPath;
  const requestId = event.requestContext.requestId;
  let result: FunctionUrlResponse;
  let verb: Verb | undefined;
  let changed: boolean | undefined;
  try {
    const caller = await deps.verifyToken(header(event, 'authorization'));
    const route = matchRoute(method, path);
    verb = route.verb;
    requireOperator(caller);
    const target: FunctionTarget = {
      managedPrefix: deps.managedPrefix,
      workspace: caller.workspace,
      name: route.name,
    };
    let body: HotPathFunctionState;
    if (route.verb === 'state') {
      body = await getFunctionState(deps.lambda, target);
    } else {
      const outcome =
        route.verb === 'suspend'
          ? await suspendFunction(deps.lambda, target)
          : await startFunction(deps.lambda, target);
      changed = outcome.changed;
      if (outcome.changed) await deps.events.publish(verbEvent(route.verb, caller, outcome, requestId));
      body = outcome.function;
    }
    result = json(200, body);
  } catch (error) {
    result = problem(error, path, requestId, deps.log);
  }
  deps.log.info('request', {
    requestId,
    method,
    path,
    verb,
    changed,
    status: result.statusCode,
    durationMs: round(now() - started),
    lambdaApiMs: deps.lambdaTimer === undefined ? undefined : round(deps.lambdaTimer.totalMs),
    lambdaApiCalls: deps.lambdaTimer?.calls,
    eventsApiMs: deps.eventsTimer === undefined ? undefined : round(deps.eventsTimer.totalMs),
  });
  return result;
}

function matchRoute(method: string, path: string): { verb: Verb; name: string } {
  const match = routePattern.exec(path);
  const encodedName = match?.[1];
  if (match === null || encodedName === undefined) {
    throw new NotFoundError(
      `no route for ${path}; the hot path serves /v1/functions/{name}[/suspend|/start]`,
    );
  }
  let name: string;
  try {
    name = decodeURIComponent(encodedName);
  } catch (error) {
    throw new NotFoundError(`no route for ${path}`, { cause: error });
  }
  const verb: Verb = (match[2] as 'suspend' | 'start' | undefined) ?? 'state';
  const allowed = HotPathRoutes[verb].method;
  if (method !== allowed) throw new MethodNotAllowedError(method, [allowed]);
  return { verb, name };
}

function verbEvent(verb: 'suspend' | 'start', caller: Caller, outcome: VerbOutcome, requestId: string) {
  return {
    detailType: verb === 'suspend' ? HotPathDetailTypes.suspended : HotPathDetailTypes.started,
    resources: [outcome.functionArn],
    detail: { workspace: caller.workspace, ...outcome.function, actor: caller.subject, requestId },
  };
}

function header(event: LambdaFunctionURLEvent, name: string): string | undefined {
  const headers = event.headers ?? {};
  return headers[name] ?? Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
}

function json(statusCode: number, body: unknown): FunctionUrlResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(body),
  };
}

function problem(
  error: unknown,
  instance: string,
  requestId: string,
  log: HotPathLogger,
): FunctionUrlResponse {
  const greco = error instanceof GrecoError ? error : undefined;
  if (greco === undefined || greco.status >= 500) log.error('request failed', { requestId, error });
  // A 503 says what is unavailable and when to retry; a 500 shows no internals.
  const body =
    greco !== undefined && greco.status !== 500
      ? greco.toProblem(instance)
      : {
          type: `${problemTypeBase}/internal`,
          title: 'Internal error',
          status: 500,
          detail: 'the request could not be completed; it has been logged',
          instance,
        };
  return {
    statusCode: body.status,
    headers: {
      'content-type': 'application/problem+json',
      'cache-control': 'no-store',
      ...(body.status === 401 ? { 'www-authenticate': 'Bearer error="invalid_token"' } : {}),
      ...(greco?.status === 500 ? {} : greco?.headers),
    },
    body: JSON.stringify({ ...body, requestId }),
  };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
