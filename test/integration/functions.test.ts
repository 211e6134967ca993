import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionSpec } from '../../core/spec.ts';
import { functionName, functionSpec } from '../support/fixtures.ts';
import { type ManagementApiHarness, startManagementApi } from '../support/management-api.ts';

let api: ManagementApiHarness;
beforeAll(async () => {
  api = await startManagementApi();
});
afterAll(async () => {
  await api?.close();
});

const viewer = (workspace: string) => ({ workspace, roles: ['viewer'] });

describe('GET /v1/functions', () => {
  it('answers epoch 0 and no functions before any deployment', async () => {
    const answer = await api.call({ routeKey: 'GET /v1/functions', caller: viewer('fresh') });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json');
    expect(answer.body).toEqual({ epoch: 0, functions: [] });
  });

  it('answers the live model and its epoch, sorted by name', async () => {
    const workspace = 'live-one';
    const first = [
      functionSpec('zeta', { memoryMiB: 512 }),
      functionSpec('alpha', { reservedConcurrency: 2 }),
    ];
    await api.snapshots.setLiveModel(workspace, first, { expectedEpoch: 0 });
    const answer = await api.call({ routeKey: 'GET /v1/functions', caller: viewer(workspace) });
    expect(answer.body).toEqual({ epoch: 1, functions: [first[1], first[0]] });

    await api.snapshots.setLiveModel(workspace, [functionSpec('beta')], { expectedEpoch: 1 });
    const next = await api.call({ routeKey: 'GET /v1/functions', caller: viewer(workspace) });
    expect(next.body).toEqual({ epoch: 2, functions: [functionSpec('beta')] });
  });

  it('pages with limit and cursor, and refuses a cursor once the epoch moved', async () => {
    const workspace = 'paged';
    const model = Array.from({ length: 7 }, (_, i) => functionSpec(functionName(i)));
    await api.snapshots.setLiveModel(workspace, model, { expectedEpoch: 0 });
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const answer = await api.call({
        routeKey: 'GET /v1/functions',
        query: cursor === undefined ? { limit: '3' } : { limit: '3', cursor },
        caller: viewer(workspace),
      });
      expect(answer.status).toBe(200);
      seen.push(...answer.body.functions.map((f: FunctionSpec) => f.name));
      cursor = answer.body.nextCursor;
      pages++;
    } while (cursor !== undefined);
    expect(pages).toBe(3);
    expect(seen).toEqual(model.map((f) => f.name));

    const firstPage = await api.call({
      routeKey: 'GET /v1/functions',
      query: { limit: '3' },
      caller: viewer(workspace),
    });
    await api.snapshots.setLiveModel(workspace, model.slice(0, 2), { expectedEpoch: 1 });
    const stale = await api.call({
      routeKey: 'GET /v1/functions',
      query: { limit: '3', cursor: firstPage.body.nextCursor },
      caller: viewer(workspace),
    });
    expect(stale.status).toBe(409);
    expect(stale.body.detail).toMatch(/changed while you paged/);
  });
});

describe('GET /v1/functions/{name}', () => {
  it('answers one live function with the epoch', async () => {
    const workspace = 'single';
    await api.snapshots.setLiveModel(workspace, [functionSpec('orders', { timeoutSeconds: 30 })], {
      expectedEpoch: 0,
    });
    const answer = await api.call({
      routeKey: 'GET /v1/functions/{name}',
      pathParameters: { name: 'orders' },
      caller: viewer(workspace),
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ epoch: 1, function: functionSpec('orders', { timeoutSeconds: 30 }) });
  });

  it.each(['missing'])('answers 404 problem+json for %j', async (name) => {
    const workspace = 'single';
    const answer = await api.call({
      routeKey: 'GET /v1/functions/{name}',
      pathParameters: { name },
      caller: viewer(workspace),
    });
    expect(answer.status).toBe(404);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    expect(answer.body).toMatchObject({ status: 404, title: 'Not found' });
  });

  // A name no function can have is refused before any I/O (issue 10, defect 2): 400 naming it.
  it.each(['bad#name', ''])('answers 400 problem+json naming name for %j', async (name) => {
    const workspace = 'single';
    const answer = await api.call({
      routeKey: 'GET /v1/functions/{name}',
      pathParameters: { name },
      caller: viewer(workspace),
    });
    expect(answer.status).toBe(400);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    expect(answer.body).toMatchObject({ status: 400, title: 'Invalid request' });
    expect(answer.body.errors).toEqual([
      { field: 'name', message: expect.stringContaining('a function name') },
    ]);
  });
});

describe('live model writes', () => {
  it('refuses to move the live head from an epoch that is no longer current', async () => {
    const workspace = 'epochs';
    await api.snapshots.setLiveModel(workspace, [functionSpec('a1')], { expectedEpoch: 0 });
    const before = await api.scanTable();
    await expect(
      api.snapshots.setLiveModel(workspace, [functionSpec('b1')], { expectedEpoch: 0 }),
    ).rejects.toMatchObject({
      name: 'ConflictError',
      status: 409,
      extensions: { currentEpoch: 1 },
    });
    // The losing writer's snapshot was removed again.
    expect(await api.scanTable()).toEqual(before);
    const answer = await api.call({ routeKey: 'GET /v1/functions', caller: viewer(workspace) });
    expect(answer.body).toEqual({ epoch: 1, functions: [functionSpec('a1')] });
  });
});
