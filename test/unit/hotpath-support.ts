/** Test helpers of the hot-path unit tests (test/unit/hotpath-*.test.ts). */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  CreateFunctionCommand,
  InvokeCommand,
  LambdaClient,
  PutFunctionConcurrencyCommand,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { strToU8, zipSync } from 'fflate';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import type { HotPathLogger } from '../../hotpath/log.ts';
import { type HotPathRetryOptions, HotPathRetryStrategy } from '../../hotpath/retry.ts';
import { closeServer, listen, readBody } from '../../local/http.ts';
import { localAccountId, localCredentials, localRegion } from '../../local/net.ts';

/** A running HTTP server for a test; `close()` stops it. */
export interface TestServer {
  readonly url: string;
  /** Requests received so far, as `METHOD /path`. */
  readonly requests: string[];
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1:0 that answers with `respond` and records each request line. */
export async function startTestServer(
  respond: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>,
  port = 0,
): Promise<TestServer> {
  const requests: string[] = [];
  const server = createServer(async (req, res) => {
    requests.push(`${req.method} ${req.url}`);
    await respond(req, res, await readBody(req));
  });
  const url = await listen(server, port);
  return { url, requests, close: () => closeServer(server) };
}

/** Writes a Lambda REST API error as AWS does: `x-amzn-ErrorType` and `{ Type, message }`. */
export function sendLambdaError(
  res: ServerResponse,
  status: number,
  errorType: string,
  message: string,
): void {
  const body = JSON.stringify({ Type: status >= 500 ? 'Service' : 'User', message });
  res.writeHead(status, {
    'content-type': 'application/json',
    'x-amzn-errortype': errorType,
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** A LambdaClient for `endpoint` with the hot path's retry strategy and fake credentials. */
export function hotPathLambdaClient(endpoint: string, retry: HotPathRetryOptions = {}): LambdaClient {
  return new LambdaClient({
    endpoint,
    region: localRegion,
    credentials: localCredentials,
    retryStrategy: new HotPathRetryStrategy(retry),
  });
}

/** Records the operation name (`GetFunction`, `TagResource`, ...) of every command `client` sends. */
export function recordOperations(client: LambdaClient): string[] {
  const operations: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      operations.push(String(context.commandName).replace(/Command$/, ''));
      return next(args);
    },
    { step: 'initialize', name: 'recordOperations' },
  );
  return operations;
}

/** Operations that change a function. */
export const mutatingOperations = new Set([
  'TagResource',
  'UntagResource',
  'PutFunctionConcurrency',
  'DeleteFunctionConcurrency',
]);

/** A logger that keeps its lines for assertions. */
export function memoryLogger(): HotPathLogger & { readonly lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const push =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      lines.push({ level, message, ...fields });
    };
  return {
    lines,
    info: push('info'),
    warn: push('warn'),
    error: push('error'),
    metric(name, value, unit, fields = {}) {
      lines.push({ level: 'info', message: `metric ${name}`, metric: name, value, unit, ...fields });
    },
  };
}

/** A local OIDC-like issuer: an RS256 key, its JWKS at `<issuer>/.well-known/jwks.json`, and a signer. */
export interface TestIssuer {
  readonly issuer: string;
  readonly jwksUrl: string;
  /** JWKS requests served so far. */
  readonly jwksRequests: () => number;
  /**
   * Signs `claims` (`iss` defaults to this issuer, `iat` to now, `exp` to one hour; `iat` or
   * `expiresIn` `null`: the claim is left out).
   */
  sign(claims: JWTPayload, options?: SignOptions): Promise<string>;
  /** Signs with a key that is not in the JWKS, under the published key id. */
  signWithForeignKey(claims: JWTPayload): Promise<string>;
  close(): Promise<void>;
}

/** Options of {@link TestIssuer.sign}. */
export interface SignOptions {
  /** `exp`: a time span (`'1h'`) or seconds since the epoch; `null`: none. @default '1h' */
  readonly expiresIn?: string | number | null;
  /** `iat` in seconds since the epoch; `null`: none. @default - now */
  readonly issuedAt?: number | null;
  readonly issuer?: string;
  readonly kid?: string;
}

/** Starts a {@link TestIssuer} on `port` (default: a free one). */
export async function startTestIssuer(port = 0): Promise<TestIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const foreign = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  let jwksRequests = 0;
  const server = await startTestServer((req, res) => {
    if (req.url === '/.well-known/jwks.json') {
      jwksRequests += 1;
      const body = JSON.stringify({ keys: [jwk] });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    res.writeHead(404).end();
  }, port);
  const sign = async (
    claims: JWTPayload,
    key: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'],
    options: SignOptions = {},
  ) => {
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? 'test-key' })
      .setIssuer(options.issuer ?? server.url);
    if (options.issuedAt !== null) jwt.setIssuedAt(options.issuedAt);
    if (options.expiresIn !== null) jwt.setExpirationTime(options.expiresIn ?? '1h');
    return jwt.sign(key);
  };
  return {
    issuer: server.url,
    jwksUrl: `${server.url}/.well-known/jwks.json`,
    jwksRequests: () => jwksRequests,
    sign: (claims, options) => sign(claims, privateKey, options),
    signWithForeignKey: (claims) => sign(claims, foreign.privateKey),
    close: () => server.close(),
  };
}

