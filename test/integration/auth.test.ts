import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionInput, functionSpec } from '../support/fixtures.ts';
import type { HttpApiEventInit } from '../support/http-api-event.ts';
import { claimsFor } from '../support/http-api-event.ts';
import { type ManagementApiHarness, startManagementApi } from '../support/management-api.ts';

let api: ManagementApiHarness;
const workspace = 'matrix';
beforeAll(async () => {
  api = await startManagementApi();
  await api.store.setLiveModel(workspace, [functionSpec('live-fn')], { expectedEpoch: 0 });
});
afterAll(async () => {
  await api?.close();
});

const system = { actor: { sub: 'test-setup' }, requestId: 'setup' };

/** Each route with a request that succeeds for a caller allowed to make it, on a fresh draft. */
const routes: {
  routeKey: string;
  needs: string;
  request: (draftId: string) => Omit<HttpApiEventInit, 'caller'>;
  ok: number;
}[] = [
  {
    routeKey: 'GET /v1/functions',
    needs: 'viewer',
    ok: 200,
    request: () => ({ routeKey: 'GET /v1/functions' }),
  },
  {
    routeKey: 'GET /v1/functions/{name}',
    needs: 'viewer',
    ok: 200,
    request: () => ({ routeKey: 'GET /v1/functions/{name}', pathParameters: { name: 'live-fn' } }),
  },
  { routeKey: 'POST /v1/drafts', needs: 'editor', ok: 201, request: () => ({ routeKey: 'POST /v1/drafts' }) },
  { routeKey: 'GET /v1/drafts', needs: 'viewer', ok: 200, request: () => ({ routeKey: 'GET /v1/drafts' }) },
  {
    routeKey: 'GET /v1/drafts/{id}',
    needs: 'viewer',
    ok: 200,
    request: (id) => ({ routeKey: 'GET /v1/drafts/{id}', pathParameters: { id } }),
  },
  {
    routeKey: 'PUT /v1/drafts/{id}',
    needs: 'editor',
    ok: 200,
    request: (id) => ({
      routeKey: 'PUT /v1/drafts/{id}',
      pathParameters: { id },
      headers: { 'if-match': '"1"' },
      body: { functions: [functionInput('replaced')] },
    }),
  },
  {
    routeKey: 'DELETE /v1/drafts/{id}',
    needs: 'editor',
    ok: 204,
    request: (id) => ({ routeKey: 'DELETE /v1/drafts/{id}', pathParameters: { id } }),
  },
  {
    routeKey: 'PUT /v1/drafts/{id}/functions/{name}',
    needs: 'editor',
    ok: 200,
    request: (id) => ({
      routeKey: 'PUT /v1/drafts/{id}/functions/{name}',
      pathParameters: { id, name: 'added' },
      headers: { 'if-match': '"1"' },
      body: functionInput('added'),
    }),
  },
  {
    routeKey: 'DELETE /v1/drafts/{id}/functions/{name}',
    needs: 'editor',
    ok: 200,
    request: (id) => ({
      routeKey: 'DELETE /v1/drafts/{id}/functions/{name}',
      pathParameters: { id, name: 'live-fn' },
      headers: { 'if-match': '"1"' },
    }),
  },
  {
    routeKey: 'GET /v1/drafts/{id}/plan',
    needs: 'viewer',
    ok: 200,
    request: (id) => ({ routeKey: 'GET /v1/drafts/{id}/plan', pathParameters: { id } }),
  },
  { routeKey: 'GET /v1/audit', needs: 'viewer', ok: 200, request: () => ({ routeKey: 'GET /v1/audit' }) },
];

/** Which roles each role grants: viewer < editor < approver; operator apart. */
const grants: Record<string, string[]> = {
  viewer: ['viewer'],
  editor: ['viewer', 'editor'],
  approver: ['viewer', 'editor', 'approver'],
  operator: ['operator'],
};

const matrix = routes.flatMap((route) =>
  Object.keys(grants).map((role) => ({
    ...route,
    role,
    allowed: (grants[role] ?? []).includes(route.needs),
  })),
);

describe('role matrix', () => {
  it.each(matrix)('$routeKey as $role: allowed=$allowed', async ({ request, role, allowed, ok }) => {
    const draft = await api.store.createDraft(workspace, system);
    const before = await api.scanTable();
    const answer = await api.call({ ...request(draft.draftId), caller: { workspace, roles: [role] } });
    if (allowed) {
      expect(answer.status, JSON.stringify(answer.body)).toBe(ok);
    } else {
      expect(answer.status).toBe(403);
      expect(answer.headers['content-type']).toBe('application/problem+json');
      expect(answer.body.detail).toMatch(/needs the (viewer|editor) role/);
      expect(await api.scanTable()).toEqual(before);
    }
  });

  it('reads roles from a JSON array claim and from a comma-separated claim', async () => {
    const claims = claimsFor({ workspace });
    const asJson = await api.call({
      routeKey: 'POST /v1/drafts',
      claims: { ...claims, 'cognito:groups': '["viewer","editor"]' },
    });
    expect(asJson.status).toBe(201);
    const asList = await api.call({
      routeKey: 'POST /v1/drafts',
      claims: { ...claims, 'cognito:groups': 'viewer, approver' },
    });
    expect(asList.status).toBe(201);
  });
});

