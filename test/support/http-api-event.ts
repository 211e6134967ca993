import type { Context } from 'aws-lambda';
import type { HttpEvent } from '../../core/http/types.ts';
import { claimToString } from '../../local/apigateway/jwt.ts';

/**
 * Who calls: a token's payload ({@link tokenFor}), carried in the `authorization` header and
 * rendered into JWT claims the way API Gateway's JWT authorizer passes them on.
 */
export interface TestCaller {
  readonly workspace?: string;
  readonly roles?: readonly string[];
  readonly sub?: string;
  readonly username?: string;
}

/** What {@link httpApiEvent} needs; everything else gets realistic defaults. */
export interface HttpApiEventInit {
  /** As API Gateway writes it: `PUT /v1/drafts/{id}`. */
  readonly routeKey: string;
  /** Values for the route key's `{params}`; the raw path is built from them. */
  readonly pathParameters?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, string>>;
  /** Any case; they are lowercased as API Gateway does. */
  readonly headers?: Readonly<Record<string, string>>;
  /** A string is sent as is; anything else as JSON (with `content-type: application/json` unless set). */
  readonly body?: unknown;
  /** Sends the body base64-encoded with `isBase64Encoded: true`. */
  readonly base64?: boolean;
  /** Raw body bytes, sent base64-encoded with `isBase64Encoded: true` (instead of `body`). */
  readonly bodyBytes?: Uint8Array;
  /** The caller; `null` for an event without authorizer claims. @default an editor of workspace `acme` */
  readonly caller?: TestCaller | null;
  /**
   * The token's payload as its issuer signed it, instead of `caller`: the event carries it in
   * `authorization` (see {@link unsignedToken}) and its claims rendered by {@link renderClaims}.
   */
  readonly token?: Readonly<Record<string, unknown>>;
  /**
   * Raw authorizer claims, instead of those rendered from `caller` or `token` (with `token`: a
   * token the authorizer did not verify; alone: no `authorization` header at all).
   */
  readonly claims?: Readonly<Record<string, string>>;
  readonly requestId?: string;
}

/**
 * The payload of a Cognito-style ID token for `caller`: the roles as an array under
 * `cognito:groups`, the workspace under `custom:workspace`, valid for an hour from now.
 */
export function tokenFor(caller: TestCaller = {}): Record<string, unknown> {
  const sub = caller.sub ?? `user-${caller.workspace ?? 'acme'}`;
  const now = Math.floor(Date.now() / 1000);
  return {
    sub,
    iss: 'https://issuer.example.test',
    aud: 'greco-test',
    token_use: 'id',
    'cognito:username': caller.username ?? sub,
    'custom:workspace': caller.workspace ?? 'acme',
    'cognito:groups': [...(caller.roles ?? ['editor'])],
    exp: now + 3600,
    iat: now,
    jti: `jti-${sub}-${now}`,
  };
}

/**
 * A token's claims as API Gateway HTTP APIs hand them to Lambda
 * (`requestContext.authorizer.jwt.claims`): every claim a string, numbers as their digits,
 * arrays as `[a b]` (local/apigateway/jwt.ts `claimToString`).
 */
export function renderClaims(payload: Readonly<Record<string, unknown>>): Record<string, string> {
  const claims: Record<string, string> = {};
  for (const [name, value] of Object.entries(payload)) claims[name] = claimToString(value);
  return claims;
}

/**
 * A compact JWS carrying `payload` with a signature no key made: what the management handlers
 * read after API Gateway's JWT authorizer has verified the real one (they never verify it again).
 */
export function unsignedToken(payload: Readonly<Record<string, unknown>>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT', kid: 'test' })}.${part(payload)}.${Buffer.from('not verified here').toString('base64url')}`;
}

/** A payload format 2.0 event, as API Gateway's HTTP API builds it for a JWT-authorized route. */
export function httpApiEvent(init: HttpApiEventInit): HttpEvent {
  const [method = 'GET', template = '/'] = init.routeKey.split(' ');
  const params = init.pathParameters ?? {};
  const rawPath = template.replace(/\{([^}+]+)\+?\}/g, (_, name: string) =>
    encodeURIComponent(params[name] ?? ''),
  );
  const headers: Record<string, string> = {
    accept: 'application/json',
    host: 'abc123.execute-api.us-east-1.amazonaws.com',
    'user-agent': 'greco-tests',
    'x-forwarded-proto': 'https',
  };
  let body: string | undefined;
  if (init.body !== undefined) {
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  const base64 = init.base64 === true || init.bodyBytes !== undefined;
  if (init.bodyBytes !== undefined) {
    body = Buffer.from(init.bodyBytes).toString('base64');
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(init.bodyBytes.byteLength);
  } else if (body !== undefined && base64) {
    body = Buffer.from(body, 'utf8').toString('base64');
  }
  const token =
    init.token ?? (init.caller === null || init.claims !== undefined ? undefined : tokenFor(init.caller));
  if (token !== undefined) headers.authorization = `Bearer ${unsignedToken(token)}`;
  for (const [name, value] of Object.entries(init.headers ?? {})) headers[name.toLowerCase()] = value;
  const rawQueryString = new URLSearchParams(init.query ?? {}).toString();
  const requestId = init.requestId ?? `req-${crypto.randomUUID()}`;
  const now = new Date();
  const claims = init.claims ?? (token === undefined ? undefined : renderClaims(token));
  return {
    version: '2.0',
    routeKey: init.routeKey,
    rawPath,
    rawQueryString,
    headers,
    ...(init.query === undefined ? {} : { queryStringParameters: { ...init.query } }),
    ...(Object.keys(params).length === 0 ? {} : { pathParameters: { ...params } }),
    requestContext: {
      accountId: '000000000000',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '192.0.2.10', userAgent: 'greco-tests' },
      requestId,
      routeKey: init.routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
      ...(claims === undefined
        ? {}
        : { authorizer: { principalId: '', integrationLatency: 0, jwt: { claims, scopes: [] } } }),
    },
    ...(body === undefined ? {} : { body }),
    isBase64Encoded: body !== undefined && base64,
  } as HttpEvent;
}

/** A Lambda context like the runtime's, with a remaining time of `remainingMs`. */
export function lambdaContext(functionName = 'greco-drafts-api', remainingMs = 29_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'test',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
