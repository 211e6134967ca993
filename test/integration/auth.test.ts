import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IncludedRoles, type Role } from '../../domain/roles.ts';
import { functionInput } from '../../support/fixtures.ts';
import { functionSpec } from '../support/fixtures.ts';
import type { HttpApiEventInit } from '../support/http-api-event.ts';
import { tokenFor } from '../support/http-api-event.ts';
import { type ManagementApiHarness, startManagementApi } from '../support/management-api.ts';
import { roleClaimCases, roleClaimTestName } from '../support/role-claims.ts';
import { type SecurityRig, send, startSecurityRig } from '../support/security-rig.ts';

let api: ManagementApiHarness;
let rig: SecurityRig;
const workspace = 'matrix';
beforeAll(async () => {
  api = await startManagementApi();
  await api.snapshots.setLiveModel(workspace, [functionSpec('live-fn')], { expectedEpoch: 0 });
  rig = await startSecurityRig({ api });
  await rig.createManagedFunction(workspace, 'probe');
});
afterAll(async () => {
  await rig?.close();
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
  {
    routeKey: 'POST /v1/drafts/{id}/rebase',
    needs: 'editor',
    ok: 200,
    request: (id) => ({
      routeKey: 'POST /v1/drafts/{id}/rebase',
      pathParameters: { id },
      headers: { 'if-match': '"1"' },
    }),
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
    const draft = await api.drafts.createDraft(workspace, system);
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

  it('reads roles from a JSON array claim, and refuses a comma-separated claim', async () => {
    const token = tokenFor({ workspace });
    const asJson = await api.call({
      routeKey: 'POST /v1/drafts',
      token: { ...token, 'cognito:groups': '["viewer","editor"]' },
    });
    expect(asJson.status).toBe(201);
    // Exact role names only (issue 10, defect 1): "viewer, approver" names no role.
    const before = await api.scanTable();
    const asList = await api.call({
      routeKey: 'POST /v1/drafts',
      token: { ...token, 'cognito:groups': 'viewer, approver' },
    });
    expect(asList.status).toBe(403);
    expect(asList.body.detail).toMatch(/grants none of the roles/);
    expect(await api.scanTable()).toEqual(before);
  });

  it.each([
    { title: 'a group "viewer editor" beside viewer', groups: ['viewer', 'viewer editor'] },
    { title: 'a group "x,editor" beside viewer', groups: ['viewer', 'x,editor'] },
    { title: 'a group "\\"editor\\"" beside viewer', groups: ['viewer', '"editor"'] },
    { title: 'a group "viewer editor" in a JSON string', groups: '["viewer","viewer editor"]' },
  ])('refuses an edit to a viewer with $title', async ({ groups }) => {
    // Prepare: a viewer whose other group only looks like editor.
    const before = await api.scanTable();
    // Act
    const answer = await api.call({
      routeKey: 'POST /v1/drafts',
      token: { ...tokenFor({ workspace }), 'cognito:groups': groups },
    });
    // Assess
    expect(answer.status).toBe(403);
    expect(answer.body.detail).toMatch(/needs the editor role/);
    expect(await api.scanTable()).toEqual(before);
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
      change: { 'cognito:groups': ['admin', 'root'] },
      status: 403,
      detail: /grants none of the roles/,
    },
    { title: 'no sub', change: { sub: undefined }, status: 401, detail: /no verified token/ },
  ])('answers $status for $title and writes nothing', async ({ change, status, detail }) => {
    const token: Record<string, unknown> = { ...tokenFor({ workspace }) };
    for (const [name, value] of Object.entries(change)) {
      if (value === undefined) delete token[name];
      else token[name] = value;
    }
    const before = await api.scanTable();
    const answer = await api.call({
      routeKey: 'POST /v1/drafts',
      token,
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
    const handler = apiHandler(functionsRoutes({ live: api.live }), {
      claimNames: { workspaceClaim: 'tenant', rolesClaim: 'groups' },
    });
    const answer = await handler(
      httpApiEvent({
        routeKey: 'GET /v1/functions',
        token: { ...tokenFor({ sub: 'u1' }), tenant: workspace, groups: ['viewer'] },
      }),
      lambdaContext(),
    );
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body ?? '')).toMatchObject({ epoch: 1 });
  });
});

