import type { RetryErrorInfo, SdkError } from '@smithy/types';
import { afterEach, describe, expect, it } from 'vitest';
import { LambdaCallError, LambdaUnavailableError } from '../../domain/concurrency/errors.ts';
import { readFunction } from '../../domain/concurrency/lambda.ts';
import { HotPathRetryStrategy } from '../../hotpath/retry.ts';
import { hotPathLambdaClient, sendLambdaError, startTestServer, type TestServer } from './hotpath-support.ts';

const throttling: RetryErrorInfo = { errorType: 'THROTTLING' };

describe('HotPathRetryStrategy', () => {
  it('waits a full-jitter delay: random(0, min(cap, base * 2^n))', async () => {
    // Prepare: random() at its top, so each delay is its ceiling.
    const strategy = new HotPathRetryStrategy({
      baseDelayMs: 20,
      maxDelayMs: 200,
      deadlineMs: 10_000,
      random: () => 0.999999,
      now: () => 0,
    });
    // Act
    let token = await strategy.acquireInitialRetryToken('');
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      token = await strategy.refreshRetryTokenForRetry(token, throttling);
      delays.push(token.getRetryDelay());
    }
    // Assess
    expect(delays).toEqual([19, 39, 79, 159, 199, 199]);
  });

  it('draws the delay uniformly from zero', async () => {
    const strategy = new HotPathRetryStrategy({ random: () => 0, now: () => 0 });
    const token = await strategy.refreshRetryTokenForRetry(
      await strategy.acquireInitialRetryToken(''),
      throttling,
    );
    expect(token.getRetryDelay()).toBe(0);
    expect(token.getRetryCount()).toBe(1);
  });

  it('refuses a retry whose wait would end past the deadline, counted from the first attempt', async () => {
    let clock = 1_000;
    const strategy = new HotPathRetryStrategy({ deadlineMs: 100, random: () => 0.5, now: () => clock });
    const first = await strategy.acquireInitialRetryToken('');
    clock = 1_090; // 90 ms spent; the next wait is 10 ms (half of 20): ends at exactly 100 ms
    const second = await strategy.refreshRetryTokenForRetry(first, throttling);
    clock = 1_095; // next wait 20 ms would end at 115 ms
    await expect(strategy.refreshRetryTokenForRetry(second, throttling)).rejects.toThrow(
      /deadline of 100 ms/,
    );
  });

  it.each(['CLIENT_ERROR', 'SERVER_ERROR'] as const)('does not retry %s errors', async (errorType) => {
    const strategy = new HotPathRetryStrategy();
    await expect(
      strategy.refreshRetryTokenForRetry(await strategy.acquireInitialRetryToken(''), { errorType }),
    ).rejects.toThrow(`${errorType} errors are not retried`);
  });

  it('retries ResourceConflictException (an update in progress) like a throttle', async () => {
    const strategy = new HotPathRetryStrategy({ random: () => 0, now: () => 0 });
    const conflict: SdkError = { name: 'ResourceConflictException', message: 'An update is in progress' };
    const token = await strategy.refreshRetryTokenForRetry(await strategy.acquireInitialRetryToken(''), {
      errorType: 'CLIENT_ERROR',
      error: conflict,
    });
    expect(token.getRetryCount()).toBe(1);
  });

  it.each([
    [{ baseDelayMs: -1 }, /baseDelayMs must be a finite number/],
    [{ deadlineMs: Number.NaN }, /deadlineMs must be a finite number/],
    [{ baseDelayMs: 50, maxDelayMs: 10 }, /maxDelayMs \(10\) must not be smaller than baseDelayMs \(50\)/],
  ])('rejects options %j', (options, message) => {
    expect(() => new HotPathRetryStrategy(options)).toThrow(message);
  });
});

describe('a Lambda client with the hot-path strategy', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const functionBody = JSON.stringify({
    Configuration: {
      FunctionName: 'greco-ws-fn',
      FunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:greco-ws-fn',
    },
    Tags: { 'greco:managed': 'true' },
    Concurrency: { ReservedConcurrentExecutions: 3 },
  });

  it('retries TooManyRequestsException until Lambda answers', async () => {
    // Prepare: the account's 15 requests/s are used up for the first three attempts.
    let attempts = 0;
    server = await startTestServer((_req, res) => {
      attempts += 1;
      if (attempts <= 3) return sendLambdaError(res, 429, 'TooManyRequestsException', 'Rate exceeded');
      res.writeHead(200, { 'content-type': 'application/json' }).end(functionBody);
    });
    const lambda = hotPathLambdaClient(server.url, { deadlineMs: 5_000 });
    // Act
    const fn = await readFunction(lambda, 'greco-ws-fn');
    // Assess
    expect(attempts).toBe(4);
    expect(fn).toMatchObject({ functionName: 'greco-ws-fn', reservedConcurrentExecutions: 3 });
  });

  it('gives up at the deadline with a 503 LambdaUnavailableError', async () => {
    server = await startTestServer((_req, res) =>
      sendLambdaError(res, 429, 'TooManyRequestsException', 'Rate exceeded'),
    );
    const lambda = hotPathLambdaClient(server.url, { deadlineMs: 150, baseDelayMs: 20, maxDelayMs: 40 });
    const failure = readFunction(lambda, 'greco-ws-fn');
    await expect(failure).rejects.toBeInstanceOf(LambdaUnavailableError);
    await expect(failure).rejects.toMatchObject({
      status: 503,
      operation: 'GetFunction',
      headers: { 'Retry-After': '1' },
    });
    // At least one retry happened, and no attempt started after the deadline.
    expect(server.requests.length).toBeGreaterThan(1);
  });

  it('retries a ResourceConflictException from Lambda until it clears', async () => {
    let attempts = 0;
    server = await startTestServer((_req, res) => {
      attempts += 1;
      if (attempts <= 2)
        return sendLambdaError(res, 409, 'ResourceConflictException', 'An update is in progress');
      res.writeHead(200, { 'content-type': 'application/json' }).end(functionBody);
    });
    const fn = await readFunction(hotPathLambdaClient(server.url), 'greco-ws-fn');
    expect(attempts).toBe(3);
    expect(fn?.functionArn).toMatch(/function:greco-ws-fn$/);
  });

  it('does not retry a client error and reports it as a 500 LambdaCallError', async () => {
    server = await startTestServer((_req, res) =>
      sendLambdaError(res, 403, 'AccessDeniedException', 'not authorized'),
    );
    const lambda = hotPathLambdaClient(server.url);
    const failure = readFunction(lambda, 'greco-ws-fn');
    await expect(failure).rejects.toBeInstanceOf(LambdaCallError);
    await expect(failure).rejects.toMatchObject({
      status: 500,
      message: /GetFunction failed for greco-ws-fn: AccessDeniedException/,
    });
    expect(server.requests).toHaveLength(1);
  });

  it('reads a missing function as undefined, without retrying', async () => {
    server = await startTestServer((_req, res) =>
      sendLambdaError(res, 404, 'ResourceNotFoundException', 'Function not found'),
    );
    const lambda = hotPathLambdaClient(server.url);
    await expect(readFunction(lambda, 'greco-ws-missing')).resolves.toBeUndefined();
    expect(server.requests).toEqual(['GET /2015-03-31/functions/greco-ws-missing']);
  });
});
