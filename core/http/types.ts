import type {
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import type { Role } from '../../domain/roles.ts';
import type { Caller } from '../auth.ts';

/** An API Gateway HTTP API request, payload format 2.0, behind a JWT authorizer. */
export type HttpEvent = APIGatewayProxyEventV2WithJWTAuthorizer;

/** What a management handler answers (payload format 2.0, structured). */
export type HttpResponse = APIGatewayProxyStructuredResultV2 & {
  statusCode: number;
  headers: Record<string, string>;
};

/** The Lambda context, with what greco's middlewares add for one invocation. */
export interface ApiContext extends Context {
  /** Set by `requestContext()`: the authenticated caller. */
  caller?: Caller;
  /** Set by `requestContext()`: API Gateway's `requestContext.requestId`. */
  requestId?: string;
  /** Set by `jsonBody()`: the parsed JSON body; `undefined` when the request has none. */
  jsonBody?: unknown;
}

/** What a route handler receives: the event plus what the middlewares established. */
export interface ApiRequest {
  readonly event: HttpEvent;
  readonly caller: Caller;
  readonly requestId: string;
  /** The parsed JSON body; `undefined` when the request has none. */
  readonly body: unknown;
  /** Path parameters (`{id}`, `{name}`), already URL-decoded by API Gateway. */
  readonly params: Readonly<Record<string, string>>;
  /** Query string parameters (repeated ones joined by commas, as API Gateway does). */
  readonly query: Readonly<Record<string, string>>;
  /** Request headers, lowercased names. */
  readonly headers: Readonly<Record<string, string>>;
}

/** The rule of one path parameter: the pattern its value must match, and how to say so. */
export interface PathParam {
  /** The whole value must match (anchor it: `^…$`). */
  readonly pattern: RegExp;
  /** What a valid value is, for the 400's message, e.g. `a function name: 1 to 64 letters, digits, - or _`. */
  readonly description: string;
}

/** One route: the role it needs, the rules of its path parameters, and its handler. */
export interface Route {
  readonly role: Role;
  /**
   * The rule of every `{param}` in the route key: the router refuses a value that breaks it with
   * 400 naming the parameter, before the handler runs (so before any I/O). A route key with a
   * parameter that has no rule here is refused when the router is built.
   */
  readonly params?: Readonly<Record<string, PathParam>>;
  readonly handle: (request: ApiRequest) => Promise<HttpResponse>;
}

/** A route group: route keys as API Gateway writes them (`GET /v1/drafts/{id}`) → route. */
export type Routes = Readonly<Record<string, Route>>;