describe('tokens that are valid but useless', () => {
  it.each([
    {
      title: 'no workspace claim',
      change: { 'custom:workspace': undefined },
      status: 403,
      detail: /custom:workspace/,
    },
    {
      title: 'an empty workspace claim',
      change: { 'custom:workspace': '' },
      status: 403,
      detail: /custom:workspace/,
    },
    {
      title: 'a workspace id that is not valid',
      change: { 'custom:workspace': 'Acme#1' },
      status: 403,
      detail: /not a valid workspace id/,
    },
    {
      title: 'no roles claim',
      change: { 'cognito:groups': undefined },
      status: 403,
      detail: /grants none of the roles/,
    },
    {
      title: 'only unknown roles',
      change: { 'cognito:groups': '[admin root]' },
      status: 403,
      detail: /grants none of the roles/,
    },
    { title: 'no sub', change: { sub: undefined }, status: 401, detail: /no verified token/ },
  ])('answers $status for $title and writes nothing', async ({ change, status, detail }) => {
    const claims: Record<string, string> = { ...claimsFor({ workspace }) };
    for (const [name, value] of Object.entries(change)) {
      if (value === undefined) delete claims[name];
      else claims[name] = value;
    }
    const before = await api.scanTable();
    const answer = await api.call({
      routeKey: 'POST /v1/drafts',
      claims,
      body: { functions: [functionInput('x1')] },
    });
    expect(answer.status).toBe(status);
    expect(answer.body.detail).toMatch(detail);
    expect(await api.scanTable()).toEqual(before);
  });

  it('answers 401 to an event without authorizer claims', async () => {
    const answer = await api.call({ routeKey: 'GET /v1/drafts', caller: null });
    expect(answer.status).toBe(401);
  });

  it('honours the claim names configured in the environment', async () => {
    const { apiHandler } = await import('../../core/http/api-handler.ts');
    const { functionsRoutes } = await import('../../core/http/routes/functions.ts');
    const { httpApiEvent, lambdaContext } = await import('../support/http-api-event.ts');
    const handler = apiHandler(functionsRoutes({ store: api.store }), {
      claimNames: { workspaceClaim: 'tenant', rolesClaim: 'groups' },
    });
    const answer = await handler(
      httpApiEvent({
        routeKey: 'GET /v1/functions',
        claims: { sub: 'u1', tenant: workspace, groups: '[viewer]' },
      }),
      lambdaContext(),
    );
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body ?? '')).toMatchObject({ epoch: 1 });
  });
});

describe('workspace isolation', () => {
  it('answers 404 for another workspace draft on every draft route, and changes nothing', async () => {
    const draft = await api.store.createDraft(workspace, system);
    const intruder = { workspace: 'intruder', roles: ['approver'] };
    const before = await api.scanTable();
    for (const route of routes.filter((r) => r.routeKey.includes('{id}'))) {
      const answer = await api.call({
        ...route.request(draft.draftId),
        headers: { 'if-match': '*' },
        caller: intruder,
      });
      expect(answer.status, route.routeKey).toBe(404);
      expect(answer.body.detail).not.toContain(workspace);
    }
    expect(await api.scanTable()).toEqual(before);
  });

  it('shows another workspace none of the live model, drafts or audit records', async () => {
    await api.store.createDraft(workspace, system);
    const intruder = { workspace: 'intruder', roles: ['viewer'] };
    const functions = await api.call({ routeKey: 'GET /v1/functions', caller: intruder });
    expect(functions.body).toEqual({ epoch: 0, functions: [] });
    const one = await api.call({
      routeKey: 'GET /v1/functions/{name}',
      pathParameters: { name: 'live-fn' },
      caller: intruder,
    });
    expect(one.status).toBe(404);
    expect((await api.call({ routeKey: 'GET /v1/drafts', caller: intruder })).body).toEqual({ drafts: [] });
    expect((await api.call({ routeKey: 'GET /v1/audit', caller: intruder })).body).toEqual({ records: [] });
  });

  it('takes the workspace only from the token: a workspace field in the body is refused', async () => {
    const answer = await api.call({
      routeKey: 'POST /v1/drafts',
      caller: { workspace: 'intruder' },
      body: { workspace, functions: [] },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.errors).toEqual([{ field: 'workspace', message: 'is not a known field' }]);
  });
});