describe('workspace isolation', () => {
  it('answers 404 for another workspace draft on every draft route, and changes nothing', async () => {
    const draft = await api.drafts.createDraft(workspace, system);
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
    await api.drafts.createDraft(workspace, system);
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

describe('the roles claim, read alike by both surfaces through the local HTTP API', () => {
  it.each(roleClaimCases.map((c) => [roleClaimTestName(c), c] as const))(
    '%s',
    async (_name, { claim, roles }) => {
      // Prepare: a token signed with the case's claim as it is (absent when undefined), which the
      // management API's JWT authorizer and the hot path's verifier both accept.
      const token = await rig.issuer.token({ 'custom:workspace': workspace, 'cognito:groups': claim });
      const authorization = `Bearer ${token}`;
      const granted = new Set<Role>(roles.flatMap((role) => IncludedRoles[role]));
      const tableBefore = await api.scanTable();
      const lambdaBefore = await rig.lambdaState();
      // Act: one route per role, each answering before any write once the role is granted.
      const viewer = await send(`${rig.managementUrl}/v1/audit?limit=1`, { headers: { authorization } });
      const editor = await send(`${rig.managementUrl}/v1/drafts/no-such-draft`, {
        method: 'PUT',
        headers: { authorization, 'content-type': 'application/json' },
        body: '{"functions":[]}',
      });
      const approver = await send(`${rig.managementUrl}/v1/drafts/no-such-draft/deployments`, {
        method: 'POST',
        headers: { authorization, 'idempotency-key': 'k'.repeat(300) },
      });
      const operator = await send(`${rig.hotPathUrl}/v1/functions/probe`, { headers: { authorization } });
      // Assess: viewer 200, editor 428 (no If-Match), approver 400 (bad Idempotency-Key), operator
      // 200 (state) when granted; 403 problem+json otherwise; nothing changed either way.
      expect(viewer.status, viewer.text).toBe(granted.has('viewer') ? 200 : 403);
      expect(editor.status, editor.text).toBe(granted.has('editor') ? 428 : 403);
      expect(approver.status, approver.text).toBe(granted.has('approver') ? 400 : 403);
      expect(operator.status, operator.text).toBe(granted.has('operator') ? 200 : 403);
      for (const answer of [viewer, editor, approver, operator].filter((a) => a.status === 403)) {
        expect(answer.contentType).toBe('application/problem+json');
      }
      expect(await api.scanTable()).toEqual(tableBefore);
      expect(await rig.lambdaState()).toEqual(lambdaBefore);
    },
  );
});

describe('the clock rules, applied alike by both surfaces through the local HTTP API', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const roles = ['editor', 'operator'];
  it.each([
    {
      title: 'a token issued an hour in the future',
      claims: () => ({ iat: now() + 3600, exp: now() + 7200 }),
    },
    { title: 'a token issued a minute in the future', claims: () => ({ iat: now() + 60 }) },
    { title: 'a token without exp', claims: () => ({ exp: undefined }) },
    { title: 'a token not valid for another minute', claims: () => ({ nbf: now() + 60 }) },
    { title: 'an expired token', claims: () => ({ iat: now() - 7200, exp: now() - 60 }) },
  ])('refuses $title with 401 and changes nothing', async ({ claims }) => {
    // Prepare
    const token = await rig.issuer.token({
      'custom:workspace': workspace,
      'cognito:groups': roles,
      ...claims(),
    });
    const authorization = `Bearer ${token}`;
    const tableBefore = await api.scanTable();
    const mutationsBefore = rig.lambdaMutations();
    // Act
    const create = await send(`${rig.managementUrl}/v1/drafts`, {
      method: 'POST',
      headers: { authorization },
    });
    const suspend = await send(`${rig.hotPathUrl}/v1/functions/probe/suspend`, {
      method: 'POST',
      headers: { authorization },
    });
    // Assess: API Gateway's authorizer answers its own 401 {"message"}; the hot path problem+json.
    expect(create.status, create.text).toBe(401);
    expect(create.body).toEqual({ message: 'Unauthorized' });
    expect(suspend.status, suspend.text).toBe(401);
    expect(suspend.contentType).toBe('application/problem+json');
    expect(await api.scanTable()).toEqual(tableBefore);
    expect(rig.lambdaMutations()).toBe(mutationsBefore);
  });

  it('refuses a token issued in the future on the handler itself, past API Gateway', async () => {
    // Prepare: what a handler receives if API Gateway let such a token through.
    const token = { ...tokenFor({ workspace }), iat: Math.floor(Date.now() / 1000) + 3600 };
    const before = await api.scanTable();
    // Act
    const answer = await api.call({ routeKey: 'POST /v1/drafts', token });
    // Assess
    expect(answer.status).toBe(401);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    expect(answer.body.detail).toBe('the token was issued in the future (iat)');
    expect(await api.scanTable()).toEqual(before);
  });
});

describe('path parameters', () => {
  const tooLong = 'x'.repeat(1024);
  it.each([
    { routeKey: 'GET /v1/functions/{name}', params: { name: tooLong }, field: 'name' },
    { routeKey: 'GET /v1/drafts/{id}', params: { id: tooLong }, field: 'id' },
    { routeKey: 'PUT /v1/drafts/{id}', params: { id: tooLong }, field: 'id' },
    { routeKey: 'DELETE /v1/drafts/{id}', params: { id: tooLong }, field: 'id' },
    { routeKey: 'PUT /v1/drafts/{id}/functions/{name}', params: { id: tooLong, name: 'ok' }, field: 'id' },
    { routeKey: 'PUT /v1/drafts/{id}/functions/{name}', params: { id: 'd1', name: tooLong }, field: 'name' },
    { routeKey: 'DELETE /v1/drafts/{id}/functions/{name}', params: { id: tooLong, name: 'ok' }, field: 'id' },
    {
      routeKey: 'DELETE /v1/drafts/{id}/functions/{name}',
      params: { id: 'd1', name: tooLong },
      field: 'name',
    },
    { routeKey: 'GET /v1/drafts/{id}/plan', params: { id: tooLong }, field: 'id' },
  ] as { routeKey: string; params: Record<string, string>; field: string }[])(
    'answers 400 naming $field for $routeKey with 1,024 characters, and writes nothing',
    async ({ routeKey, params, field }) => {
      // Prepare
      const before = await api.scanTable();
      // Act
      const answer = await api.call({
        routeKey,
        pathParameters: params,
        headers: { 'if-match': '*' },
        caller: { workspace, roles: ['approver'] },
      });
      // Assess
      expect(answer.status, JSON.stringify(answer.body)).toBe(400);
      expect(answer.headers['content-type']).toBe('application/problem+json');
      expect(answer.body.errors).toEqual([
        { field, message: expect.stringMatching(/^path parameter: must be /) },
      ]);
      expect(await api.scanTable()).toEqual(before);
    },
  );

  it('answers DELETE /v1/drafts/{id}/functions/<1,024 characters> through the HTTP API with 400 naming name', async () => {
    // Prepare
    const draft = await api.drafts.createDraft(workspace, system);
    const token = await rig.issuer.token({ 'custom:workspace': workspace, 'cognito:groups': ['editor'] });
    const before = await api.scanTable();
    // Act
    const answer = await send(
      `${rig.managementUrl}/v1/drafts/${draft.draftId}/functions/${'n'.repeat(1024)}`,
      {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}`, 'if-match': '*' },
      },
    );
    // Assess
    expect(answer.status, answer.text).toBe(400);
    expect(answer.contentType).toBe('application/problem+json');
    expect(answer.body.errors).toEqual([
      {
        field: 'name',
        message:
          'path parameter: must be a function name: 1 to 64 letters, digits, - or _, got 1024 characters',
      },
    ]);
    expect(await api.scanTable()).toEqual(before);
  });
});
