import type { IncomingMessage } from 'node:http';
import type { JwtAuthorization } from './jwt.ts';

/**
 * Payload format 2.0 of HTTP API Lambda proxy integrations: the event API Gateway builds from
 * a request, and how it reads the function's answer.
 *
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 */

/** The event of payload format 2.0 (the shape of `APIGatewayProxyEventV2WithJWTAuthorizer`). */
export interface HttpApiEventV2 {
  readonly version: '2.0';
  readonly routeKey: string;
  readonly rawPath: string;
  readonly rawQueryString: string;
  readonly cookies?: string[];
  readonly headers: Record<string, string>;
  readonly queryStringParameters?: Record<string, string>;
  readonly pathParameters?: Record<string, string>;
  readonly requestContext: {
    readonly accountId: string;
    readonly apiId: string;
    readonly authorizer?: { readonly jwt: JwtAuthorization };
    readonly domainName: string;
    readonly domainPrefix: string;
    readonly http: {
      readonly method: string;
      readonly path: string;
      readonly protocol: string;
      readonly sourceIp: string;
      readonly userAgent: string;
    };
    readonly requestId: string;
    readonly routeKey: string;
    readonly stage: string;
    readonly time: string;
    readonly timeEpoch: number;
  };
  readonly body?: string;
  readonly isBase64Encoded: boolean;
}

/** What the parts of a request API Gateway needs besides the Node request itself. */
export interface EventInput {
  readonly req: IncomingMessage;
  readonly body: Buffer;
  /** Path as received, percent-encoded, stage prefix included. */
  readonly rawPath: string;
  readonly rawQueryString: string;
  readonly routeKey: string;
  readonly pathParameters: Readonly<Record<string, string>>;
  readonly authorization: JwtAuthorization | undefined;
  readonly apiId: string;
  readonly accountId: string;
  readonly stage: string;
  readonly requestId: string;
  readonly traceId: string;
  readonly receivedAt: Date;
}

/**
 * Request bodies arrive as text (`isBase64Encoded: false`) only for these content types;
 * anything else, a missing content type included, is base64-encoded, as observed on HTTP APIs.
 */
