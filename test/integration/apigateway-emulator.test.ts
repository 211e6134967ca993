import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import {
  CreateFunctionCommand,
  LambdaClient,
  PutFunctionConcurrencyCommand,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import { strToU8, zipSync } from 'fflate';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type HttpApiEventV2,
  InvalidRouteError,
  type RunningHttpApi,
  startHttpApi,
} from '../../local/apigateway/index.ts';
import { closeServer, listen, readBody } from '../../local/http.ts';
import { type RunningLambdaEmulator, startLambdaEmulator } from '../../local/lambda/index.ts';
import { localAccountId, localCredentials, localRegion } from '../../local/net.ts';
import { type LocalIssuer, startLocalIssuer } from '../../local/oidc.ts';

/**
 * A stand-in for the Lambda API's Invoke (`POST /2015-03-31/functions/{name}/invocations`):
 * records every event and answers as the named function would.
 */
async function startStubLambda() {
  const events: { functionName: string; event: HttpApiEventV2 }[] = [];
  const held: ServerResponse[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(req.url?.split('?')[0] ?? '');
      const functionName = decodeURIComponent(match?.[1] ?? '');
      const event = JSON.parse((await readBody(req)).toString('utf8')) as HttpApiEventV2;
      events.push({ functionName, event });
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      switch (functionName) {
        case 'echo':
          return json(200, {
            statusCode: 200,
            headers: { 'content-type': 'application/json', 'x-function': 'echo' },
            body: JSON.stringify({ routeKey: event.routeKey }),
          });
        case 'plain':
          return json(200, { hello: 'world' });
        case 'binary':
          return json(200, {
            statusCode: 201,
            headers: { 'content-type': 'application/octet-stream' },
            body: Buffer.from([0, 1, 2, 255]).toString('base64'),
            isBase64Encoded: true,
            cookies: ['session=abc; HttpOnly', 'theme=dark'],
          });
        case 'throws':
          return json(
            200,
            { errorType: 'Error', errorMessage: 'boom', trace: [] },
            { 'x-amz-function-error': 'Unhandled' },
          );
        case 'malformed':
          return json(200, { statusCode: 'teapot' });
        case 'throttled':
          return json(
            429,
            {
              Type: 'User',
              message: 'Rate Exceeded.',
              Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
            },
            { 'x-amzn-errortype': 'TooManyRequestsException' },
          );
        case 'slow':
          held.push(res); // answered never: the integration times out
          return;
        default:
          return json(
            404,
            { Type: 'User', message: `Function not found: ${functionName}` },
            { 'x-amzn-errortype': 'ResourceNotFoundException' },
          );
      }
    })();
  });
  const endpoint = await listen(server);
  return {
    endpoint,
    events,
    async close() {
      for (const res of held) res.destroy();
      await closeServer(server);
    },
  };
}

/**
 * An OIDC issuer that signs whatever claims it is given (the local issuer always sets `exp`):
 * discovery document and JWKS, like any issuer an HTTP API authorizer trusts.
 */
