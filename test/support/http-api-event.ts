import type { Context } from 'aws-lambda';
import type { HttpEvent } from '../../core/http/types.ts';

/** Who calls: rendered into JWT claims the way API Gateway's JWT authorizer passes them on. */
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
  /** Raw claims, instead of `caller`. */
  readonly claims?: Readonly<Record<string, string>>;
  readonly requestId?: string;
}

/**
 * JWT claims as API Gateway HTTP APIs hand them to Lambda: every claim a string, array claims
 * rendered as `[a b]` (the roles), the workspace under `custom:workspace`.
 */
export function claimsFor(caller: TestCaller = {}): Record<string, string> {
  const sub = caller.sub ?? `user-${caller.workspace ?? 'acme'}`;
  return {
    sub,
    iss: 'https://issuer.example.test',
    aud: 'greco-test',
    token_use: 'id',
    'cognito:username': caller.username ?? sub,
    'custom:workspace': caller.workspace ?? 'acme',
    'cognito:groups': `[${(caller.roles ?? ['editor']).join(' ')}]`,
    exp: String(Math.floor(Date.now() / 1000) + 3600),
    iat: String(Math.floor(Date.now() / 1000)),
  };
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
  for (const [name, value] of Object.entries(init.headers ?? {})) headers[name.toLowerCase()] = value;
  const rawQueryString = new URLSearchParams(init.query ?? {}).toString();
  const requestId = init.requestId ?? `req-${crypto.randomUUID()}`;
  const now = new Date();
  const claims = init.claims ?? (init.caller === null ? undefined : claimsFor(init.caller ?? {}));
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