export function isTextContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const type = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return (
    type.startsWith('text/') ||
    type === 'application/json' ||
    type === 'application/xml' ||
    type === 'application/javascript'
  );
}

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `12/Mar/2020:19:03:58 +0000`: the CLF time of `requestContext.time`. */
export function clfTime(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${two(date.getUTCHours())}:${two(
    date.getUTCMinutes(),
  )}:${two(date.getUTCSeconds())} +0000`;
}

function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

function sourceIpOf(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '127.0.0.1';
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}

/**
 * Builds the 2.0 event: header names lowercased and repeated headers joined by commas, the
 * `cookie` headers moved to `cookies`, repeated query parameters joined by commas, the path
 * and parameters URL-decoded (HTTP APIs decode `rawPath`), and the `x-forwarded-*` and
 * `x-amzn-trace-id` headers API Gateway adds.
 */
export function buildEvent(input: EventInput): HttpApiEventV2 {
  const { req } = input;
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] ?? '').toLowerCase();
    const value = raw[i + 1] ?? '';
    if (name === 'cookie') {
      cookies.push(
        ...value
          .split(';')
          .map((c) => c.trim())
          .filter((c) => c !== ''),
      );
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const sourceIp = sourceIpOf(req);
  headers['x-forwarded-for'] =
    headers['x-forwarded-for'] === undefined ? sourceIp : `${headers['x-forwarded-for']}, ${sourceIp}`;
  headers['x-forwarded-port'] = String(req.socket.localPort ?? '');
  headers['x-forwarded-proto'] = 'http';
  headers['x-amzn-trace-id'] = input.traceId;

  const query: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(input.rawQueryString)) {
    query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
  }
  const host = req.headers.host ?? '';
  const hostname = host.replace(/:\d+$/, '');
  const domainPrefix = hostname.startsWith(`${input.apiId}.`)
    ? input.apiId
    : (hostname.split('.')[0] ?? hostname);
  const path = decodePath(input.rawPath);
  const hasBody = input.body.length > 0;
  const text = isTextContentType(req.headers['content-type']);
  return {
    version: '2.0',
    routeKey: input.routeKey,
    rawPath: path,
    rawQueryString: input.rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(Object.keys(input.pathParameters).length > 0 ? { pathParameters: { ...input.pathParameters } } : {}),
    requestContext: {
      accountId: input.accountId,
      apiId: input.apiId,
      ...(input.authorization === undefined ? {} : { authorizer: { jwt: input.authorization } }),
      domainName: host,
      domainPrefix,
      http: {
        method: req.method ?? 'GET',
        path,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp,
        userAgent: req.headers['user-agent'] ?? '',
      },
      requestId: input.requestId,
      routeKey: input.routeKey,
      stage: input.stage,
      time: clfTime(input.receivedAt),
      timeEpoch: input.receivedAt.getTime(),
    },
    ...(hasBody ? { body: text ? input.body.toString('utf8') : input.body.toString('base64') } : {}),
    isBase64Encoded: hasBody && !text,
  };
}

/** Thrown by {@link mapResponse} when a structured answer is malformed: API Gateway answers 500. */
export class MalformedLambdaResponseError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MalformedLambdaResponseError';
  }
}

/** The HTTP answer read from a function's response. */
export interface HttpAnswer {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly cookies: string[];
  readonly body: Buffer;
}

/**
 * Reads a function's response by the 2.0 rules: an object with `statusCode` is structured
 * (`{statusCode, headers, body, isBase64Encoded, cookies}`); any other JSON is the body of a
 * 200 `application/json` answer (a JSON string is sent as its text).
 *
 * @throws MalformedLambdaResponseError when the payload is not JSON or a structured answer has
 *   a bad status code, headers, cookies or body
 */
export function mapResponse(payload: Uint8Array | undefined): HttpAnswer {
  const text = payload === undefined ? '' : Buffer.from(payload).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new MalformedLambdaResponseError('the function response is not JSON', { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !('statusCode' in value)) {
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      cookies: [],
      body: Buffer.from(typeof value === 'string' ? value : text, 'utf8'),
    };
  }
  const response = value as Record<string, unknown>;
  const status = response.statusCode;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) {
    throw new MalformedLambdaResponseError(`statusCode ${JSON.stringify(status)} is not an HTTP status`);
  }
  const headers: Record<string, string> = {};
  if (response.headers !== undefined && response.headers !== null) {
    if (typeof response.headers !== 'object' || Array.isArray(response.headers)) {
      throw new MalformedLambdaResponseError('headers must be an object');
    }
    for (const [name, headerValue] of Object.entries(response.headers)) {
      if (typeof headerValue === 'object' && headerValue !== null) {
        throw new MalformedLambdaResponseError(`header ${name} must be a string, number or boolean`);
      }
      headers[name.toLowerCase()] = String(headerValue);
    }
  }
  const cookies: string[] = [];
  if (response.cookies !== undefined && response.cookies !== null) {
    if (!Array.isArray(response.cookies) || response.cookies.some((c) => typeof c !== 'string')) {
      throw new MalformedLambdaResponseError('cookies must be an array of strings');
    }
    cookies.push(...(response.cookies as string[]));
  }
  const body = response.body;
  if (body !== undefined && body !== null && typeof body !== 'string') {
    throw new MalformedLambdaResponseError('body must be a string');
  }
  const encoded = response.isBase64Encoded === true;
  return {
    statusCode: status,
    headers,
    cookies,
    body: typeof body === 'string' ? Buffer.from(body, encoded ? 'base64' : 'utf8') : Buffer.alloc(0),
  };
}
