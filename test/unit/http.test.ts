import middy from '@middy/core';
import { describe, expect, it, vi } from 'vitest';
import { ConflictError, ServiceUnavailableError } from '../../core/errors.ts';
import { formatETag, parseIfMatch, requireIfMatch } from '../../core/http/etag.ts';
import { jsonBody, problemJsonOnError, requestContext } from '../../core/http/middlewares.ts';
import { pageOfFunctions } from '../../core/http/paging.ts';
import { jsonResponse } from '../../core/http/responses.ts';
import { dispatch, integerParam } from '../../core/http/router.ts';
import type { ApiRequest, HttpEvent, Routes } from '../../core/http/types.ts';
import { functionName, functionSpec } from '../support/fixtures.ts';
import { type HttpApiEventInit, httpApiEvent, lambdaContext } from '../support/http-api-event.ts';
import { answerOf } from '../support/management-api.ts';

describe('ETags', () => {
  it.each([
    { header: undefined, expected: undefined },
    { header: '*', expected: '*' },
    { header: ' * ', expected: '*' },
    { header: '"3"', expected: [3] },
    { header: '"3", "4"', expected: [3, 4] },
    { header: 'W/"3"', expected: [] },
    { header: 'W/"3", "5"', expected: [5] },
    { header: '"abc"', expected: [] },
    { header: '3', expected: [] },
    { header: '', expected: [] },
  ])('reads If-Match $header as $expected', ({ header, expected }) => {
    expect(parseIfMatch(header)).toEqual(expected);
  });

  it('formats a strong ETag and requires If-Match', () => {
    expect(formatETag(12)).toBe('"12"');
    expect(requireIfMatch({ 'if-match': '"12"' })).toEqual([12]);
    expect(() => requireIfMatch({})).toThrow(expect.objectContaining({ status: 428 }));
  });
});

/** A handler with greco's middlewares over one echo route. */
function echoHandler(
  handle: (request: ApiRequest) => Promise<unknown> = async (r) => r.body,
  maxBytes?: number,
) {
  const routes: Routes = {
    'POST /v1/echo': {
      role: 'editor',
      handle: async (request) => jsonResponse(200, { echoed: await handle(request) }),
    },
    'GET /v1/echo': {
      role: 'viewer',
      handle: async (request) => jsonResponse(200, { echoed: await handle(request) }),
    },
  };
  const logger = { error: vi.fn(), warn: vi.fn() };
  const handler = middy(dispatch(routes))
    .use(problemJsonOnError({ logger }))
    .use(
      requestContext({
        routes,
        claimNames: { workspaceClaim: 'custom:workspace', rolesClaim: 'cognito:groups' },
      }),
    )
    .use(jsonBody(maxBytes === undefined ? {} : { maxBytes }));
  const call = async (init: Partial<HttpApiEventInit> = {}) =>
    answerOf(
      await handler(httpApiEvent({ routeKey: 'POST /v1/echo', ...init }) as HttpEvent, lambdaContext()),
    );
  return { call, logger };
}