/** A Lambda function URL event (payload format 2.0) as Lambda builds it. */
export function functionUrlEvent(input: {
  method: string;
  path: string;
  authorization?: string;
  requestId?: string;
}): LambdaFunctionURLEvent {
  const headers: Record<string, string> = { host: 'abc.lambda-url.us-east-1.on.aws' };
  if (input.authorization !== undefined) headers.authorization = input.authorization;
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: input.path,
    rawQueryString: '',
    headers,
    isBase64Encoded: false,
    requestContext: {
      accountId: 'anonymous',
      apiId: 'abc',
      domainName: 'abc.lambda-url.us-east-1.on.aws',
      domainPrefix: 'abc',
      http: {
        method: input.method,
        path: input.path,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'test',
      },
      requestId: input.requestId ?? `req-${now}`,
      routeKey: '$default',
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
  };
}

/** A handler that answers every invocation with `{ ok: true }`, zipped for CreateFunction. */
export const okHandlerZip = zipSync({
  'index.mjs': strToU8('export const handler = async () => ({ ok: true });'),
});

/**
 * Creates a data-plane function as a committed deployment leaves it: tags, and the reserved
 * concurrency applied (`undefined`: unreserved).
 */
export async function createFunction(
  client: LambdaClient,
  input: { functionName: string; tags: Record<string, string>; reservedConcurrency?: number },
): Promise<string> {
  const created = await client.send(
    new CreateFunctionCommand({
      FunctionName: input.functionName,
      Runtime: 'nodejs24.x',
      Handler: 'index.handler',
      Role: `arn:aws:iam::${localAccountId}:role/greco-data-plane`,
      Code: { ZipFile: okHandlerZip },
      Tags: input.tags,
    }),
  );
  await waitUntilFunctionActiveV2({ client, maxWaitTime: 30 }, { FunctionName: input.functionName });
  if (input.reservedConcurrency !== undefined) {
    await client.send(
      new PutFunctionConcurrencyCommand({
        FunctionName: input.functionName,
        ReservedConcurrentExecutions: input.reservedConcurrency,
      }),
    );
  }
  return created.FunctionArn ?? '';
}

/** The tags of a managed function of `workspace` named `name`, configured with `reserved`. */
export function managedTags(
  workspace: string,
  name: string,
  reserved: number | 'none' | undefined,
): Record<string, string> {
  return {
    'greco:managed': 'true',
    'greco:workspace': workspace,
    'greco:function': name,
    ...(reserved === undefined ? {} : { 'greco:reserved-concurrency': String(reserved) }),
  };
}

/**
 * Invokes a function once, without retries: `'ok'`, or the error name (`TooManyRequestsException`
 * when suspended).
 */
export async function invokeOnce(endpoint: string, functionName: string): Promise<string> {
  const client = new LambdaClient({
    endpoint,
    region: localRegion,
    credentials: localCredentials,
    maxAttempts: 1,
  });
  try {
    const output = await client.send(
      new InvokeCommand({ FunctionName: functionName, Payload: strToU8('{}') }),
    );
    return output.FunctionError === undefined ? 'ok' : `FunctionError ${output.FunctionError}`;
  } catch (error) {
    return error instanceof Error ? error.name : String(error);
  } finally {
    client.destroy();
  }
}
