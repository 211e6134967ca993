import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTokenVerifier } from '../../hotpath/auth.ts';
import { createEventPublisher, type HotPathEventPublisher } from '../../hotpath/events.ts';
import {
  type FunctionUrlResponse,
  type HotPathDependencies,
  handleHotPathRequest,
} from '../../hotpath/http.ts';
import { trackApiTime } from '../../hotpath/timing.ts';
import { type RunningLambdaEmulator, startLambdaEmulator } from '../../local/lambda/index.ts';
import { localCredentials, localRegion } from '../../local/net.ts';
import {
  createFunction,
  functionUrlEvent,
  hotPathLambdaClient,
  invokeOnce,
  managedTags,
  memoryLogger,
  recordOperations,
  startTestIssuer,
  startTestServer,
  type TestIssuer,
  type TestServer,
} from './hotpath-support.ts';

const audience = 'greco-client';
let emulator: RunningLambdaEmulator;
let issuer: TestIssuer;
let eventBridge: TestServer;
/** What the EventBridge stub answers next: 'ok', a 500, or no answer at all. */
let eventBridgeMode: 'ok' | 'fail' | 'hang' = 'ok';
const putEvents: {
  Entries: {
    Source: string;
    DetailType: string;
    EventBusName: string;
    Resources: string[];
    Detail: string;
  }[];
}[] = [];
let lambda: LambdaClient;
let operations: string[];
let sequence = 0;

beforeAll(async () => {
  emulator = await startLambdaEmulator({ controlPlaneRateLimit: 0, transitionMs: 0, logSink: () => {} });
  issuer = await startTestIssuer();
  eventBridge = await startTestServer((req, res, body) => {
    if (req.headers['x-amz-target'] !== 'AWSEvents.PutEvents') {
      res.writeHead(400).end();
      return;
    }
    if (eventBridgeMode === 'hang') return; // never answers; closeServer drops the socket
    if (eventBridgeMode === 'fail') {
      res
        .writeHead(500, { 'content-type': 'application/x-amz-json-1.1' })
        .end(JSON.stringify({ __type: 'InternalException', message: 'boom' }));
      return;
    }
    putEvents.push(JSON.parse(body.toString()));
    res
      .writeHead(200, { 'content-type': 'application/x-amz-json-1.1' })
      .end(JSON.stringify({ FailedEntryCount: 0, Entries: [{ EventId: `e-${putEvents.length}` }] }));
  });
});

afterAll(async () => {
  await eventBridge?.close();
  await issuer?.close();
  await emulator?.close();
});

beforeEach(() => {
  eventBridgeMode = 'ok';
  putEvents.length = 0;
  lambda = hotPathLambdaClient(emulator.endpoint);
  operations = recordOperations(lambda);
});

function dependencies(
  overrides: Partial<Omit<HotPathDependencies, 'log'>> = {},
): HotPathDependencies & { log: ReturnType<typeof memoryLogger> } {
  const log = memoryLogger();
  const events: HotPathEventPublisher = createEventPublisher(
    new EventBridgeClient({
      endpoint: eventBridge.url,
      region: localRegion,
      credentials: localCredentials,
      maxAttempts: 1,
    }),
    { eventBusName: 'greco', log, timeoutMs: 200 },
  );
  return {
    lambda,
    verifyToken: createTokenVerifier({
      issuer: issuer.issuer,
      audience: [audience],
      workspaceClaim: 'custom:workspace',
      rolesClaim: 'cognito:groups',
    }),
    events,
    log,
    managedPrefix: 'greco',
    lambdaTimer: trackApiTime(lambda),
    ...overrides,
  };
}

async function token(roles: string[], workspace = 'acme'): Promise<string> {
  return `Bearer ${await issuer.sign({ sub: 'user-1', aud: audience, 'custom:workspace': workspace, 'cognito:groups': roles })}`;
}

/** A managed function of `acme` with reserved concurrency 5. */
async function acmeFunction(): Promise<{ name: string; functionName: string; functionArn: string }> {
  sequence += 1;
  const name = `web-${sequence}`;
  const functionName = `greco-acme-${name}`;
  const functionArn = await createFunction(lambda, {
    functionName,
    tags: managedTags('acme', name, 5),
    reservedConcurrency: 5,
  });
  operations.length = 0;
  return { name, functionName, functionArn };
}

async function request(
  method: string,
  path: string,
  authorization: string | undefined,
  deps = dependencies(),
): Promise<FunctionUrlResponse & { json: Record<string, unknown> }> {
  const response = await handleHotPathRequest(
    functionUrlEvent({
      method,
      path,
      ...(authorization === undefined ? {} : { authorization }),
      requestId: 'req-1',
    }),
    deps,
  );
  return { ...response, json: JSON.parse(response.body) as Record<string, unknown> };
}

