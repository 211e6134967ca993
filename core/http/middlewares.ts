/**
 * greco's middy middlewares for the management API. Each is a factory `(opts = {})` merged
 * over named defaults, returning only the hooks it uses; the state of one invocation lives on
 * the Lambda context ({@link ApiContext}), never in the factory's closure.
 *
 * @module
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj, Request } from '@middy/core';
import {
  GrecoError,
  NotFoundError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../../domain/errors.ts';
import { ControlPlaneMetrics } from '../../domain/metrics.ts';
import { type ClaimNames, callerFromRequest, claimNamesFromEnv, requireRole } from '../auth.ts';
import {
  MetricUnit,
  logger as observabilityLogger,
  metrics as observabilityMetrics,
} from '../observability.ts';
import { problemResponse } from './responses.ts';
import type { ApiContext, HttpEvent, HttpResponse, Routes } from './types.ts';

type ApiMiddleware = MiddlewareObj<HttpEvent, HttpResponse, Error, ApiContext>;
type ApiMiddyRequest = Request<HttpEvent, HttpResponse, Error, ApiContext>;

/**
 * The logger of the management handlers: the process's logger from core/observability.ts (its
 * service name is the function's `POWERTOOLS_SERVICE_NAME`, its level `POWERTOOLS_LOG_LEVEL`).
 */
export const apiLogger: Logger = observabilityLogger;

/** Options of {@link problemJsonOnError}. */
export interface ProblemJsonOnErrorOptions {
  /** Where unexpected errors are logged. @default apiLogger */
  readonly logger?: Pick<Logger, 'error' | 'warn'>;
}

const problemJsonOnErrorDefaults: Required<ProblemJsonOnErrorOptions> = { logger: apiLogger };

/**
 * Turns errors into RFC 9457 answers: a {@link GrecoError} answers with its status, its
 * headers (e.g. `Retry-After`) and `application/problem+json`; middy's early timeout answers
 * 503; anything else is logged and answers 500 without any internals.
 */
export function problemJsonOnError(opts: ProblemJsonOnErrorOptions = {}): ApiMiddleware {
  const { logger } = { ...problemJsonOnErrorDefaults, ...opts };
  const problemJsonOnErrorHook = (request: ApiMiddyRequest): void => {
    if (request.response !== undefined && request.response !== null) return;
    const { error, event } = request;
    const instance = event?.rawPath;
    const requestId = event?.requestContext?.requestId;
    let problem: GrecoError;
    if (error instanceof GrecoError) {
      problem = error;
      if (problem.status >= 500) logger.warn('request failed', { status: problem.status, error });
    } else if (error?.name === 'TimeoutError') {
      problem = new ServiceUnavailableError('the request ran out of time; nothing may have been changed', 1, {
        cause: error,
      });
      logger.warn('request timed out', { error });
    } else {
      logger.error('unexpected error', { error: error ?? undefined, routeKey: event?.routeKey });
      problem = new GrecoError('an unexpected error occurred; it has been logged', {
        status: 500,
        title: 'Internal server error',
        slug: 'internal',
      });
    }
    request.response = problemResponse(problem, instance, requestId);
  };
  return { onError: problemJsonOnErrorHook };
}

/** Options of {@link requestContext}. */
export interface RequestContextOptions {
  /** The route group: which role each route key needs. */
  readonly routes: Routes;
  /** Claims that carry the workspace and the roles. @default - from the environment (`claimNamesFromEnv()`) */
  readonly claimNames?: ClaimNames;
  /** Where the request's keys are appended. @default apiLogger */
  readonly logger?: Pick<Logger, 'appendKeys'>;
}

/**
 * Establishes who calls and whether they may: sets `context.requestId`
 * (`requestContext.requestId`) and `context.caller` (from the verified token), appends them
 * to the logger as `requestId` and `workspace` (keys of this invocation only: `observe()` removes
 * them when it ends), then checks the role the route needs. Runs before the body is read, so a
 * caller without the right role learns nothing about the body's validity.
 *
 * @throws NotFoundError (404) for a route key not in `routes`; UnauthorizedError (401) without
 *   claims; ForbiddenError (403) without a workspace, without a role, or without this route's role
 */
