import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { answerAfterBody, closeServer, listen, RequestAbortedError, readBodyWithin } from '../http.ts';
import { syncPayloadLimitBytes } from '../lambda/invoke.ts';
import { localAccountId, localCredentials, localRegion } from '../net.ts';
import { JwtAuthorizerError, JwtVerifier } from './jwt.ts';
import { buildEvent, MalformedLambdaResponseError, mapResponse } from './payload.ts';
import { InvalidRouteError, type ParsedRoute, parseRouteKey, selectRoute } from './routes.ts';

export type { HttpApiEventV2 } from './payload.ts';
export { InvalidRouteError } from './routes.ts';

/** A JWT authorizer of an HTTP API route (`AWS::ApiGatewayV2::Authorizer` of type JWT). */
export interface HttpApiJwtAuthorizer {
  /** The issuer URL: `iss` must equal it, and `<issuer>/.well-known/openid-configuration` names the JWKS. */
  readonly issuer: string;
  /** Accepted audiences: the token's `aud` (or `client_id`) must be one of them. At least one. */
  readonly audience: readonly string[];
  /** Where the token is read. @default '$request.header.Authorization' */
  readonly identitySource?: string;
}

/** A route of an HTTP API with its Lambda proxy integration (payload format 2.0). */
export interface HttpApiRoute {
  /** `'GET /v1/drafts/{id}'`, `'ANY /x/{proxy+}'` or `'$default'`. */
  readonly routeKey: string;
  /** The function invoked: a name, `name:qualifier`, or an ARN known to the Lambda emulator. */
  readonly functionName: string;
  /** @default - no authorization */
  readonly authorizer?: HttpApiJwtAuthorizer;
}

/** Options of {@link startHttpApi}. */
export interface HttpApiOptions {
  /** TCP port on 127.0.0.1. @default 0 - the OS picks a free port */
  readonly port?: number;
  /** @default - 10 random lowercase letters and digits, like API Gateway's ids */
  readonly apiId?: string;
  /** Stage name; `$default` serves at the root, any other name under `/<stage>`. @default '$default' */
  readonly stage?: string;
  readonly routes: readonly HttpApiRoute[];
  /** The Lambda endpoint the integrations invoke (`http://127.0.0.1:<port>`). */
  readonly lambdaEndpoint: string;
  /** @default 'us-east-1' (local/net.ts localRegion) */
  readonly region?: string;
  /** @default '000000000000' (local/net.ts localAccountId) */
  readonly accountId?: string;
  /**
   * Integration timeout in milliseconds; API Gateway answers 503 past it.
   * @default 30000 - HTTP APIs' maximum integration timeout (30 seconds)
   */
  readonly integrationTimeoutMs?: number;
}

/** A running HTTP API. */
export interface RunningHttpApi {
  /** Invoke URL: `http://127.0.0.1:<port>`, plus `/<stage>` for a named stage. */
  readonly url: string;
  readonly apiId: string;
  close(): Promise<void>;
}

/** HTTP APIs accept request payloads up to 10 MB (API Gateway quota). */
const maxRequestBytes = 10 * 1024 * 1024;

/** API Gateway's answer to a body over {@link maxRequestBytes}. */
const tooLargeMessage = 'Request Entity Too Large';

/**
 * Largest request line plus header lines, in bytes: 10240 ("Total combined size of request line
 * and header values", API Gateway quota, not adjustable).
 */
const maxRequestHeadBytes = 10_240;

/** The answer to a request whose line and headers pass {@link maxRequestHeadBytes}. */
const headersTooLargeMessage = 'Request Header Fields Too Large';

/**
 * Largest request head Node's parser reads before the emulator sees it, in bytes: far above
 * {@link maxRequestHeadBytes}, so that the emulator, not the parser, answers most oversized heads.
 * A head beyond even this is answered by the server's `clientError` hook, in the same shape.
 */
const parserMaxHeaderBytes = 64 * 1024;

