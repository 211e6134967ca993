import { NotFoundError, UnauthorizedError, ValidationError } from '../errors.ts';
import type { ApiContext, ApiRequest, HttpEvent, HttpResponse, Routes } from './types.ts';

/**
 * The handler of a route group: dispatches on `event.routeKey` (e.g. `GET /v1/drafts/{id}`)
 * to its route, with the caller and body that `requestContext()` and `jsonBody()` established.
 * Wrap it with middy and those middlewares.
 *
 * @example
 * export const handler = middy(dispatch(routes))
 *   .use(problemJsonOnError())
 *   .use(requestContext({ routes }))
 *   .use(jsonBody());
 */
export function dispatch(routes: Routes): (event: HttpEvent, context: ApiContext) => Promise<HttpResponse> {
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
      params: definedValues(event.pathParameters),
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