describe('an operator', () => {
  it('reads the state of a function', async () => {
    const fn = await acmeFunction();
    const response = await request('GET', `/v1/functions/${fn.name}`, await token(['operator']));
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.json).toEqual({
      name: fn.name,
      functionName: fn.functionName,
      state: 'running',
      reservedConcurrency: 5,
      currentConcurrency: 5,
    });
  });

  it('suspends (invocations answer 429) and starts (invocations work), with one event each', async () => {
    // Prepare
    const fn = await acmeFunction();
    const auth = await token(['operator']);

    // Act: suspend
    const suspended = await request('POST', `/v1/functions/${fn.name}/suspend`, auth);

    // Assess
    expect(suspended.statusCode).toBe(200);
    expect(suspended.json).toMatchObject({
      state: 'suspended',
      currentConcurrency: 0,
      reservedConcurrency: 5,
    });
    expect(await invokeOnce(emulator.endpoint, fn.functionName)).toBe('TooManyRequestsException');
    expect(putEvents).toHaveLength(1);
    const [entry] = putEvents[0]?.Entries ?? [];
    expect(entry).toMatchObject({
      Source: 'greco.hotpath',
      DetailType: 'Function Suspended',
      EventBusName: 'greco',
      Resources: [fn.functionArn],
    });
    expect(JSON.parse(entry?.Detail ?? '{}')).toEqual({
      workspace: 'acme',
      name: fn.name,
      functionName: fn.functionName,
      state: 'suspended',
      reservedConcurrency: 5,
      currentConcurrency: 0,
      actor: 'user-1',
      requestId: 'req-1',
    });

    // Act: start
    const started = await request('POST', `/v1/functions/${fn.name}/start`, auth);

    // Assess
    expect(started.statusCode).toBe(200);
    expect(started.json).toMatchObject({ state: 'running', currentConcurrency: 5 });
    expect(await invokeOnce(emulator.endpoint, fn.functionName)).toBe('ok');
    expect(putEvents.map((call) => call.Entries[0]?.DetailType)).toEqual([
      'Function Suspended',
      'Function Started',
    ]);
  });

  it('gets 200 and no event for a repeated verb', async () => {
    const fn = await acmeFunction();
    const auth = await token(['operator']);
    await request('POST', `/v1/functions/${fn.name}/suspend`, auth);
    putEvents.length = 0;
    operations.length = 0;

    const again = await request('POST', `/v1/functions/${fn.name}/suspend`, auth);

    expect(again.statusCode).toBe(200);
    expect(again.json).toMatchObject({ state: 'suspended' });
    expect(putEvents).toEqual([]);
    expect(operations).toEqual(['GetFunction']);
  });
});

describe('roles', () => {
  const verbs = [
    ['GET', ''],
    ['POST', '/suspend'],
    ['POST', '/start'],
  ] as const;
  const cases = [['viewer'], ['editor'], ['approver'], ['viewer', 'editor', 'approver'], []].flatMap(
    (roles) => verbs.map(([method, suffix]) => [roles, method, suffix] as const),
  );

  it.each(cases)('%j cannot %s %s: 403 before any Lambda call', async (roles, method, suffix) => {
    const response = await request(method, `/v1/functions/anything${suffix}`, await token([...roles]));
    expect(response.statusCode).toBe(403);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.json).toMatchObject({
      status: 403,
      title: 'Forbidden',
      type: 'https://greco.dev/problems/forbidden',
    });
    expect(operations).toEqual([]);
  });

  it.each(verbs)('an operator can %s %s', async (method, suffix) => {
    const fn = await acmeFunction();
    const response = await request(
      method,
      `/v1/functions/${fn.name}${suffix}`,
      await token(['viewer', 'operator']),
    );
    expect(response.statusCode).toBe(200);
  });
});

describe('workspaces', () => {
  it("answers another workspace's function exactly like a missing one: 404", async () => {
    const fn = await acmeFunction();
    const fromGlobex = await request(
      'POST',
      `/v1/functions/${fn.name}/suspend`,
      await token(['operator'], 'globex'),
    );
    const missing = await request(
      'POST',
      '/v1/functions/no-such-function/suspend',
      await token(['operator'], 'globex'),
    );

    expect(fromGlobex.statusCode).toBe(404);
    expect(fromGlobex.headers['content-type']).toBe('application/problem+json');
    expect(fromGlobex.json).toMatchObject({ status: 404, detail: `function ${fn.name} not found` });
    const { detail: _a, instance: _b, ...shapeA } = fromGlobex.json;
    const { detail: _c, instance: _d, ...shapeB } = missing.json;
    expect(shapeA).toEqual(shapeB);
    expect(operations.filter((op) => op !== 'GetFunction')).toEqual([]);
    expect(await invokeOnce(emulator.endpoint, fn.functionName)).toBe('ok');
  });
});

