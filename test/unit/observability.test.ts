import middy from '@middy/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { jsonResponse } from '../../core/http/responses.ts';
import type { HttpEvent, Routes } from '../../core/http/types.ts';
import { ControlPlaneMetrics, HotPathMetrics } from '../../domain/metrics.ts';
import { createLogger } from '../../hotpath/log.ts';
import { type HttpApiEventInit, httpApiEvent, lambdaContext } from '../support/http-api-event.ts';

// Each handler module builds its logger and metrics once, at module scope, from its environment,
// as in Lambda, where every function runs in its own process. Here each "function" is a fresh
// module graph (vi.resetModules) loaded under its own environment.

/** Every JSON line written to stdout or stderr while a test runs. */
let lines: Record<string, unknown>[] = [];

beforeEach(() => {
  lines = [];
  for (const stream of [process.stdout, process.stderr]) {
    const realWrite = stream.write.bind(stream);
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      if (!text.startsWith('{')) return realWrite(chunk, ...(rest as []));
      for (const line of text.split('\n'))
        if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      return true;
    });
  }
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

/** A management handler over test routes, loaded as the function named `service`. */
async function loadFunction(service: string) {
  vi.resetModules();
  vi.stubEnv('POWERTOOLS_SERVICE_NAME', service);
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'INFO');
  vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', undefined);
  vi.stubEnv('POWERTOOLS_DEV', 'false');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  const { apiHandler } = await import('../../core/http/api-handler.ts');
  const { logger } = await import('../../core/observability.ts');
  const routes: Routes = {
    'GET /v1/things': {
      role: 'viewer',
      handle: async () => {
        logger.info('route ran');
        return jsonResponse(200, { ok: true });
      },
    },
    'DELETE /v1/things': { role: 'approver', handle: async () => jsonResponse(204, {}) },
    'POST /v1/things': {
      role: 'viewer',
      handle: async () => {
        throw new Error('the disk is on fire');
      },
    },
  };
  const handler = apiHandler(routes);
  let invocation = 0;
  const call = async (init: Partial<HttpApiEventInit> = {}) => {
    invocation += 1;
    return handler(httpApiEvent({ routeKey: 'GET /v1/things', ...init }) as HttpEvent, {
      ...lambdaContext(service),
      awsRequestId: `${service}-invocation-${invocation}`,
    });
  };
  return { call, logger };
}

const messages = (message: string) => lines.filter((line) => line.message === message);

