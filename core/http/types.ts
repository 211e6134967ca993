import type {
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import type { Caller, Role } from '../auth.ts';

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

/** One route: the role it needs and its handler. */
export interface Route {
  readonly role: Role;
  readonly handle: (request: ApiRequest) => Promise<HttpResponse>;
}

/** A route group: route keys as API Gateway writes them (`GET /v1/drafts/{id}`) → route. */
export type Routes = Readonly<Record<string, Route>>;