describe('tokens', () => {
  it.each([
    ['no token', async () => undefined],
    [
      'an expired token',
      async () =>
        `Bearer ${await issuer.sign({ sub: 'u', aud: audience }, { expiresIn: Math.floor(Date.now() / 1000) - 60 })}`,
    ],
    ['another audience', async () => `Bearer ${await issuer.sign({ sub: 'u', aud: 'other' })}`],
    [
      'another issuer',
      async () =>
        `Bearer ${await issuer.sign({ sub: 'u', aud: audience }, { issuer: 'https://evil.example.com' })}`,
    ],
  ])('answers %s with 401 problem+json and touches nothing', async (_case, header) => {
    const response = await request('POST', '/v1/functions/web/suspend', await header());
    expect(response.statusCode).toBe(401);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(response.json).toMatchObject({
      status: 401,
      title: 'Unauthorized',
      instance: '/v1/functions/web/suspend',
    });
    expect(operations).toEqual([]);
  });

  it('answers 503 with Retry-After when the key set cannot be fetched', async () => {
    const deps = dependencies({
      verifyToken: createTokenVerifier({
        issuer: issuer.issuer,
        audience: [audience],
        workspaceClaim: 'custom:workspace',
        rolesClaim: 'cognito:groups',
        jwksUrl: `${eventBridge.url}/no-keys-here`,
      }),
    });
    const response = await request('GET', '/v1/functions/web', await token(['operator']), deps);
    expect(response.statusCode).toBe(503);
    expect(response.headers['Retry-After']).toBe('5');
    expect(response.json).toMatchObject({
      status: 503,
      detail: expect.stringMatching(/key set could not be fetched/),
    });
  });
});

describe('requests', () => {
  it.each([
    ['GET', '/v1/functions/web/suspend', 'POST'],
    ['POST', '/v1/functions/web', 'GET'],
    ['DELETE', '/v1/functions/web/start', 'POST'],
  ])('answers %s %s with 405 and Allow: %s', async (method, path, allow) => {
    const response = await request(method, path, await token(['operator']));
    expect(response.statusCode).toBe(405);
    expect(response.headers.Allow).toBe(allow);
    expect(operations).toEqual([]);
  });

  it.each(['/', '/v1/functions', '/v1/functions/web/restart', '/v2/functions/web'])(
    'answers %s with 404',
    async (path) => {
      const response = await request('GET', path, await token(['operator']));
      expect(response.statusCode).toBe(404);
      expect(operations).toEqual([]);
    },
  );

  it('answers a name Lambda cannot hold with 400 naming the field', async () => {
    const response = await request('POST', '/v1/functions/a%20b/suspend', await token(['operator']));
    expect(response.statusCode).toBe(400);
    expect(response.json).toMatchObject({ status: 400, errors: [{ field: 'name' }] });
    expect(operations).toEqual([]);
  });

  it('answers 503 with Retry-After when Lambda throttles past the deadline', async () => {
    const fn = await acmeFunction();
    const throttled = hotPathLambdaClient(emulator.endpoint, { deadlineMs: 100 });
    emulator.setFaults({ throttleRate: 1 });
    try {
      const response = await request(
        'POST',
        `/v1/functions/${fn.name}/suspend`,
        await token(['operator']),
        dependencies({ lambda: throttled }),
      );
      expect(response.statusCode).toBe(503);
      expect(response.headers['Retry-After']).toBe('1');
      expect(response.json).toMatchObject({ status: 503, title: 'Service unavailable' });
    } finally {
      emulator.setFaults({});
      throttled.destroy();
    }
  });

  it('answers an unexpected failure with 500 without internals, and logs it', async () => {
    const deps = dependencies({
      verifyToken: async () => {
        throw new TypeError('secret internal detail');
      },
    });
    const response = await request('GET', '/v1/functions/web', 'Bearer x', deps);
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('secret internal detail');
    expect(response.json).toMatchObject({ status: 500, requestId: 'req-1' });
    expect(deps.log.lines).toContainEqual(
      expect.objectContaining({
        level: 'error',
        error: expect.objectContaining({ message: 'secret internal detail' }),
      }),
    );
  });

  it('logs one line per request with its status and its time in Lambda API calls', async () => {
    const fn = await acmeFunction();
    const deps = dependencies();
    await request('POST', `/v1/functions/${fn.name}/suspend`, await token(['operator']), deps);
    const line = deps.log.lines.find((l) => l.message === 'request');
    expect(line).toMatchObject({
      status: 200,
      verb: 'suspend',
      changed: true,
      lambdaApiCalls: 4,
      requestId: 'req-1',
    });
    expect(line?.lambdaApiMs).toEqual(expect.any(Number));
    expect(line?.durationMs).toEqual(expect.any(Number));
  });
});

describe('events are best effort', () => {
  it.each([
    ['EventBridge fails', 'fail'],
    ['EventBridge does not answer', 'hang'],
  ] as const)('the verb succeeds when %s, and the failure is counted', async (_case, mode) => {
    // Prepare
    const fn = await acmeFunction();
    const deps = dependencies();
    eventBridgeMode = mode;
    // Act
    const response = await request(
      'POST',
      `/v1/functions/${fn.name}/suspend`,
      await token(['operator']),
      deps,
    );
    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.json).toMatchObject({ state: 'suspended' });
    expect(await invokeOnce(emulator.endpoint, fn.functionName)).toBe('TooManyRequestsException');
    expect(deps.log.lines).toContainEqual(
      expect.objectContaining({
        metric: 'EventPublishFailures',
        value: 1,
        detailType: 'Function Suspended',
        failuresInThisContainer: 1,
      }),
    );
  });
});
