import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionInput } from '../../support/fixtures.ts';
import { type ManagementApiHarness, startManagementApi } from '../support/management-api.ts';

let api: ManagementApiHarness;
beforeAll(async () => {
  api = await startManagementApi();
});
afterAll(async () => {
  await api?.close();
});

describe('GET /v1/audit', () => {
  it('records every change with who, what, when and the request id, newest first', async () => {
    const workspace = 'audited';
    const caller = { workspace, sub: 'sub-ada', username: 'ada', roles: ['editor'] };
    const created = await api.call({
      routeKey: 'POST /v1/drafts',
      caller,
      requestId: 'req-create',
      body: { functions: [functionInput('one')] },
    });
    const id = created.body.draftId as string;
    await api.call({
      routeKey: 'PUT /v1/drafts/{id}/functions/{name}',
      pathParameters: { id, name: 'two' },
      headers: { 'if-match': '"1"' },
      caller,
      requestId: 'req-put',
      body: functionInput('two'),
    });
    await api.call({
      routeKey: 'DELETE /v1/drafts/{id}/functions/{name}',
      pathParameters: { id, name: 'one' },
      headers: { 'if-match': '"2"' },
      caller,
      requestId: 'req-remove',
    });
    await api.call({
      routeKey: 'PUT /v1/drafts/{id}',
      pathParameters: { id },
      headers: { 'if-match': '"3"' },
      caller,
      requestId: 'req-replace',
      body: { functions: [] },
    });
    await api.call({
      routeKey: 'DELETE /v1/drafts/{id}',
      pathParameters: { id },
      caller,
      requestId: 'req-delete',
    });
    // A refused change leaves no record.
    await api.call({ routeKey: 'POST /v1/drafts', caller, requestId: 'req-refused', body: { functions: 1 } });

    const answer = await api.call({ routeKey: 'GET /v1/audit', caller: { workspace, roles: ['viewer'] } });
    expect(answer.status).toBe(200);
    const records = answer.body.records as Record<string, unknown>[];
    expect(records.map((r) => [r.action, r.requestId, r.target])).toEqual([
      ['draft.delete', 'req-delete', `drafts/${id}`],
      ['draft.replace', 'req-replace', `drafts/${id}`],
      ['draft.function.delete', 'req-remove', `drafts/${id}/functions/one`],
      ['draft.function.put', 'req-put', `drafts/${id}/functions/two`],
      ['draft.create', 'req-create', `drafts/${id}`],
    ]);
    for (const record of records) {
      expect(record).toMatchObject({
        actor: { sub: 'sub-ada', username: 'ada' },
        draftId: id,
        result: 'succeeded',
      });
      expect(Date.parse(record.at as string)).not.toBeNaN();
    }
    expect(records[4]?.detail).toEqual({ version: 1, functionCount: 1, baseEpoch: 0, source: 'body' });
    expect(records[1]?.detail).toEqual({ version: 4, functionCount: 0 });
    expect(answer.body.nextCursor).toBeUndefined();
  });

  it('pages with limit and an opaque cursor without losing or repeating a record', async () => {
    const workspace = 'paged-audit';
    for (let i = 0; i < 7; i++) {
      const answer = await api.call({
        routeKey: 'POST /v1/drafts',
        caller: { workspace },
        requestId: `req-${i}`,
      });
      expect(answer.status).toBe(201);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await api.call({
        routeKey: 'GET /v1/audit',
        query: cursor === undefined ? { limit: '3' } : { limit: '3', cursor },
        caller: { workspace },
      });
      expect(page.status).toBe(200);
      expect(page.body.records.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.records.map((r: { requestId: string }) => r.requestId));
      cursor = page.body.nextCursor;
    } while (cursor !== undefined);
    expect(seen).toEqual(['req-6', 'req-5', 'req-4', 'req-3', 'req-2', 'req-1', 'req-0']);
  });

  it('reads a cursor only within the caller own workspace', async () => {
    for (const workspace of ['cursor-a', 'cursor-b']) {
      for (let i = 0; i < 3; i++) await api.call({ routeKey: 'POST /v1/drafts', caller: { workspace } });
    }
    const page = await api.call({
      routeKey: 'GET /v1/audit',
      query: { limit: '1' },
      caller: { workspace: 'cursor-a' },
    });
    const other = await api.call({
      routeKey: 'GET /v1/audit',
      query: { cursor: page.body.nextCursor },
      caller: { workspace: 'cursor-b' },
    });
    expect(other.status).toBe(200);
    for (const record of other.body.records) expect(record.actor.sub).toBe('user-cursor-b');
  });
});