/** Size of a request's line and header lines as sent (`METHOD target HTTP/x.y` CRLF, `name: value` CRLF). */
function requestHeadBytes(req: IncomingMessage): number {
  let bytes = Buffer.byteLength(`${req.method ?? ''} ${req.url ?? ''} HTTP/${req.httpVersion}\r\n`);
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    bytes += Buffer.byteLength(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`);
  }
  return bytes;
}

/** Route with its authorizer's identity source resolved. */
interface CompiledRoute {
  readonly parsed: ParsedRoute;
  readonly route: HttpApiRoute;
  readonly tokenSource?: { readonly from: 'header' | 'querystring'; readonly name: string };
}

function compileRoute(route: HttpApiRoute): CompiledRoute {
  const parsed = parseRouteKey(route.routeKey);
  if (route.functionName === '') throw new InvalidRouteError(`route ${route.routeKey} has no function`);
  if (route.authorizer === undefined) return { parsed, route };
  const { issuer, audience } = route.authorizer;
  if (!/^https?:\/\//.test(issuer)) {
    throw new InvalidRouteError(
      `route ${route.routeKey}: the authorizer issuer ${JSON.stringify(issuer)} is not a URL`,
    );
  }
  if (audience.length === 0)
    throw new InvalidRouteError(`route ${route.routeKey}: the authorizer has no audience`);
  const source = route.authorizer.identitySource ?? '$request.header.Authorization';
  const match = /^\$request\.(header|querystring)\.([^\s,]+)$/.exec(source);
  if (match === null) {
    throw new InvalidRouteError(
      `route ${route.routeKey}: identity source ${JSON.stringify(source)} is not supported`,
    );
  }
  const from = match[1] as 'header' | 'querystring';
  const name = match[2] ?? '';
  return { parsed, route, tokenSource: { from, name: from === 'header' ? name.toLowerCase() : name } };
}

function newApiId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(10)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** API Gateway's request ids look like `JKJaXmPLvHcESHA=`. */
function newRequestId(): string {
  return randomBytes(11).toString('base64');
}

function newTraceId(now: Date): string {
  return `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
}

/**
 * Starts a local API Gateway HTTP API: routes matched with API Gateway's precedence (an exact
 * path before `{param}` paths, greedy `{proxy+}` paths after them, a method before `ANY`,
 * `$default` last; no match: 404 `{"message":"Not Found"}`), JWT authorizers (401
 * `{"message":"Unauthorized"}` without invoking the function; `exp` required), and Lambda proxy
 * integrations with payload format 2.0 invoked through the Lambda API at `lambdaEndpoint`. A
 * function error or a failed invoke answers 500 `{"message":"Internal Server Error"}`, and so
 * does an event over Lambda's 6 MB synchronous invoke payload (checked here, without invoking);
 * a throttled invoke or an integration timeout 503 `{"message":"Service Unavailable"}`; a body
 * over 10 MB 413 `{"message":"Request Entity Too Large"}`; a request line and headers over 10240
 * bytes 431 `{"message":"Request Header Fields Too Large"}` (a head Node cannot parse: the same
 * 431, or 400 `{"message":"Bad Request"}`, never a reset connection). A refused request's answer is
 * written once the rest of its body has been read and discarded (for at most 30 s, see
 * ./body.ts), so that a client still sending gets it. Every answer carries `apigw-requestid`.
 *
 * @throws InvalidRouteError for a bad route key, a duplicate route key or a bad authorizer
 * @example
 * const api = await startHttpApi({
 *   routes: [{ routeKey: 'GET /v1/drafts/{id}', functionName: 'drafts-api', authorizer: { issuer, audience: ['greco-local'] } }],
 *   lambdaEndpoint: lambda.endpoint,
 * });
 * await fetch(`${api.url}/v1/drafts/d1`, { headers: { authorization: `Bearer ${token}` } });
 */
export async function startHttpApi(options: HttpApiOptions): Promise<RunningHttpApi> {
  const routes = options.routes.map(compileRoute);
  const seen = new Set<string>();
  for (const { parsed } of routes) {
    if (seen.has(parsed.routeKey)) throw new InvalidRouteError(`route key ${parsed.routeKey} appears twice`);
    seen.add(parsed.routeKey);
  }
  const stage = options.stage ?? '$default';
  if (stage !== '$default' && !/^[A-Za-z0-9_-]{1,128}$/.test(stage)) {
    throw new InvalidRouteError(`stage name ${JSON.stringify(stage)} is not valid`);
  }
  const apiId = options.apiId ?? newApiId();
  const accountId = options.accountId ?? localAccountId;
  const timeoutMs = options.integrationTimeoutMs ?? 30_000;
  const lambda = new LambdaClient({
    endpoint: options.lambdaEndpoint,
    region: options.region ?? localRegion,
    credentials: localCredentials,
    // API Gateway does not retry a throttled or failed invoke: the client sees 503 or 500.
    maxAttempts: 1,
  });
  const verifier = new JwtVerifier();
  const parsedRoutes = routes.map((r) => r.parsed);
  const byKey = new Map(routes.map((r) => [r.parsed.routeKey, r]));

  const server = createServer({ maxHeaderSize: parserMaxHeaderBytes }, (req, res) => {
    const requestId = newRequestId();
    void handle(req, res, requestId).catch((error: unknown) => {
      if (error instanceof RequestAbortedError) {
        res.destroy(); // a client that went away is owed no answer
        return;
      }
      console.error('local HTTP API: internal error', error);
      if (!res.headersSent)
        answerAfterBody(req, () => sendMessage(res, 500, 'Internal Server Error', requestId));
      else res.destroy();
    });
  });

  server.on('clientError', function answerUnparsableRequest(error: NodeJS.ErrnoException, socket) {
    if (!socket.writable || (error as { bytesParsed?: number }).bytesParsed === undefined) {
      socket.destroy();
      return;
    }
    const [status, message] =
      error.code === 'HPE_HEADER_OVERFLOW' ? [431, headersTooLargeMessage] : [400, 'Bad Request'];
    const body = JSON.stringify({ message });
    socket.end(
      `HTTP/1.1 ${status} ${message}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `apigw-requestid: ${newRequestId()}\r\nconnection: close\r\n\r\n${body}`,
    );
  });

  async function handle(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const receivedAt = new Date();
    /** API Gateway's own answer, written once the rest of the request body has been discarded. */
    const refuse = (status: number, message: string, headers?: Record<string, string>): void =>
      answerAfterBody(req, () => sendMessage(res, status, message, requestId, headers));
    if (requestHeadBytes(req) > maxRequestHeadBytes) return refuse(431, headersTooLargeMessage);
    const target = req.url ?? '/';
    const question = target.indexOf('?');
    const rawPath = question === -1 ? target : target.slice(0, question);
    const rawQueryString = question === -1 ? '' : target.slice(question + 1);
    let routedPath = rawPath;
    if (stage !== '$default') {
      const prefix = `/${stage}`;
      if (rawPath !== prefix && !rawPath.startsWith(`${prefix}/`)) {
        return refuse(404, 'Not Found');
      }
      routedPath = rawPath.slice(prefix.length) || '/';
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const match = selectRoute(parsedRoutes, method, routedPath);
    const compiled = match === undefined ? undefined : byKey.get(match.route.routeKey);
    if (match === undefined || compiled === undefined) {
      return refuse(404, 'Not Found');
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxRequestBytes) {
      return refuse(413, tooLargeMessage);
    }
    let authorization: Awaited<ReturnType<JwtVerifier['verify']>> | undefined;
    const authorizer = compiled.route.authorizer;
    if (authorizer !== undefined && compiled.tokenSource !== undefined) {
      const token = readToken(req, rawQueryString, compiled.tokenSource);
      try {
        if (token === undefined) throw new JwtAuthorizerError('the request carries no token');
        authorization = await verifier.verify(token, authorizer.issuer, authorizer.audience);
      } catch (error) {
        if (!(error instanceof JwtAuthorizerError)) throw error;
        return refuse(401, 'Unauthorized', {
          'www-authenticate': `Bearer scope="" error="invalid_token" error_description="${error.message.replace(/"/g, "'")}"`,
        });
      }
    }
    const body = await readBodyWithin(req, maxRequestBytes);
    if (body === undefined) return refuse(413, tooLargeMessage);
    const event = buildEvent({
      req,
      body,
      rawPath,
      rawQueryString,
      routeKey: match.route.routeKey,
      pathParameters: match.pathParameters,
      authorization,
      apiId,
      accountId,
      stage,
      requestId,
      traceId: newTraceId(receivedAt),
      receivedAt,
    });
    const payload = Buffer.from(JSON.stringify(event));
    if (payload.length > syncPayloadLimitBytes) {
      // Lambda refuses it (413 RequestTooLargeException) and an HTTP API answers 500. Refused
      // here, not sent: an invoke refused mid-upload leaves a broken connection in the pool.
      console.error(
        `local HTTP API: invoking ${compiled.route.functionName} failed: ${payload.length} byte payload is too large for the RequestResponse invocation type (limit ${syncPayloadLimitBytes} bytes)`,
      );
      return sendMessage(res, 500, 'Internal Server Error', requestId);
    }
    let output: InvokeCommandOutput;
    try {
      output = await lambda.send(
        new InvokeCommand({
          FunctionName: compiled.route.functionName,
          InvocationType: 'RequestResponse',
          Payload: payload,
        }),
        { abortSignal: AbortSignal.timeout(timeoutMs) },
      );
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === 'TooManyRequestsException' || name === 'AbortError' || name === 'TimeoutError') {
        return sendMessage(res, 503, 'Service Unavailable', requestId);
      }
      console.error(
        `local HTTP API: invoking ${compiled.route.functionName} failed: ${name}: ${(error as Error).message}`,
      );
      return sendMessage(res, 500, 'Internal Server Error', requestId);
    }
    if (output.FunctionError !== undefined) return sendMessage(res, 500, 'Internal Server Error', requestId);
    let answer: ReturnType<typeof mapResponse>;
    try {
      answer = mapResponse(output.Payload);
    } catch (error) {
      if (!(error instanceof MalformedLambdaResponseError)) throw error;
      console.error(`local HTTP API: ${compiled.route.functionName}: ${error.message}`);
      return sendMessage(res, 500, 'Internal Server Error', requestId);
    }
    const headers: Record<string, string | string[] | number> = { ...answer.headers };
    if (answer.cookies.length > 0) headers['set-cookie'] = answer.cookies;
    headers['content-length'] = answer.body.length;
    headers['apigw-requestid'] = requestId;
    res.writeHead(answer.statusCode, headers);
    res.end(method === 'HEAD' ? undefined : answer.body);
  }

  const base = await listen(server, options.port ?? 0);
  return {
    url: stage === '$default' ? base : `${base}/${stage}`,
    apiId,
    async close() {
      await closeServer(server);
      lambda.destroy();
    },
  };
}

function readToken(
  req: IncomingMessage,
  rawQueryString: string,
  source: { readonly from: 'header' | 'querystring'; readonly name: string },
): string | undefined {
  const value =
    source.from === 'header'
      ? req.headers[source.name]
      : (new URLSearchParams(rawQueryString).get(source.name) ?? undefined);
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const token = text.replace(/^Bearer\s+/i, '').trim();
  return token === '' ? undefined : token;
}

/** API Gateway's own answers: `{"message": "..."}` with `apigw-requestid`. */
function sendMessage(
  res: ServerResponse,
  status: number,
  message: string,
  requestId: string,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify({ message: message });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'apigw-requestid': requestId,
    ...headers,
  });
  res.end(body);
}