async function startBareIssuer() {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bare', alg: 'RS256', use: 'sig' };
  let issuer = '';
  const server = createServer((req, res) => {
    const body =
      req.url === '/.well-known/openid-configuration'
        ? { issuer, jwks_uri: `${issuer}/.well-known/jwks.json` }
        : { keys: [jwk] };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  issuer = await listen(server);
  return {
    issuer,
    /** An RS256 token with `iss`, `aud` 'greco-local', `iat` now, and `claims` (no `exp` unless given). */
    sign(claims: JWTPayload): Promise<string> {
      return new SignJWT({ aud: 'greco-local', ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: 'bare' })
        .setIssuer(issuer)
        .setIssuedAt()
        .sign(privateKey);
    },
    close: () => closeServer(server),
  };
}

/** What a client streaming `totalBytes` in 64 KiB writes saw: the answer, and any error of its own writes. */
async function streamUpload(
  url: string,
  totalBytes: number,
  declareLength: boolean,
): Promise<{ status: number | undefined; body: string; writeError: string | undefined }> {
  const target = new URL(url);
  let status: number | undefined;
  let body = '';
  let writeError: string | undefined;
  await new Promise<void>((resolve) => {
    let answered = false;
    let written = false;
    const settle = () => {
      if (answered && written) resolve();
    };
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/octet-stream',
          ...(declareLength ? { 'content-length': totalBytes } : {}),
        },
      },
      (res) => {
        status = res.statusCode;
        res.setEncoding('utf8');
        res.on('data', (text: string) => {
          body += text;
        });
        res.on('end', () => {
          answered = true;
          settle();
        });
      },
    );
    req.on('error', (error) => {
      writeError = error.message;
      answered = true;
      written = true;
      settle();
    });
    req.on('finish', () => {
      written = true;
      settle();
    });
    const chunk = Buffer.alloc(64 * 1024);
    let sent = 0;
    const pump = (): void => {
      while (sent < totalBytes) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
  return { status, body, writeError };
}

describe('local HTTP API (payload 2.0) in front of a stub Lambda', () => {
  let stub: Awaited<ReturnType<typeof startStubLambda>>;
  let issuer: LocalIssuer;
  let other: LocalIssuer;
  let bare: Awaited<ReturnType<typeof startBareIssuer>>;
  let api: RunningHttpApi;
  let staged: RunningHttpApi;

  beforeAll(async () => {
    stub = await startStubLambda();
    issuer = await startLocalIssuer();
    other = await startLocalIssuer();
    bare = await startBareIssuer();
    const authorizer = { issuer: issuer.issuer, audience: ['greco-local'] };
    api = await startHttpApi({
      apiId: 'abc123defg',
      lambdaEndpoint: stub.endpoint,
      integrationTimeoutMs: 300,
      routes: [
        { routeKey: 'GET /v1/drafts/{id}', functionName: 'echo', authorizer },
        { routeKey: 'POST /v1/drafts', functionName: 'echo', authorizer },
        { routeKey: 'GET /open/{proxy+}', functionName: 'echo' },
        { routeKey: 'POST /upload', functionName: 'echo' },
        { routeKey: 'GET /plain', functionName: 'plain' },
        { routeKey: 'GET /binary', functionName: 'binary' },
        { routeKey: 'GET /throws', functionName: 'throws' },
        { routeKey: 'GET /malformed', functionName: 'malformed' },
        { routeKey: 'GET /throttled', functionName: 'throttled' },
        { routeKey: 'GET /slow', functionName: 'slow' },
        { routeKey: 'GET /missing', functionName: 'no-such-function' },
        {
          routeKey: 'GET /bare/{id}',
          functionName: 'echo',
          authorizer: { issuer: bare.issuer, audience: ['greco-local'] },
        },
      ],
    });
    staged = await startHttpApi({
      stage: 'dev',
      lambdaEndpoint: stub.endpoint,
      routes: [{ routeKey: '$default', functionName: 'echo' }],
    });
  });

  afterAll(async () => {
    await api?.close();
    await staged?.close();
    await issuer?.close();
    await other?.close();
    await bare?.close();
    await stub?.close();
  });

  const lastEvent = () => stub.events.at(-1)?.event;

  it('builds the 2.0 event of an authorized request as API Gateway does', async () => {
    const token = await issuer.mintToken({
      workspace: 'acme',
      roles: ['editor', 'approver'],
      username: 'ada',
    });
    const response = await fetch(`${api.url}/v1/drafts/d%201?b=2&a=1&a=3&empty`, {
      headers: {
        authorization: `Bearer ${token}`,
        'user-agent': 'greco-test',
        cookie: 'c1=v1; c2=v2',
        'X-Custom': 'x',
      },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-function')).toBe('echo');
    const requestId = response.headers.get('apigw-requestid');
    expect(requestId).toMatch(/^[A-Za-z0-9+/]{15}=$/);
    expect(await response.json()).toEqual({ routeKey: 'GET /v1/drafts/{id}' });

    const event = lastEvent();
    expect(stub.events.at(-1)?.functionName).toBe('echo');
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'GET /v1/drafts/{id}',
      rawPath: '/v1/drafts/d 1',
      rawQueryString: 'b=2&a=1&a=3&empty',
      cookies: ['c1=v1', 'c2=v2'],
      queryStringParameters: { a: '1,3', b: '2', empty: '' },
      pathParameters: { id: 'd 1' },
      isBase64Encoded: false,
      requestContext: {
        accountId: localAccountId,
        apiId: 'abc123defg',
        http: {
          method: 'GET',
          path: '/v1/drafts/d 1',
          protocol: 'HTTP/1.1',
          sourceIp: '127.0.0.1',
          userAgent: 'greco-test',
        },
        requestId,
        routeKey: 'GET /v1/drafts/{id}',
        stage: '$default',
      },
    });
    expect(event?.headers).toMatchObject({
      'x-custom': 'x',
      'user-agent': 'greco-test',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'http',
    });
    expect(event?.headers).not.toHaveProperty('cookie');
    expect(event?.headers['x-amzn-trace-id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    expect(event?.body).toBeUndefined();
    expect(event?.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(typeof event?.requestContext.timeEpoch).toBe('number');

    const jwt = event?.requestContext.authorizer?.jwt;
    expect(jwt?.scopes).toBeNull();
    expect(jwt?.claims).toMatchObject({
      iss: issuer.issuer,
      aud: 'greco-local',
      token_use: 'id',
      'cognito:username': 'ada',
      'custom:workspace': 'acme',
      'cognito:groups': '[editor approver]',
    });
    expect(jwt?.claims.exp).toMatch(/^\d+$/);
    expect(Object.values(jwt?.claims ?? {}).every((value) => typeof value === 'string')).toBe(true);
  });

  it('passes a JSON body as text and a binary body as base64', async () => {
    const token = await issuer.mintToken({ workspace: 'acme', roles: ['editor'] });
    await fetch(`${api.url}/v1/drafts`, {
      method: 'POST',
      headers: { authorization: token, 'content-type': 'application/json' },
      body: '{"name":"d"}',
    });
    expect(lastEvent()).toMatchObject({
      body: '{"name":"d"}',
      isBase64Encoded: false,
      routeKey: 'POST /v1/drafts',
    });
    expect(lastEvent()?.headers['content-type']).toBe('application/json');

    const bytes = Buffer.from([0, 159, 146, 150]);
    await fetch(`${api.url}/upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/zip' },
      body: bytes,
    });
    expect(lastEvent()).toMatchObject({ body: bytes.toString('base64'), isBase64Encoded: true });
    expect(lastEvent()?.requestContext.authorizer).toBeUndefined();
  });

  it('joins repeated headers with commas', async () => {
    const { request } = await import('node:http');
    await new Promise<void>((resolve, reject) => {
      const url = new URL(`${api.url}/open/a/b`);
      const req = request(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'GET' },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.setHeader('x-multi', ['one', 'two']);
      req.end();
    });
    expect(lastEvent()?.headers['x-multi']).toBe('one,two');
    expect(lastEvent()?.pathParameters).toEqual({ proxy: 'a/b' });
  });

  it.each([
    ['no token', undefined],
    ['a malformed token', 'Bearer not-a-jwt'],
  ])('answers 401 Unauthorized without invoking the function for %s', async (_what, authorization) => {
    const before = stub.events.length;
    const response = await fetch(`${api.url}/v1/drafts/d1`, {
      headers: authorization === undefined ? {} : { authorization },
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ message: 'Unauthorized' });
    expect(response.headers.get('apigw-requestid')).not.toBeNull();
    expect(stub.events.length).toBe(before);
  });

  it.each([
    ['a token of another issuer', () => other.mintToken({ workspace: 'acme', roles: ['editor'] })],
    [
      'a token for another audience',
      () => issuer.mintToken({ workspace: 'acme', roles: ['editor'], audience: 'x' }),
    ],
    [
      'an expired token',
      () =>
        issuer.mintToken({
          workspace: 'acme',
          roles: ['editor'],
          issuedAtSeconds: Math.floor(Date.now() / 1000) - 7200,
        }),
    ],
  ])('refuses %s with 401 and never invokes the function', async (_what, mint) => {
    const before = stub.events.length;
    const response = await fetch(`${api.url}/v1/drafts/d1`, {
      headers: { authorization: `Bearer ${await mint()}` },
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ message: 'Unauthorized' });
    expect(response.headers.get('www-authenticate')).toContain('invalid_token');
    expect(stub.events.length).toBe(before);
  });

  it('refuses a token without exp with 401 and never invokes the function', async () => {
    // Prepare
    const claims = { 'custom:workspace': 'acme', 'cognito:groups': ['editor'] };
    const withExp = await bare.sign({ ...claims, exp: Math.floor(Date.now() / 1000) + 300 });
    const withoutExp = await bare.sign(claims);
    const before = stub.events.length;

    // Act
    const refused = await fetch(`${api.url}/bare/d1`, { headers: { authorization: `Bearer ${withoutExp}` } });
    const refusedEvents = stub.events.length;
    const accepted = await fetch(`${api.url}/bare/d1`, { headers: { authorization: `Bearer ${withExp}` } });

    // Assess
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ message: 'Unauthorized' });
    expect(refused.headers.get('www-authenticate')).toContain('invalid_token');
    expect(refusedEvents).toBe(before);
    expect(accepted.status).toBe(200);
  });

  it('answers 404 Not Found when no route matches', async () => {
    const before = stub.events.length;
    for (const [method, path] of [
      ['GET', '/nowhere'],
      ['DELETE', '/plain'],
      ['GET', '/open'],
    ] as const) {
      const response = await fetch(`${api.url}${path}`, { method });
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ message: 'Not Found' });
    }
    expect(stub.events.length).toBe(before);
  });

  it('answers a non-structured function result as a 200 application/json body', async () => {
    const response = await fetch(`${api.url}/plain`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ hello: 'world' });
  });

  it('decodes a base64 body and sends each cookie as its own set-cookie header', async () => {
    const response = await fetch(`${api.url}/binary`);
    expect(response.status).toBe(201);
    expect(Buffer.from(await response.arrayBuffer())).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(response.headers.getSetCookie()).toEqual(['session=abc; HttpOnly', 'theme=dark']);
  });

  it.each([
    ['a function error', 500, '/throws', 'Internal Server Error'],
    ['a malformed structured response', 500, '/malformed', 'Internal Server Error'],
    ['an unknown function', 500, '/missing', 'Internal Server Error'],
    ['a throttled invoke', 503, '/throttled', 'Service Unavailable'],
    ['an integration timeout', 503, '/slow', 'Service Unavailable'],
  ])('answers %s with %i', async (_what, status, path, message) => {
    const response = await fetch(`${api.url}${path}`);
    expect(response.status).toBe(status);
    expect(await response.json()).toEqual({ message });
  });

  it('refuses a body over 10 MB with 413 without invoking the function', async () => {
    const before = stub.events.length;
    const response = await fetch(`${api.url}/upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(10 * 1024 * 1024 + 1),
    });
    expect(response.status).toBe(413);
    expect(stub.events.length).toBe(before);
  });

  it.each([
    ['with a declared length', true],
    ['chunked', false],
  ])(
    'answers a 12 MB body streamed %s with a 413 the client reads, invokes nothing, and serves the next request',
    async (_how, declareLength) => {
      // Prepare
      const before = stub.events.length;

      // Act
      const upload = await streamUpload(`${api.url}/upload`, 12 * 1024 * 1024, declareLength);
      const invoked = stub.events.length - before;
      const next = await fetch(`${api.url}/plain`);

      // Assess
      expect(upload.writeError).toBeUndefined();
      expect(upload.status).toBe(413);
      expect(JSON.parse(upload.body)).toEqual({ message: 'Request Entity Too Large' });
      expect(invoked).toBe(0);
      expect(next.status).toBe(200);
    },
  );

  it.each([
    ['just over 10240 bytes', 10_240],
    ['over Node parser default of 16 KB', 20_000],
    ['over 64 KB, beyond the emulator parser', 100_000],
  ])(
    'answers a request line and headers %s with 431 in API Gateway shape, invoking nothing',
    async (_what, headBytes) => {
      // Prepare
      const before = stub.events.length;
      const { port } = new URL(api.url);
      const line = 'GET /plain HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n';
      const padding = `x-padding: ${'p'.repeat(headBytes - line.length)}\r\n`;

      // Act
      const answer = await rawExchange(Number(port), `${line}${padding}\r\n`);
      const invoked = stub.events.length - before;
      const next = await fetch(`${api.url}/plain`);

      // Assess
      expect(answer).toMatch(/^HTTP\/1\.1 431 /);
      expect(answer.slice(answer.indexOf('\r\n\r\n') + 4)).toBe(
        JSON.stringify({ message: 'Request Header Fields Too Large' }),
      );
      expect(answer.toLowerCase()).toContain('apigw-requestid:');
      expect(invoked).toBe(0);
      expect(next.status).toBe(200);
    },
  );

  it('serves a request line and headers of just under 10240 bytes', async () => {
    const response = await fetch(`${api.url}/plain`, { headers: { 'x-padding': 'p'.repeat(9_800) } });
    expect(response.status).toBe(200);
  });

  it('serves a named stage under /<stage> and reports it in the event', async () => {
    expect(staged.url).toMatch(/\/dev$/);
    const response = await fetch(`${staged.url}/any/path?x=1`);
    expect(response.status).toBe(200);
    expect(lastEvent()).toMatchObject({
      routeKey: '$default',
      rawPath: '/dev/any/path',
      requestContext: { stage: 'dev', routeKey: '$default' },
    });
    expect(lastEvent()?.pathParameters).toBeUndefined();
    const outside = await fetch(`${staged.url.replace(/\/dev$/, '')}/any/path`);
    expect(outside.status).toBe(404);
  });

  it.each([
    ['a malformed route key', [{ routeKey: 'GET pets', functionName: 'f' }]],
    [
      'a duplicate route key',
      [
        { routeKey: 'GET /a', functionName: 'f' },
        { routeKey: 'GET /a', functionName: 'g' },
      ],
    ],
    [
      'an authorizer without audience',
      [{ routeKey: 'GET /a', functionName: 'f', authorizer: { issuer: 'http://x', audience: [] } }],
    ],
  ])('refuses to start with %s', async (_what, routes) => {
    await expect(startHttpApi({ lambdaEndpoint: 'http://127.0.0.1:1', routes })).rejects.toBeInstanceOf(
      InvalidRouteError,
    );
  });
});

describe('local HTTP API in front of the Lambda emulator', () => {
  let emulator: RunningLambdaEmulator;
  let lambda: LambdaClient;
  let issuer: LocalIssuer;
  let api: RunningHttpApi;

  const handler = `export const handler = async (event) => {
    if (event.rawPath === '/fail') throw new Error('handler failed');
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ claims: event.requestContext.authorizer?.jwt?.claims ?? null, id: event.pathParameters?.id ?? null }),
    };
  };`;

  async function createFunction(name: string): Promise<void> {
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: name,
        Runtime: 'nodejs24.x',
        Role: `arn:aws:iam::${localAccountId}:role/greco-test`,
        Handler: 'index.handler',
        Code: { ZipFile: zipSync({ 'index.mjs': strToU8(handler) }) },
      }),
    );
    await waitUntilFunctionActiveV2(
      { client: lambda, maxWaitTime: 20, minDelay: 1, maxDelay: 1 },
      { FunctionName: name },
    );
  }

  beforeAll(async () => {
    emulator = await startLambdaEmulator({ controlPlaneRateLimit: 0, transitionMs: 0, logSink: () => {} });
    lambda = new LambdaClient({
      endpoint: emulator.endpoint,
      region: localRegion,
      credentials: localCredentials,
    });
    issuer = await startLocalIssuer();
    await createFunction('api-handler');
    await createFunction('api-suspended');
    await lambda.send(
      new PutFunctionConcurrencyCommand({ FunctionName: 'api-suspended', ReservedConcurrentExecutions: 0 }),
    );
    const authorizer = { issuer: issuer.issuer, audience: ['greco-local'] };
    api = await startHttpApi({
      lambdaEndpoint: emulator.endpoint,
      routes: [
        { routeKey: 'GET /v1/things/{id}', functionName: 'api-handler', authorizer },
        { routeKey: 'GET /fail', functionName: 'api-handler' },
        { routeKey: 'POST /upload', functionName: 'api-handler' },
        { routeKey: 'GET /suspended', functionName: 'api-suspended' },
      ],
    });
  });

  afterAll(async () => {
    await api?.close();
    lambda?.destroy();
    await emulator?.close();
    await issuer?.close();
  });

  it('runs a real function with the verified claims', async () => {
    const token = await issuer.mintToken({ workspace: 'acme', roles: ['operator'] });
    const response = await fetch(`${api.url}/v1/things/t-1`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { claims: Record<string, string>; id: string };
    expect(body.id).toBe('t-1');
    expect(body.claims).toMatchObject({ 'custom:workspace': 'acme', 'cognito:groups': '[operator]' });
  });

  it('answers 500 when the function throws', async () => {
    const response = await fetch(`${api.url}/fail`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ message: 'Internal Server Error' });
  });

  it.each([
    ['a 7 MB JSON body', 'application/json', JSON.stringify('a'.repeat(7 * 1024 * 1024))],
    [
      'a 5 MB binary body (6.7 MB once base64-encoded)',
      'application/octet-stream',
      Buffer.alloc(5 * 1024 * 1024),
    ],
  ])(
    "answers %s, over Lambda's 6 MB invoke payload, with 500 without invoking, and the next request normally",
    async (_what, contentType, body) => {
      // Prepare
      const token = await issuer.mintToken({ workspace: 'acme', roles: ['operator'] });
      const invokesBefore = emulator.stats().operations.Invoke ?? 0;

      // Act
      const tooLarge = await fetch(`${api.url}/upload`, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body,
      });
      const invokesAfter = emulator.stats().operations.Invoke ?? 0;
      const next = await fetch(`${api.url}/v1/things/t-2`, { headers: { authorization: `Bearer ${token}` } });

      // Assess
      expect(tooLarge.status).toBe(500);
      expect(await tooLarge.json()).toEqual({ message: 'Internal Server Error' });
      expect(invokesAfter).toBe(invokesBefore);
      expect(next.status).toBe(200);
      expect(((await next.json()) as { id: string }).id).toBe('t-2');
    },
  );

  it('answers 503 when the function is throttled (reserved concurrency 0)', async () => {
    const response = await fetch(`${api.url}/suspended`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ message: 'Service Unavailable' });
  });
});

/** Writes `head` on a new connection and reads everything until the server closes it (never rejects on reset). */
function rawExchange(port: number, head: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(head));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('error', (error) => resolve(`${text}socket error: ${error.message}`));
    socket.on('close', () => resolve(text));
  });
}