describe('the control plane observability', () => {
  it('logs each function under its own POWERTOOLS_SERVICE_NAME', async () => {
    // Prepare
    const functionsApi = await loadFunction('functions-api');
    const draftsApi = await loadFunction('drafts-api');

    // Act
    await functionsApi.call({ requestId: 'req-functions' });
    await draftsApi.call({ requestId: 'req-drafts' });

    // Assess
    expect(messages('route ran')).toEqual([
      expect.objectContaining({ service: 'functions-api', requestId: 'req-functions' }),
      expect.objectContaining({ service: 'drafts-api', requestId: 'req-drafts' }),
    ]);
    expect(lines.some((line) => line.service === 'greco-api')).toBe(false);
  });

  it("appends a request's id and workspace for that request only, never to the next invocation", async () => {
    // Prepare
    const { call, logger } = await loadFunction('functions-api');

    // Act
    await call({ requestId: 'req-1', caller: { workspace: 'ws-one', roles: ['viewer'] } });
    logger.info('between invocations');
    await call({ requestId: 'req-2', caller: { workspace: 'ws-two', roles: ['viewer'] } });
    await call({ requestId: 'req-3', caller: null });
    logger.info('after a refused request');

    // Assess
    expect(messages('route ran')).toEqual([
      expect.objectContaining({
        requestId: 'req-1',
        workspace: 'ws-one',
        function_request_id: 'functions-api-invocation-1',
      }),
      expect.objectContaining({
        requestId: 'req-2',
        workspace: 'ws-two',
        function_request_id: 'functions-api-invocation-2',
      }),
    ]);
    for (const line of [...messages('between invocations'), ...messages('after a refused request')]) {
      expect(line).not.toHaveProperty('requestId');
      expect(line).not.toHaveProperty('workspace');
    }
    expect(messages('between invocations')).toHaveLength(1);
    expect(messages('after a refused request')).toHaveLength(1);
  });

  it('logs an unexpected error with the request it broke', async () => {
    // Prepare
    const { call } = await loadFunction('drafts-api');

    // Act
    const answer = await call({
      routeKey: 'POST /v1/things',
      requestId: 'req-boom',
      caller: { workspace: 'ws-boom', roles: ['viewer'] },
    });

    // Assess
    expect(answer.statusCode).toBe(500);
    expect(messages('unexpected error')).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        service: 'drafts-api',
        requestId: 'req-boom',
        workspace: 'ws-boom',
        error: expect.objectContaining({ message: 'the disk is on fire' }),
      }),
    ]);
  });

  it.each([
    {
      routeKey: 'GET /v1/things',
      caller: undefined,
      status: 200,
      metric: ControlPlaneMetrics.apiAnswers['2xx'],
    },
    { routeKey: 'GET /v1/things', caller: null, status: 401, metric: ControlPlaneMetrics.apiAnswers['4xx'] },
    {
      routeKey: 'DELETE /v1/things',
      caller: undefined,
      status: 403,
      metric: ControlPlaneMetrics.apiAnswers['4xx'],
    },
    {
      routeKey: 'POST /v1/things',
      caller: undefined,
      status: 500,
      metric: ControlPlaneMetrics.apiAnswers['5xx'],
    },
  ])('counts a $status answer to $routeKey as $metric', async ({ routeKey, caller, status, metric }) => {
    // Prepare
    const { call } = await loadFunction('functions-api');

    // Act
    const answer = await call({ routeKey, ...(caller === undefined ? {} : { caller }) });

    // Assess
    expect(answer.statusCode).toBe(status);
    const metricLines = lines.filter((line) => '_aws' in line);
    expect(metricLines).toEqual([
      expect.objectContaining({
        _aws: expect.objectContaining({
          CloudWatchMetrics: [
            {
              Namespace: ControlPlaneMetrics.namespace,
              Dimensions: [['service']],
              Metrics: [{ Name: metric, Unit: 'Count' }],
            },
          ],
        }),
        service: 'functions-api',
        [metric]: 1,
      }),
    ]);
  });

  it('flushes what a plain handler stores, once per invocation, under its own service', async () => {
    // Prepare
    vi.resetModules();
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'deployment-steps');
    vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'Greco/Test');
    vi.stubEnv('POWERTOOLS_DEV', 'false');
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    const { metrics, MetricUnit, observe, logger } = await import('../../core/observability.ts');
    const handler = middy(async (event: { step: string }) => {
      logger.appendKeys({ step: event.step });
      metrics.addMetric('StepsRun', MetricUnit.Count, 1);
      logger.info('step ran');
      return event.step;
    }).use(observe());

    // Act
    await handler({ step: 'begin' }, { ...lambdaContext('greco-deployment-steps'), awsRequestId: 'i-1' });
    logger.info('between invocations');

    // Assess
    expect(messages('step ran')).toEqual([
      expect.objectContaining({ service: 'deployment-steps', step: 'begin', function_request_id: 'i-1' }),
    ]);
    expect(messages('between invocations')[0]).not.toHaveProperty('step');
    expect(lines.filter((line) => '_aws' in line)).toEqual([
      expect.objectContaining({
        _aws: expect.objectContaining({
          CloudWatchMetrics: [expect.objectContaining({ Namespace: 'Greco/Test' })],
        }),
        service: 'deployment-steps',
        StepsRun: 1,
      }),
    ]);
  });
});

describe("the hot path's logger", () => {
  it('writes the service name from POWERTOOLS_SERVICE_NAME on every line, metrics included', () => {
    // Prepare
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'hotpath-controller');
    const written: Record<string, unknown>[] = [];
    const log = createLogger((line) => written.push(JSON.parse(line) as Record<string, unknown>));

    // Act
    log.info('request', { status: 200 });
    log.metric(HotPathMetrics.eventPublishFailures, 1, 'Count');

    // Assess
    expect(written).toEqual([
      expect.objectContaining({
        level: 'info',
        message: 'request',
        service: 'hotpath-controller',
        status: 200,
      }),
      expect.objectContaining({
        service: 'hotpath-controller',
        _aws: expect.objectContaining({
          CloudWatchMetrics: [expect.objectContaining({ Namespace: HotPathMetrics.namespace })],
        }),
        [HotPathMetrics.eventPublishFailures]: 1,
      }),
    ]);
  });
});
