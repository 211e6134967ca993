import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EnvNames } from '../../domain/env.ts';
import type { FunctionUrlResponse } from '../../hotpath/http.ts';
import {
  type EventBridgeEvent,
  type RunningEventBridgeEmulator,
  startEventBridgeEmulator,
} from '../../local/eventbridge/index.ts';
import { type RunningLambdaEmulator, startLambdaEmulator } from '../../local/lambda/index.ts';
import { localCredentials, localRegion, waitFor } from '../../local/net.ts';
import { type LocalIssuer, startLocalIssuer } from '../../local/oidc.ts';
import {
  createFunction,
  functionUrlEvent,
  hotPathLambdaClient,
  invokeOnce,
  managedTags,
} from './hotpath-support.ts';

// The real handler module, configured only through its environment, against the local Lambda
// emulator, the local OIDC issuer and the local EventBridge.
let lambdaEmulator: RunningLambdaEmulator;
let issuer: LocalIssuer;
let eventBridge: RunningEventBridgeEmulator;
const events: EventBridgeEvent[] = [];
const savedEnv = { ...process.env };
const fetchCalls: string[] = [];
const logLines: Record<string, unknown>[] = [];
let handler: (event: LambdaFunctionURLEvent) => Promise<FunctionUrlResponse>;
let operationsAtImport: Readonly<Record<string, number>>;

beforeAll(async () => {
  lambdaEmulator = await startLambdaEmulator({
    controlPlaneRateLimit: 0,
    transitionMs: 0,
    logSink: () => {},
  });
  issuer = await startLocalIssuer();
  eventBridge = await startEventBridgeEmulator({ logSink: () => {} });
  eventBridge.subscribe((event) => events.push(event));
  const setup = new EventBridgeClient({
    endpoint: eventBridge.endpoint,
    region: localRegion,
    credentials: localCredentials,
  });
  await setup.send(new CreateEventBusCommand({ Name: 'greco' }));
  setup.destroy();

  Object.assign(process.env, {
    [EnvNames.managedPrefix]: 'greco',
    [EnvNames.jwtIssuer]: issuer.issuer,
    [EnvNames.jwtAudience]: issuer.audience,
    [EnvNames.eventBusName]: 'greco',
    AWS_ENDPOINT_URL_LAMBDA: lambdaEmulator.endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.endpoint,
    AWS_REGION: localRegion,
    AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
  });
  // jose fetches the key set with the global fetch: count its calls.
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
    fetchCalls.push(String(input instanceof Request ? input.url : input));
    return realFetch(input, init);
  });
  const realWrite = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    if (text.startsWith('{"level"')) {
      logLines.push(JSON.parse(text) as Record<string, unknown>);
      return true;
    }
    return realWrite(chunk, ...(rest as []));
  });

  const before = lambdaEmulator.stats().operations;
  ({ handler } = await import('../../lambdas/hotpath-controller/index.ts'));
  operationsAtImport = diff(lambdaEmulator.stats().operations, before);
});

afterAll(async () => {
  vi.restoreAllMocks();
  process.env = savedEnv;
  await eventBridge?.close();
  await issuer?.close();
  await lambdaEmulator?.close();
});

function diff(
  after: Readonly<Record<string, number>>,
  before: Readonly<Record<string, number>>,
): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([op, n]) => [op, n - (before[op] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );
}

describe('the hot-path controller handler', () => {
  it('initialises without any network call', () => {
    expect(operationsAtImport).toEqual({});
    expect(fetchCalls).toEqual([]);
    expect(events).toEqual([]);
  });

  it('suspends and starts a function end to end, publishing to the bus, fetching the keys once', async () => {
    // Prepare
    const admin = hotPathLambdaClient(lambdaEmulator.endpoint);
    const functionArn = await createFunction(admin, {
      functionName: 'greco-acme-api',
      tags: managedTags('acme', 'api', 2),
      reservedConcurrency: 2,
    });
    admin.destroy();
    const authorization = `Bearer ${await issuer.mintToken({ workspace: 'acme', roles: ['operator'], subject: 'ops-1' })}`;

    // Act
    const suspended = await handler(
      functionUrlEvent({
        method: 'POST',
        path: '/v1/functions/api/suspend',
        authorization,
        requestId: 'r-1',
      }),
    );
    const state = await handler(
      functionUrlEvent({ method: 'GET', path: '/v1/functions/api', authorization }),
    );
    const invokedWhileSuspended = await invokeOnce(lambdaEmulator.endpoint, 'greco-acme-api');
    const started = await handler(
      functionUrlEvent({ method: 'POST', path: '/v1/functions/api/start', authorization, requestId: 'r-2' }),
    );

    // Assess
    expect(suspended.statusCode).toBe(200);
    expect(JSON.parse(state.body)).toMatchObject({
      state: 'suspended',
      currentConcurrency: 0,
      reservedConcurrency: 2,
    });
    expect(invokedWhileSuspended).toBe('TooManyRequestsException');
    expect(JSON.parse(started.body)).toMatchObject({ state: 'running', currentConcurrency: 2 });
    expect(await invokeOnce(lambdaEmulator.endpoint, 'greco-acme-api')).toBe('ok');
    expect(fetchCalls).toEqual([issuer.jwksUri]);
    await waitFor(() => events.length >= 2, { what: 'two hot-path events on the bus' });
    expect(events.map((e) => [e.source, e['detail-type'], e.resources])).toEqual([
      ['greco.hotpath', 'Function Suspended', [functionArn]],
      ['greco.hotpath', 'Function Started', [functionArn]],
    ]);
    expect(events[0]?.detail).toMatchObject({
      workspace: 'acme',
      name: 'api',
      actor: 'ops-1',
      requestId: 'r-1',
    });
    const requestLines = logLines.filter((line) => line.message === 'request');
    expect(requestLines.map((line) => [line.verb, line.status])).toEqual([
      ['suspend', 200],
      ['state', 200],
      ['start', 200],
    ]);
    for (const line of requestLines) {
      expect(line.lambdaApiCalls).toBeGreaterThan(0);
      expect(line.lambdaApiMs).toBeLessThanOrEqual(line.durationMs as number);
    }
  });
});