describe('jsonBody', () => {
  it('parses a JSON body, also base64-encoded, with a UTF-8 charset', async () => {
    const { call } = echoHandler();
    expect((await call({ body: { a: 1 } })).body).toEqual({ echoed: { a: 1 } });
    expect((await call({ body: { a: 'é' }, base64: true })).body).toEqual({ echoed: { a: 'é' } });
    expect(
      (await call({ body: { a: 2 }, headers: { 'content-type': 'Application/JSON; charset="utf-8"' } })).body,
    ).toEqual({ echoed: { a: 2 } });
  });

  it('leaves requests without a body, and GET bodies, alone', async () => {
    const { call } = echoHandler(async (r) => r.body ?? 'none');
    expect((await call()).body).toEqual({ echoed: 'none' });
    expect((await call({ routeKey: 'GET /v1/echo', body: '{not json' })).body).toEqual({ echoed: 'none' });
  });

  it.each<{ title: string; headers: Record<string, string>; body: string; status: number; field: string }>([
    {
      title: 'no content type',
      headers: { 'content-type': '' },
      body: '{}',
      status: 415,
      field: 'headers.content-type',
    },
    {
      title: 'text/plain',
      headers: { 'content-type': 'text/plain' },
      body: '{}',
      status: 415,
      field: 'headers.content-type',
    },
    {
      title: 'application/json+other charset',
      headers: { 'content-type': 'application/json; charset=utf-16' },
      body: '{}',
      status: 415,
      field: 'headers.content-type',
    },
    { title: 'malformed JSON', headers: {}, body: '{"a":', status: 400, field: 'body' },
    { title: 'trailing garbage', headers: {}, body: '{} x', status: 400, field: 'body' },
    {
      title: 'an oversized body',
      headers: {},
      body: JSON.stringify({ pad: 'x'.repeat(2000) }),
      status: 413,
      field: 'body',
    },
  ])('refuses $title with $status naming $field', async ({ headers, body, status, field }) => {
    const handle = vi.fn(async () => 'ran');
    const { call } = echoHandler(handle, 1000);
    const answer = await call({ body, headers });
    expect(answer.status).toBe(status);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    expect(answer.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    expect(handle).not.toHaveBeenCalled();
  });
});

describe('problemJsonOnError', () => {
  it('answers a greco error with its status, headers and RFC 9457 body', async () => {
    const { call } = echoHandler(async () => {
      throw new ServiceUnavailableError('the config table is unavailable', 7);
    });
    const answer = await call({ requestId: 'req-42' });
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('7');
    expect(answer.body).toEqual({
      type: 'https://greco.dev/problems/service-unavailable',
      title: 'Service unavailable',
      status: 503,
      detail: 'the config table is unavailable',
      instance: '/v1/echo',
      requestId: 'req-42',
    });
  });

  it('keeps extension members of the error', async () => {
    const { call } = echoHandler(async () => {
      throw new ConflictError('busy', { currentEpoch: 3 });
    });
    expect((await call()).body).toMatchObject({ status: 409, currentEpoch: 3 });
  });

  it('answers anything else with a 500 that leaks nothing, and logs it', async () => {
    const { call, logger } = echoHandler(async () => {
      throw new Error('secret connection string postgres://user:pw@db');
    });
    const answer = await call();
    expect(answer.status).toBe(500);
    expect(JSON.stringify(answer.body)).not.toMatch(/secret|postgres/);
    expect(answer.body).toMatchObject({ status: 500, title: 'Internal server error' });
    expect(logger.error).toHaveBeenCalledOnce();
  });

  it('answers middy early timeouts with 503', async () => {
    const { call } = echoHandler(async () => {
      throw Object.assign(new Error('[AbortError]: The operation was aborted.'), { name: 'TimeoutError' });
    });
    const answer = await call();
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('1');
  });
});

describe('requestContext', () => {
  it('checks the role before reading the body', async () => {
    const { call } = echoHandler();
    const answer = await call({ body: '{broken', caller: { roles: ['viewer'] } });
    expect(answer.status).toBe(403);
  });

  it('answers 404 for a route key the group does not have', async () => {
    const { call } = echoHandler();
    expect((await call({ routeKey: 'DELETE /v1/echo' })).status).toBe(404);
  });
});

describe('integerParam', () => {
  it.each([
    { text: undefined, expected: undefined },
    { text: '1', expected: 1 },
    { text: '100', expected: 100 },
  ])('reads $text', ({ text, expected }) => {
    expect(integerParam(text === undefined ? {} : { limit: text }, 'limit', { min: 1, max: 100 })).toBe(
      expected,
    );
  });

  it.each(['0', '101', '1.5', '-1', 'ten', '1e2', ' 5'])('refuses %j', (text) => {
    expect(() => integerParam({ limit: text }, 'limit', { min: 1, max: 100 })).toThrow(
      /limit: must be an integer/,
    );
  });
});

describe('pageOfFunctions', () => {
  const model = Array.from({ length: 10 }, (_, i) => functionSpec(functionName(i)));

  it('returns everything without a limit', () => {
    expect(pageOfFunctions(model, 4)).toEqual({ functions: model });
  });

  it('walks pages by limit and cursor', () => {
    const first = pageOfFunctions(model, 4, { limit: 4 });
    expect(first.functions).toEqual(model.slice(0, 4));
    const second = pageOfFunctions(model, 4, { limit: 4, cursor: first.nextCursor });
    expect(second.functions).toEqual(model.slice(4, 8));
    const third = pageOfFunctions(model, 4, { limit: 4, cursor: second.nextCursor });
    expect(third).toEqual({ functions: model.slice(8) });
  });

  it('cuts pages by size, at least one function each', () => {
    const size = Buffer.byteLength(JSON.stringify(model[0])) + 1;
    const page = pageOfFunctions(model, 1, { maxBytes: size * 3 });
    expect(page.functions).toHaveLength(3);
    expect(pageOfFunctions(model, 1, { maxBytes: 1 }).functions).toHaveLength(1);
  });

  it('refuses a cursor of another version, and one it did not make', () => {
    const first = pageOfFunctions(model, 4, { limit: 2 });
    expect(() => pageOfFunctions(model, 5, { cursor: first.nextCursor })).toThrow(
      expect.objectContaining({ status: 409 }),
    );
    expect(() => pageOfFunctions(model, 4, { cursor: 'garbage' })).toThrow(
      expect.objectContaining({ status: 400 }),
    );
  });
});
