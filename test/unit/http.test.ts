import type { SFNClient } from '@aws-sdk/client-sfn';
import middy from '@middy/core';
import { describe, expect, it, vi } from 'vitest';
import type { ArtifactStore } from '../../core/artifacts.ts';
import type { DeploymentStore } from '../../core/deployments/store.ts';
import type { DeploymentStores } from '../../core/deployments/transactions.ts';
import { formatETag, parseIfMatch, requireIfMatch } from '../../core/http/etag.ts';
import { jsonBody, problemJsonOnError, requestContext } from '../../core/http/middlewares.ts';
import { pageOfFunctions } from '../../core/http/paging.ts';
import { jsonResponse } from '../../core/http/responses.ts';
import { dispatch, integerParam } from '../../core/http/router.ts';
import { auditRoutes } from '../../core/http/routes/audit.ts';
import { deploymentsRoutes } from '../../core/http/routes/deployments.ts';
import { draftsRoutes } from '../../core/http/routes/drafts.ts';
import { functionsRoutes } from '../../core/http/routes/functions.ts';
import type { ApiRequest, HttpEvent, Routes } from '../../core/http/types.ts';
import type { AuditLog } from '../../core/store/audit.ts';
import type { DraftStore } from '../../core/store/drafts.ts';
import type { LiveModels, SnapshotStore } from '../../core/store/snapshots.ts';
import { ConflictError, ServiceUnavailableError } from '../../domain/errors.ts';
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

  it('accepts the same member name in different objects, and names that look like values', async () => {
    const { call } = echoHandler();
    const body =
      '{"a":{"a":1},"b":[{"a":2},{"a":3}],"c":"a","d":["a","a"],"e":{},"f":"\\ud83d\\ude00 \\\\ud800"}';
    expect((await call({ body, headers: { 'content-encoding': 'identity' } })).body).toEqual({
      echoed: JSON.parse(body),
    });
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
    {
      title: 'a gzip content-encoding',
      headers: { 'content-encoding': 'gzip' },
      body: '{}',
      status: 415,
      field: 'headers.content-encoding',
    },
    { title: 'a duplicate member', headers: {}, body: '{"a":1,"a":2}', status: 400, field: 'body' },
    {
      title: 'a duplicate member spelled with an escape, deep inside',
      headers: {},
      body: '{"x":[{"s":"\\"{","b":{"c":1,"\\u0063":2}}]}',
      status: 400,
      field: 'body',
    },
    {
      title: 'an unpaired high surrogate',
      headers: {},
      body: '{"a":"x\\ud800"}',
      status: 400,
      field: 'body',
    },
    {
      title: 'an unpaired low surrogate in a name',
      headers: {},
      body: '{"\\uDC00":1}',
      status: 400,
      field: 'body',
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

/** A dependency whose every method fails the test: the route reached I/O. */
function noIo<T>(what: string): T {
  return new Proxy({} as object, {
    get: (_target, property) => {
      if (property === 'then') return undefined;
      return () => {
        throw new Error(`${what}.${String(property)} was called: the request reached I/O`);
      };
    },
  }) as T;
}

/** Every route group of the management API, over dependencies that must not be touched. */
function everyRoute(): Routes {
  const drafts = noIo<DraftStore>('drafts');
  const live = noIo<LiveModels>('live');
  const audit = noIo<AuditLog>('audit');
  const stores: DeploymentStores = {
    doc: noIo<DeploymentStores['doc']>('doc'),
    deployments: noIo<DeploymentStore>('deployments'),
    drafts,
    snapshots: noIo<SnapshotStore>('snapshots'),
    live,
    audit,
  };
  return {
    ...functionsRoutes({ live }),
    ...draftsRoutes({ drafts, live, artifacts: noIo<ArtifactStore>('artifacts'), managedPrefix: 'greco' }),
    ...deploymentsRoutes({
      stores,
      sfn: noIo<SFNClient>('sfn'),
      stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:greco-deployment',
      managedPrefix: 'greco',
    }),
    ...auditRoutes({ audit }),
  };
}

/** A handler with greco's middlewares over `routes`, and a caller holding every role. */
function routesHandler(routes: Routes) {
  const handler = middy(dispatch(routes))
    .use(problemJsonOnError({ logger: { error: vi.fn(), warn: vi.fn() } }))
    .use(
      requestContext({
        routes,
        claimNames: { workspaceClaim: 'custom:workspace', rolesClaim: 'cognito:groups' },
      }),
    )
    .use(jsonBody());
  return async (init: HttpApiEventInit) =>
    answerOf(
      await handler(
        httpApiEvent({ caller: { roles: ['approver', 'operator'] }, ...init }) as HttpEvent,
        lambdaContext(),
      ),
    );
}

/** A valid value of each parameter, to hold the others valid while one is wrong. */
const validParams: Readonly<Record<string, string>> = {
  name: 'resize',
  id: 'dep-aaaaaaaaaaaaaaaaaaaaaaaaaa',
};

const everyParam = Object.keys(everyRoute()).flatMap((routeKey) =>
  [...routeKey.matchAll(/\{(\w+)\}/g)].map((match) => ({ routeKey, param: match[1] ?? '' })),
);

describe('path parameters', () => {
  it('covers every route with a parameter', () => {
    expect(everyParam.map(({ routeKey, param }) => `${routeKey} ${param}`)).toEqual([
      'GET /v1/functions/{name} name',
      'GET /v1/drafts/{id} id',
      'PUT /v1/drafts/{id} id',
      'DELETE /v1/drafts/{id} id',
      'PUT /v1/drafts/{id}/functions/{name} id',
      'PUT /v1/drafts/{id}/functions/{name} name',
      'DELETE /v1/drafts/{id}/functions/{name} id',
      'DELETE /v1/drafts/{id}/functions/{name} name',
      'GET /v1/drafts/{id}/plan id',
      'POST /v1/drafts/{id}/rebase id',
      'POST /v1/drafts/{id}/deployments id',
      'GET /v1/deployments/{id} id',
    ]);
  });

  const badValues = [
    { what: '1,024 characters', value: 'a'.repeat(1024), got: 'got 1024 characters' },
    { what: '..', value: '..', got: 'got ".."' },
    { what: 'a NUL', value: 'x\u0000', got: 'got "x\\u0000"' },
    { what: 'a slash', value: 'a/b', got: 'got "a/b"' },
    { what: 'a #', value: 'a#b', got: 'got "a#b"' },
    { what: 'unicode', value: 'résumé', got: 'got "résumé"' },
    { what: 'nothing', value: '', got: 'got ""' },
  ];
  const cases = everyParam.flatMap((target) => badValues.map((bad) => ({ ...target, ...bad })));

  it.each(cases)(
    'answers 400 naming $param for $routeKey with $what, before any I/O',
    async ({ routeKey, param, value, got }) => {
      // Prepare: every other parameter valid (a draft id where the route is a draft's).
      const call = routesHandler(everyRoute());
      const params = Object.fromEntries(
        [...routeKey.matchAll(/\{(\w+)\}/g)].map(([, name = '']) => [
          name,
          name === 'id' && routeKey.includes('/drafts/') ? 'draft-1' : (validParams[name] ?? ''),
        ]),
      );
      // Act
      const answer = await call({
        routeKey,
        pathParameters: { ...params, [param]: value },
        headers: { 'if-match': '"1"' },
      });
      // Assess: 400 problem+json naming the parameter; no dependency was called (that would be 500).
      expect(answer.status, JSON.stringify(answer.body)).toBe(400);
      expect(answer.headers['content-type']).toBe('application/problem+json');
      expect(answer.body.errors).toEqual([{ field: param, message: expect.stringContaining(got) }]);
      expect(answer.body.errors[0].message).toMatch(/^path parameter: must be /);
    },
  );

  it('answers DELETE /v1/drafts/{id}/functions/<1,024 characters> with 400 naming name', async () => {
    // Prepare
    const call = routesHandler(everyRoute());
    // Act
    const answer = await call({
      routeKey: 'DELETE /v1/drafts/{id}/functions/{name}',
      pathParameters: { id: 'draft-1', name: 'n'.repeat(1024) },
      headers: { 'if-match': '"1"' },
    });
    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.detail).toBe(
      'name: path parameter: must be a function name: 1 to 64 letters, digits, - or _, got 1024 characters',
    );
  });

  it('names every bad parameter of a request', async () => {
    const answer = await routesHandler(everyRoute())({
      routeKey: 'PUT /v1/drafts/{id}/functions/{name}',
      pathParameters: { id: 'a b', name: 'c d' },
    });
    expect(answer.body.errors.map((error: { field: string }) => error.field)).toEqual(['id', 'name']);
  });

  it('checks the role before the parameters', async () => {
    const answer = await routesHandler(everyRoute())({
      routeKey: 'DELETE /v1/drafts/{id}',
      pathParameters: { id: '..' },
      caller: { roles: ['viewer'] },
    });
    expect(answer.status).toBe(403);
  });

  it('lets valid values through to the route', async () => {
    // Prepare
    const seen: Record<string, string>[] = [];
    const routes: Routes = {
      'GET /v1/things/{id}/{name}': {
        role: 'viewer',
        params: {
          id: { pattern: /^t-\d+$/, description: 'a thing id' },
          name: { pattern: /^[a-z]+$/, description: 'a name' },
        },
        handle: async (request) => {
          seen.push({ ...request.params });
          return jsonResponse(200, {});
        },
      },
    };
    // Act
    const answer = await routesHandler(routes)({
      routeKey: 'GET /v1/things/{id}/{name}',
      pathParameters: { id: 't-1', name: 'abc' },
    });
    // Assess
    expect(answer.status).toBe(200);
    expect(seen).toEqual([{ id: 't-1', name: 'abc' }]);
  });

  it('refuses to build a router whose route key has a parameter without a rule', () => {
    const routes: Routes = {
      'GET /v1/things/{id}': { role: 'viewer', handle: async () => jsonResponse(200, {}) },
    };
    expect(() => dispatch(routes)).toThrow(
      'route GET /v1/things/{id} declares no rule for its path parameter {id}',
    );
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

  it('refuses a cursor of another list at the same version with 400', () => {
    // Prepare
    const first = pageOfFunctions(model, 4, { limit: 2, list: 'draft:d-1' });

    // Act
    const elsewhere = () => pageOfFunctions(model, 4, { limit: 2, cursor: first.nextCursor, list: 'live' });
    const same = pageOfFunctions(model, 4, { limit: 2, cursor: first.nextCursor, list: 'draft:d-1' });

    // Assess
    expect(elsewhere).toThrow(
      expect.objectContaining({ status: 400, errors: [expect.objectContaining({ field: 'cursor' })] }),
    );
    expect(same.functions).toEqual(model.slice(2, 4));
  });
});