export function requestContext(opts: RequestContextOptions): ApiMiddleware {
  const { routes, claimNames = claimNamesFromEnv(), logger = apiLogger } = opts;
  const requestContextBefore = (request: ApiMiddyRequest): void => {
    const { event, context } = request;
    context.requestId = event.requestContext?.requestId ?? context.awsRequestId;
    logger.appendKeys({ requestId: context.requestId });
    const route = Object.hasOwn(routes, event.routeKey) ? routes[event.routeKey] : undefined;
    if (route === undefined) throw new NotFoundError(`there is no route ${event.routeKey}`);
    context.caller = callerFromRequest(
      {
        claims: event.requestContext?.authorizer?.jwt?.claims,
        authorization: headerValue(event.headers, 'authorization'),
      },
      claimNames,
    );
    logger.appendKeys({ workspace: context.caller.workspace });
    requireRole(context.caller, route.role);
  };
  return { before: requestContextBefore };
}

/** Options of {@link answerMetrics}. */
export interface AnswerMetricsOptions {
  /** Where the count is stored (flushed by `observe()`). @default - core/observability.ts `metrics` */
  readonly metrics?: Pick<Metrics, 'addMetric'>;
}

/**
 * Counts each answer by status class: one of `ControlPlaneMetrics.apiAnswers`
 * (`ApiAnswers2xx`..`ApiAnswers5xx`, unit Count, value 1), in `after` and in `onError`. Use it
 * after `observe()` (which flushes it) and before `problemJsonOnError()`, so that it sees the
 * problem+json answer an error became; an error no middleware answered counts as 5xx.
 */
export function answerMetrics(opts: AnswerMetricsOptions = {}): ApiMiddleware {
  const { metrics = observabilityMetrics } = opts;
  const countAnswerByStatusClass = (request: ApiMiddyRequest): void => {
    const statusClass = statusClassOf(request.response?.statusCode ?? 500);
    metrics.addMetric(ControlPlaneMetrics.apiAnswers[statusClass], MetricUnit.Count, 1);
  };
  return { after: countAnswerByStatusClass, onError: countAnswerByStatusClass };
}

/** An HTTP status's class; anything outside 200..599 counts as a server error. */
function statusClassOf(status: number): keyof typeof ControlPlaneMetrics.apiAnswers {
  if (status >= 200 && status < 300) return '2xx';
  if (status >= 300 && status < 400) return '3xx';
  if (status >= 400 && status < 500) return '4xx';
  return '5xx';
}

/** Options of {@link jsonBody}. */
export interface JsonBodyOptions {
  /**
   * Largest body accepted, in bytes (after base64 decoding).
   * @default 6291456 (6 MB: Lambda's quota for a synchronous invocation's request payload, so a
   *   larger body could not reach the function in AWS either)
   */
  readonly maxBytes?: number;
  /** Methods whose body is read; others' bodies are ignored. @default ['POST', 'PUT', 'PATCH'] */
  readonly methods?: readonly string[];
}

const jsonBodyDefaults: Required<JsonBodyOptions> = {
  maxBytes: 6 * 1024 * 1024,
  methods: ['POST', 'PUT', 'PATCH'],
};

/**
 * Parses a JSON request body into `context.jsonBody` (left `undefined` when there is none).
 * Base64-encoded bodies (`isBase64Encoded`) are decoded first.
 *
 * @throws UnsupportedMediaTypeError (415) unless `content-type` is `application/json` (a
 *   `charset=utf-8` parameter is fine), or for a `content-encoding` other than `identity` (API
 *   Gateway hands the body over as sent, so a compressed body would be read as JSON text);
 *   PayloadTooLargeError (413) over `maxBytes`; ValidationError (400, field `body`) for malformed
 *   JSON, text that is not UTF-8, an object with the same member name twice (RFC 8259 §4 leaves
 *   its meaning to each parser, so a proxy and greco could read two different requests), or a
 *   string with an unpaired surrogate escape (RFC 8259 §8.2: its behaviour is unpredictable)
 */
