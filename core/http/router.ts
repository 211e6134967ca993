import { type FieldError, NotFoundError, UnauthorizedError, ValidationError } from '../../domain/errors.ts';
import type { ApiContext, ApiRequest, HttpEvent, HttpResponse, PathParam, Route, Routes } from './types.ts';

/**
 * The handler of a route group: dispatches on `event.routeKey` (e.g. `GET /v1/drafts/{id}`)
 * to its route, with the caller and body that `requestContext()` and `jsonBody()` established.
 * Every path parameter is checked against the route's rule (`Route.params`) first: a value that
 * breaks it answers 400 naming the parameter, and the handler (with its I/O) never runs.
 * Wrap it with middy and those middlewares.
 *
 * @throws Error when a route key has a `{param}` without a rule in its route's `params` (at once,
 *   when the handler is built: a programming error, not a request's)
 * @example
 * export const handler = middy(dispatch(routes))
 *   .use(problemJsonOnError())
 *   .use(requestContext({ routes }))
 *   .use(jsonBody());
 */
export function dispatch(routes: Routes): (event: HttpEvent, context: ApiContext) => Promise<HttpResponse> {
  for (const [routeKey, route] of Object.entries(routes)) assertParamRules(routeKey, route);
  return async function dispatchRoute(event, context) {
    const route = Object.hasOwn(routes, event.routeKey) ? routes[event.routeKey] : undefined;
    if (route === undefined) throw new NotFoundError(`there is no route ${event.routeKey}`);
    if (context.caller === undefined || context.requestId === undefined) {
      throw new UnauthorizedError('the request context was not established');
    }
    const request: ApiRequest = {
      event,
      caller: context.caller,
      requestId: context.requestId,
      body: context.jsonBody,
      params: checkedParams(route, definedValues(event.pathParameters)),
      query: definedValues(event.queryStringParameters),
      headers: lowercaseKeys(definedValues(event.headers)),
    };
    return route.handle(request);
  };
}

/**
 * A body the route needs.
 * @throws ValidationError (400, field `body`) when the request has none
 */
export function requireBody(request: ApiRequest): unknown {
  if (request.body === undefined) {
    throw new ValidationError([{ field: 'body', message: 'is required: send a JSON body' }]);
  }
  return request.body;
}

/**
 * An optional integer query parameter within `[min, max]`.
 * @throws ValidationError (400) naming the parameter
 */
export function integerParam(
  query: Readonly<Record<string, string>>,
  name: string,
  bounds: { min: number; max: number },
): number | undefined {
  const text = query[name];
  if (text === undefined) return undefined;
  const value = /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(value) || value < bounds.min || value > bounds.max) {
    throw new ValidationError([
      {
        field: name,
        message: `must be an integer between ${bounds.min} and ${bounds.max}, got ${JSON.stringify(text)}`,
      },
    ]);
  }
  return value;
}

/** The `{param}` names of a route key, greedy `{param+}` included. */
function routeKeyParams(routeKey: string): string[] {
  return [...routeKey.matchAll(/\{([^}+]+)\+?\}/g)].map((match) => match[1] ?? '');
}

function assertParamRules(routeKey: string, route: Route): void {
  for (const name of routeKeyParams(routeKey)) {
    if (route.params === undefined || !Object.hasOwn(route.params, name)) {
      throw new Error(`route ${routeKey} declares no rule for its path parameter {${name}}`);
    }
  }
}

/** Longest value a 400 quotes back; a longer one is described by its length. */
const quotedValueMaxLength = 80;

/**
 * The route's path parameters, each checked against its rule.
 * @throws ValidationError (400) naming every parameter whose value breaks its rule (or is missing)
 */
function checkedParams(route: Route, params: Record<string, string>): Record<string, string> {
  const errors: FieldError[] = [];
  for (const [name, rule] of Object.entries(route.params ?? {}) as [string, PathParam][]) {
    const value = Object.hasOwn(params, name) ? params[name] : undefined;
    if (value !== undefined && rule.pattern.test(value)) continue;
    const got =
      value === undefined
        ? 'got none'
        : value.length > quotedValueMaxLength
          ? `got ${value.length} characters`
          : `got ${JSON.stringify(value)}`;
    errors.push({ field: name, message: `path parameter: must be ${rule.description}, ${got}` });
  }
  if (errors.length > 0) throw new ValidationError(errors);
  return params;
}

function definedValues(
  record: Readonly<Record<string, string | undefined>> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(record ?? {})) if (value !== undefined) out[key] = value;
  return out;
}

function lowercaseKeys(record: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(record)) out[key.toLowerCase()] = value;
  return out;
}
