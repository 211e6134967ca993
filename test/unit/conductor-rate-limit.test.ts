import { Readable } from 'node:stream';
import { GetAccountSettingsCommand, GetFunctionCommand, InvokeCommand } from '@aws-sdk/client-lambda';
import { describe, expect, it } from 'vitest';
import {
  createConductorLambdaClient,
  installRateLimit,
  RateLimiter,
  rateLimitersOf,
} from '../../core/conductor/kit/rate-limit.ts';

/** A clock that only moves when the limiter sleeps, recording each sleep. */
function fakeTime() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
    sleep: async (ms: number) => {
      sleeps.push(ms);
    },
  };
}

/** A request handler that answers from a list of (status, body) without any network. */
function scriptedHandler(answers: { status: number; body: unknown; errorType?: string }[]) {
  const seen: string[] = [];
  return {
    seen,
    handler: {
      async handle(request: { path: string }) {
        seen.push(request.path);
        const answer = answers.shift() ?? { status: 200, body: {} };
        return {
          response: {
            statusCode: answer.status,
            reason: '',
            headers: {
              'content-type': 'application/json',
              ...(answer.errorType === undefined ? {} : { 'x-amzn-errortype': answer.errorType }),
            },
            body: Readable.from([Buffer.from(JSON.stringify(answer.body))]),
          },
        };
      },
      updateHttpClientConfig() {},
      httpHandlerConfigs: () => ({}),
    },
  };
}

describe('RateLimiter', () => {
  it('spaces calls 1000 / requestsPerSecond ms apart with a burst of 1', async () => {
    const time = fakeTime();
    const limiter = new RateLimiter(10, { now: time.now, sleep: time.sleep });

    await Promise.all([limiter.acquire(), limiter.acquire(), limiter.acquire()]);

    expect(time.sleeps).toEqual([100, 200]);
    expect(limiter.acquired).toBe(3);
  });

  it('lets a burst through at once, then paces, and recovers after an idle spell', async () => {
    const time = fakeTime();
    const limiter = new RateLimiter(4, { burst: 2, now: time.now, sleep: time.sleep });

    await Promise.all([limiter.acquire(), limiter.acquire(), limiter.acquire()]);
    expect(time.sleeps).toEqual([250]);
    time.advance(10_000);
    await Promise.all([limiter.acquire(), limiter.acquire()]);
    expect(time.sleeps).toEqual([250]);
  });

  it('never waits at rate 0 (unlimited)', async () => {
    const time = fakeTime();
    const limiter = new RateLimiter(0, { now: time.now, sleep: time.sleep });
    await Promise.all(Array.from({ length: 100 }, () => limiter.acquire()));
    expect(time.sleeps).toEqual([]);
  });

  it.each([
    [-1, 1],
    [Number.NaN, 1],
    [10, 0],
    [10, 1.5],
  ])('refuses rate %s with burst %s', (rate, burst) => {
    expect(() => new RateLimiter(rate, { burst })).toThrow(RangeError);
  });
});

describe('installRateLimit and the conductor client', () => {
  it('waits for a slot on every attempt, retries throttles, and lets Invoke and GetFunction pass on their own budgets', async () => {
    const script = scriptedHandler([
      {
        status: 429,
        body: { message: 'Rate exceeded', Reason: 'CallerRateLimitExceeded' },
        errorType: 'TooManyRequestsException',
      },
      { status: 500, body: { message: 'boom' }, errorType: 'ServiceException' },
      { status: 200, body: { AccountLimit: { UnreservedConcurrentExecutions: 900 } } },
      { status: 200, body: { Configuration: { FunctionName: 'f' } } },
      { status: 200, body: {} },
    ]);
    const lambda = createConductorLambdaClient({
      requestsPerSecond: 1000,
      baseDelayMs: 1,
      maxDelayMs: 2,
      clientConfig: {
        region: 'us-east-1',
        credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
        endpoint: 'http://127.0.0.1:9',
        requestHandler: script.handler,
      },
    });
    const limiters = rateLimitersOf(lambda);
    if (limiters === undefined) throw new Error('no limiters installed');

    const settings = await lambda.send(new GetAccountSettingsCommand({}));
    await lambda.send(new GetFunctionCommand({ FunctionName: 'f' }));
    await lambda.send(new InvokeCommand({ FunctionName: 'f' }));

    expect(settings.AccountLimit?.UnreservedConcurrentExecutions).toBe(900);
    expect(script.seen).toHaveLength(5);
    expect(limiters.controlPlane.acquired).toBe(3);
    expect(limiters.getFunction.acquired).toBe(1);
    expect(
      installRateLimit(lambda, { controlPlane: new RateLimiter(1), getFunction: new RateLimiter(1) }),
    ).toBe(limiters);
    lambda.destroy();
  });

  it('gives up a call that keeps failing with a client error at once', async () => {
    const script = scriptedHandler([
      { status: 400, body: { message: 'bad' }, errorType: 'InvalidParameterValueException' },
    ]);
    const lambda = createConductorLambdaClient({
      requestsPerSecond: 0,
      clientConfig: {
        region: 'us-east-1',
        credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
        endpoint: 'http://127.0.0.1:9',
        requestHandler: script.handler,
      },
    });
    await expect(lambda.send(new GetAccountSettingsCommand({}))).rejects.toMatchObject({
      name: 'InvalidParameterValueException',
    });
    expect(script.seen).toHaveLength(1);
    lambda.destroy();
  });
});