export function jsonBody(opts: JsonBodyOptions = {}): ApiMiddleware {
  const { maxBytes, methods } = { ...jsonBodyDefaults, ...opts };
  const jsonBodyBefore = (request: ApiMiddyRequest): void => {
    const { event, context } = request;
    context.jsonBody = undefined;
    const method = event.requestContext?.http?.method ?? event.routeKey.split(' ')[0] ?? '';
    if (!methods.includes(method.toUpperCase())) return;
    if (event.body === undefined || event.body === null || event.body === '') return;
    const contentType = headerValue(event.headers, 'content-type');
    if (!isJsonMediaType(contentType)) {
      throw new UnsupportedMediaTypeError(
        `the body must be application/json, got ${contentType === undefined ? 'no content-type' : JSON.stringify(contentType)}`,
        undefined,
        [{ field: 'headers.content-type', message: 'must be application/json' }],
      );
    }
    const contentEncoding = headerValue(event.headers, 'content-encoding');
    if (contentEncoding !== undefined && contentEncoding.trim().toLowerCase() !== 'identity') {
      throw new UnsupportedMediaTypeError(
        `the body must not be encoded, got content-encoding ${JSON.stringify(contentEncoding)}`,
        undefined,
        [{ field: 'headers.content-encoding', message: 'must be absent or identity' }],
      );
    }
    const bytes = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
    if (bytes.byteLength > maxBytes) {
      throw new PayloadTooLargeError(
        `the body is ${bytes.byteLength} bytes; at most ${maxBytes} bytes are accepted`,
        undefined,
        [{ field: 'body', message: `must be at most ${maxBytes} bytes, got ${bytes.byteLength}` }],
      );
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch (error) {
      throw new ValidationError([{ field: 'body', message: 'is not UTF-8 text' }], { cause: error });
    }
    try {
      context.jsonBody = JSON.parse(text);
    } catch (error) {
      throw new ValidationError(
        [{ field: 'body', message: `is not valid JSON: ${(error as Error).message}` }],
        {
          cause: error,
        },
      );
    }
    const problem = ambiguousJsonProblem(text);
    if (problem !== undefined) {
      context.jsonBody = undefined;
      throw new ValidationError([{ field: 'body', message: problem }]);
    }
  };
  return { before: jsonBodyBefore };
}

/** A `\uD800`..`\uDFFF` escape: the only way valid UTF-8 text can spell a surrogate. */
const surrogateEscape = /\\u[dD][89a-fA-F]/;

/**
 * What makes valid JSON `text` (`JSON.parse` accepted it) mean different things to different
 * readers, or `undefined`: a member name twice in one object (names compared decoded: `"a"` and
 * `"\u0061"` are the same), or a string with an unpaired surrogate escape (`"\ud800"`), which UTF-8
 * cannot carry, so Lambda, DynamoDB and greco's own model would each hold something else.
 * Iterative, so a deeply nested document cannot overflow the stack.
 */
function ambiguousJsonProblem(text: string): string | undefined {
  const objects: (Set<string> | undefined)[] = [];
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const literal = text.slice(i, end + 1);
      if (surrogateEscape.test(literal) && !(JSON.parse(literal) as string).isWellFormed()) {
        return `holds the string ${literal.slice(0, 80)} with an unpaired surrogate, which UTF-8 cannot carry`;
      }
      const names = objects.at(-1);
      if (expectName && names !== undefined) {
        const name = JSON.parse(literal) as string;
        if (names.has(name)) {
          return `has the member ${JSON.stringify(name)} twice in one object; member names must be unique`;
        }
        names.add(name);
        expectName = false;
      }
      i = end;
    } else if (char === '{') {
      objects.push(new Set());
      expectName = true;
    } else if (char === '[') {
      objects.push(undefined);
      expectName = false;
    } else if (char === '}' || char === ']') {
      objects.pop();
      expectName = false;
    } else if (char === ',') {
      expectName = objects.at(-1) !== undefined;
    }
  }
  return undefined;
}

/** A header's value by case-insensitive name (API Gateway lowercases them; tests may not). */
export function headerValue(
  headers: Readonly<Record<string, string | undefined>> | undefined,
  name: string,
): string | undefined {
  if (headers === undefined) return undefined;
  const direct = headers[name];
  if (direct !== undefined) return direct;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

/** `application/json`, with at most a `charset=utf-8` parameter (RFC 8259 §8.1: JSON is UTF-8). */
function isJsonMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const [type, ...params] = contentType.split(';').map((part) => part.trim().toLowerCase());
  if (type !== 'application/json') return false;
  return params.every((param) => param === '' || /^charset="?utf-8"?$/.test(param));
}
