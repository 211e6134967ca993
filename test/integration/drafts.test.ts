import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionSpec } from '../../core/spec.ts';
import { functionInput, sampleZip, sampleZipBase64 } from '../../support/fixtures.ts';
import { functionSpec, sampleCodeRef } from '../support/fixtures.ts';
import type { HttpApiEventInit } from '../support/http-api-event.ts';
import { type ManagementApiHarness, startManagementApi } from '../support/management-api.ts';

let api: ManagementApiHarness;
beforeAll(async () => {
  api = await startManagementApi();
});
afterAll(async () => {
  await api?.close();
});

/** A workspace of its own per test, so tests never see each other's drafts or live models. */
function newWorkspace(): string {
  return `ws-${crypto.randomUUID().slice(0, 8)}`;
}

async function createDraft(workspace: string, body?: unknown) {
  const answer = await api.call({ routeKey: 'POST /v1/drafts', caller: { workspace }, body });
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  return answer;
}

describe('draft lifecycle', () => {
  it('creates a draft from the live model, edits it, plans it and discards it', async () => {
    const workspace = newWorkspace();
    await api.snapshots.setLiveModel(workspace, [functionSpec('billing'), functionSpec('orders')], {
      expectedEpoch: 0,
    });

    const created = await createDraft(workspace);
    const id = created.body.draftId as string;
    expect(created.headers.location).toBe(`/v1/drafts/${id}`);
    expect(created.headers.etag).toBe('"1"');
    expect(created.body).toMatchObject({ version: 1, state: 'open', baseEpoch: 1, functionCount: 2 });

    const read = await api.call({
      routeKey: 'GET /v1/drafts/{id}',
      pathParameters: { id },
      caller: { workspace },
    });
    expect(read.status).toBe(200);
    expect(read.headers.etag).toBe('"1"');
    expect(read.body.functions.map((f: FunctionSpec) => f.name)).toEqual(['billing', 'orders']);

    const put = await api.call({
      routeKey: 'PUT /v1/drafts/{id}/functions/{name}',
      pathParameters: { id, name: 'billing' },
      headers: { 'if-match': '"1"' },
      caller: { workspace },
      body: {
        runtime: 'nodejs24.x',
        handler: 'index.handler',
        code: { zipBase64: 'UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==' },
      },
    });
    // An empty zip is refused by the spec rules: the edit is a 400 and the draft stays at version 1.
    expect(put.status).toBe(400);
    expect(put.headers['content-type']).toBe('application/problem+json');

    const edited = await api.call({
      routeKey: 'PUT /v1/drafts/{id}/functions/{name}',
      pathParameters: { id, name: 'billing' },
      headers: { 'if-match': '"1"' },
      caller: { workspace },
      body: functionInput('billing', { memoryMiB: 1024 }),
    });
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    expect(edited.headers.etag).toBe('"2"');
    expect(edited.body.created).toBe(false);
    expect(edited.body.function).toMatchObject({
      name: 'billing',
      memoryMiB: 1024,
      code: sampleCodeRef('billing'),
    });

    const added = await api.call({
      routeKey: 'PUT /v1/drafts/{id}/functions/{name}',
      pathParameters: { id, name: 'search' },
      headers: { 'if-match': '"2"' },
      caller: { workspace },
      body: functionInput('search'),
    });
    expect(added.status).toBe(200);
    expect(added.body.created).toBe(true);
    expect(added.body.draft.functionCount).toBe(3);

    const removed = await api.call({
      routeKey: 'DELETE /v1/drafts/{id}/functions/{name}',
      pathParameters: { id, name: 'orders' },
      headers: { 'if-match': '"3"' },
      caller: { workspace },
    });
    expect(removed.status).toBe(200);
    expect(removed.headers.etag).toBe('"4"');
    expect(removed.body.functionCount).toBe(2);

    const after = await api.call({
      routeKey: 'GET /v1/drafts/{id}',
      pathParameters: { id },
      caller: { workspace },
    });
    expect(after.body.version).toBe(4);
    expect(after.body.functions.map((f: FunctionSpec) => [f.name, f.memoryMiB])).toEqual([
      ['billing', 1024],
      ['search', 128],
    ]);

    const plan = await api.call({
      routeKey: 'GET /v1/drafts/{id}/plan',
      pathParameters: { id },
      caller: { workspace },
    });
    expect(plan.status).toBe(200);
    expect(plan.body).toMatchObject({
      draftId: id,
      draftVersion: 4,
      baseEpoch: 1,
      liveEpoch: 1,
      summary: { create: 1, update: 1, delete: 1, unchanged: 0 },
    });
    expect(plan.body.changes.map((c: { name: string; action: string }) => [c.name, c.action])).toEqual([
      ['billing', 'update'],
      ['orders', 'delete'],
      ['search', 'create'],
    ]);

    const listed = await api.call({ routeKey: 'GET /v1/drafts', caller: { workspace } });
    expect(listed.body.drafts.map((d: { draftId: string }) => d.draftId)).toEqual([id]);

    const deleted = await api.call({
      routeKey: 'DELETE /v1/drafts/{id}',
      pathParameters: { id },
      caller: { workspace },
    });
    expect(deleted.status).toBe(204);
    const gone = await api.call({
      routeKey: 'GET /v1/drafts/{id}',
      pathParameters: { id },
      caller: { workspace },
    });
    expect(gone.status).toBe(404);
    expect((await api.call({ routeKey: 'GET /v1/drafts', caller: { workspace } })).body.drafts).toEqual([]);
  });

  it('creates a draft from a full model in the body and stores the code by SHA-256', async () => {
    const workspace = newWorkspace();
    const created = await createDraft(workspace, {
      functions: [functionInput('b-second', { timeoutSeconds: 30 }), functionInput('a-first')],
    });
    expect(created.body).toMatchObject({ version: 1, baseEpoch: 0, functionCount: 2 });
    const read = await api.call({
      routeKey: 'GET /v1/drafts/{id}',
      pathParameters: { id: created.body.draftId },
      caller: { workspace },
    });
    expect(read.body.functions).toEqual([
      expect.objectContaining({ name: 'a-first', code: sampleCodeRef('a-first'), timeoutSeconds: 3 }),
      expect.objectContaining({ name: 'b-second', code: sampleCodeRef('b-second'), timeoutSeconds: 30 }),
    ]);
    const keys = await api.listArtifacts();
    expect(keys).toContain(sampleCodeRef('a-first').s3Key);
    expect(keys).toContain(sampleCodeRef('b-second').s3Key);
  });

  it('accepts code by reference to a zip already in the artifacts bucket', async () => {
    const workspace = newWorkspace();
    const ref = sampleCodeRef('by-reference');
    await createDraft(workspace, {
      functions: [functionInput('uploader', { code: { zipBase64: sampleZipBase64('by-reference') } })],
    });
    const created = await createDraft(workspace, {
      functions: [functionInput('consumer', { code: { sha256: ref.sha256 } })],
    });
    const read = await api.call({
      routeKey: 'GET /v1/drafts/{id}',
      pathParameters: { id: created.body.draftId },
      caller: { workspace },
    });
    expect(read.body.functions[0].code).toEqual(ref);
  });

  it('replaces the whole model with PUT and the old version is gone', async () => {
    const workspace = newWorkspace();
    const created = await createDraft(workspace, {
      functions: [functionInput('old-one'), functionInput('old-two')],
    });
    const id = created.body.draftId;
    await api.call({
      routeKey: 'PUT /v1/drafts/{id}/functions/{name}',
      pathParameters: { id, name: 'overlay-edit' },
      headers: { 'if-match': '"1"' },
      caller: { workspace },
      body: functionInput('overlay-edit'),
    });
    const replaced = await api.call({
      routeKey: 'PUT /v1/drafts/{id}',
      pathParameters: { id },
      headers: { 'if-match': '"2"' },
      caller: { workspace },
      body: { functions: [functionInput('new-one')] },
    });
    expect(replaced.status, JSON.stringify(replaced.body)).toBe(200);
    expect(replaced.headers.etag).toBe('"3"');
    const read = await api.call({
      routeKey: 'GET /v1/drafts/{id}',
      pathParameters: { id },
      caller: { workspace },
    });
    expect(read.body.functions.map((f: FunctionSpec) => f.name)).toEqual(['new-one']);
    expect(read.body.functionCount).toBe(1);
  });

  it('answers 428 to edits without If-Match and writes nothing', async () => {
    const workspace = newWorkspace();
    const id = (await createDraft(workspace)).body.draftId;
    const before = await api.scanTable();
    const routes: HttpApiEventInit[] = [
      { routeKey: 'PUT /v1/drafts/{id}', pathParameters: { id }, body: { functions: [] } },
      {
        routeKey: 'PUT /v1/drafts/{id}/functions/{name}',
        pathParameters: { id, name: 'x1' },
        body: functionInput('x1'),
      },
      { routeKey: 'DELETE /v1/drafts/{id}/functions/{name}', pathParameters: { id, name: 'x1' } },
    ];
    for (const route of routes) {
      const answer = await api.call({ ...route, caller: { workspace } });
      expect(answer.status, route.routeKey).toBe(428);
      expect(answer.headers['content-type']).toBe('application/problem+json');
      expect(answer.body.detail).toMatch(/If-Match/);
    }
    expect(await api.scanTable()).toEqual(before);
  });

  it('answers 412 with a stale ETag, and If-Match: * matches any current version', async () => {
    const workspace = newWorkspace();
    const id = (await createDraft(workspace)).body.draftId;
    const put = (ifMatch: string, name: string) =>
      api.call({
        routeKey: 'PUT /v1/drafts/{id}/functions/{name}',
        pathParameters: { id, name },
        headers: { 'if-match': ifMatch },
        caller: { workspace },
        body: functionInput(name),
      });
    expect((await put('"1"', 'first')).status).toBe(200);
    const stale = await put('"1"', 'second');
    expect(stale.status).toBe(412);
    expect(stale.body.currentETag).toBe('"2"');
    expect((await put('W/"2"', 'second')).status).toBe(412);
    expect((await put('"7", "2"', 'second')).status).toBe(200);
    const any = await put('*', 'third');
    expect(any.status).toBe(200);
    expect(any.headers.etag).toBe('"4"');
  });

  it('lets exactly one of two concurrent PUTs with the same ETag win; the other gets 412', async () => {
    const workspace = newWorkspace();
    const id = (await createDraft(workspace)).body.draftId;
    for (let round = 0; round < 5; round++) {
      const etag = (
        await api.call({ routeKey: 'GET /v1/drafts/{id}', pathParameters: { id }, caller: { workspace } })
      ).headers.etag as string;
      const answers = await Promise.all(
        ['left', 'right'].map((side) =>
          api.call({
            routeKey: 'PUT /v1/drafts/{id}/functions/{name}',
            pathParameters: { id, name: `${side}-${round}` },
            headers: { 'if-match': etag },
            caller: { workspace },
            body: functionInput(`${side}-${round}`),
          }),
        ),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([200, 412]);
    }
    const read = await api.call({
      routeKey: 'GET /v1/drafts/{id}',
      pathParameters: { id },
      caller: { workspace },
    });
    expect(read.body.version).toBe(6);
    expect(read.body.functionCount).toBe(5);
    expect(read.body.functions).toHaveLength(5);
  });

  it('lets exactly one of two concurrent whole-model PUTs with the same ETag win', async () => {
    const workspace = newWorkspace();
    const id = (await createDraft(workspace)).body.draftId;
    const answers = await Promise.all(
      ['left', 'right'].map((side) =>
        api.call({
          routeKey: 'PUT /v1/drafts/{id}',
          pathParameters: { id },
          headers: { 'if-match': '"1"' },
          caller: { workspace },
          body: { functions: [functionInput(`${side}-a`), functionInput(`${side}-b`)] },
        }),
      ),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, 412]);
    const winner = answers[0]?.status === 200 ? 'left' : 'right';
    const read = await api.call({
      routeKey: 'GET /v1/drafts/{id}',
      pathParameters: { id },
      caller: { workspace },
    });
    expect(read.body.functions.map((f: FunctionSpec) => f.name)).toEqual([`${winner}-a`, `${winner}-b`]);
    // The loser's snapshot was discarded: only the winner's partition and the workspace records remain.
    const snapshots = new Set(
      (await api.scanTable())
        .map((item) => JSON.parse(item) as { pk: { S: string } })
        .map((item) => item.pk.S)
        .filter((pk) => pk.startsWith(`SNAP#${workspace}#`)),
    );
    expect(snapshots.size).toBe(1);
  });

  it('answers 404 when deleting a function the draft does not have', async () => {
    const workspace = newWorkspace();
    const id = (await createDraft(workspace)).body.draftId;
    const answer = await api.call({
      routeKey: 'DELETE /v1/drafts/{id}/functions/{name}',
      pathParameters: { id, name: 'nothing-here' },
      headers: { 'if-match': '"1"' },
      caller: { workspace },
    });
    expect(answer.status).toBe(404);
  });

  it('honours If-Match on DELETE /v1/drafts/{id} when it is sent', async () => {
    const workspace = newWorkspace();
    const id = (await createDraft(workspace)).body.draftId;
    const stale = await api.call({
      routeKey: 'DELETE /v1/drafts/{id}',
      pathParameters: { id },
      headers: { 'if-match': '"9"' },
      caller: { workspace },
    });
    expect(stale.status).toBe(412);
    const ok = await api.call({
      routeKey: 'DELETE /v1/drafts/{id}',
      pathParameters: { id },
      headers: { 'if-match': '"1"' },
      caller: { workspace },
    });
    expect(ok.status).toBe(204);
  });

  it('deletes the partitions of a discarded draft', async () => {
    const workspace = newWorkspace();
    const id = (await createDraft(workspace, { functions: [functionInput('one'), functionInput('two')] }))
      .body.draftId;
    await api.call({
      routeKey: 'PUT /v1/drafts/{id}/functions/{name}',
      pathParameters: { id, name: 'three' },
      headers: { 'if-match': '"1"' },
      caller: { workspace },
      body: functionInput('three'),
    });
    await api.call({ routeKey: 'DELETE /v1/drafts/{id}', pathParameters: { id }, caller: { workspace } });
    const left = (await api.scanTable())
      .map((item) => JSON.parse(item) as { pk: { S: string } })
      .filter((item) => item.pk.S !== `AUDIT#${workspace}` && item.pk.S.includes(workspace));
    expect(left).toEqual([]);
  });
});

describe('plan', () => {
  const base = [
    functionSpec('alpha'),
    functionSpec('bravo', { environment: { LOG_LEVEL: 'info' } }),
    functionSpec('charlie', { reservedConcurrency: 5, tags: { team: 'a' } }),
  ];
  it.each([
    {
      title: 'nothing changed',
      edits: [],
      changes: [],
      summary: { create: 0, update: 0, delete: 0, unchanged: 3 },
    },
    {
      title: 'a function added',
      edits: [{ put: functionInput('delta') }],
      changes: [['delta', 'create']],
      summary: { create: 1, update: 0, delete: 0, unchanged: 3 },
    },
    {
      title: 'a function removed',
      edits: [{ remove: 'bravo' }],
      changes: [['bravo', 'delete']],
      summary: { create: 0, update: 0, delete: 1, unchanged: 2 },
    },
    {
      title: 'memory and an environment value changed',
      edits: [
        {
          put: functionInput('bravo', {
            memoryMiB: 256,
            environment: { LOG_LEVEL: 'debug' },
            code: { sha256: sampleCodeRef('shared').sha256 },
          }),
        },
      ],
      changes: [['bravo', 'update', ['environment.LOG_LEVEL', 'memoryMiB']]],
      summary: { create: 0, update: 1, delete: 0, unchanged: 2 },
    },
    {
      title: 'reserved concurrency unset and a tag removed',
      edits: [{ put: functionInput('charlie', { code: { sha256: sampleCodeRef('shared').sha256 } }) }],
      changes: [['charlie', 'update', ['reservedConcurrency', 'tags.team']]],
      summary: { create: 0, update: 1, delete: 0, unchanged: 2 },
    },
    {
      title: 'new code',
      edits: [{ put: functionInput('alpha') }],
      changes: [['alpha', 'update', ['code.sha256']]],
      summary: { create: 0, update: 1, delete: 0, unchanged: 2 },
    },
    {
      title: 'a remove, an add and an update at once, in name order',
      edits: [
        { put: functionInput('zulu') },
        { remove: 'alpha' },
        {
          put: functionInput('bravo', {
            timeoutSeconds: 60,
            environment: { LOG_LEVEL: 'info' },
            code: { sha256: sampleCodeRef('shared').sha256 },
          }),
        },
      ],
      changes: [
        ['alpha', 'delete'],
        ['bravo', 'update', ['timeoutSeconds']],
        ['zulu', 'create'],
      ],
      summary: { create: 1, update: 1, delete: 1, unchanged: 1 },
    },
  ])('plans $title', async ({ edits, changes, summary }) => {
    const workspace = newWorkspace();
    // The shared zip must be in the bucket for `{ sha256 }` references to resolve.
    await api.artifacts.putZip(sampleZip('shared'));
    await api.snapshots.setLiveModel(workspace, base, { expectedEpoch: 0 });
    const id = (await createDraft(workspace)).body.draftId;
    let version = 1;
    for (const edit of edits as ({ put: Record<string, unknown> } | { remove: string })[]) {
      const answer =
        'put' in edit
          ? await api.call({
              routeKey: 'PUT /v1/drafts/{id}/functions/{name}',
              pathParameters: { id, name: edit.put.name as string },
              headers: { 'if-match': `"${version}"` },
              caller: { workspace },
              body: edit.put,
            })
          : await api.call({
              routeKey: 'DELETE /v1/drafts/{id}/functions/{name}',
              pathParameters: { id, name: edit.remove },
              headers: { 'if-match': `"${version}"` },
              caller: { workspace },
            });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      version++;
    }
    const plan = await api.call({
      routeKey: 'GET /v1/drafts/{id}/plan',
      pathParameters: { id },
      caller: { workspace },
    });
    expect(plan.status).toBe(200);
    expect(plan.body.summary).toEqual(summary);
    expect(
      plan.body.changes.map((c: { name: string; action: string; diffs: { field: string }[] }) =>
        c.action === 'update' ? [c.name, c.action, c.diffs.map((d) => d.field)] : [c.name, c.action],
      ),
    ).toEqual(changes);
  });

  it('reports the live epoch moving on after the draft was based', async () => {
    const workspace = newWorkspace();
    await api.snapshots.setLiveModel(workspace, base, { expectedEpoch: 0 });
    const id = (await createDraft(workspace)).body.draftId;
    await api.snapshots.setLiveModel(workspace, [...base, functionSpec('echo')], { expectedEpoch: 1 });
    const plan = await api.call({
      routeKey: 'GET /v1/drafts/{id}/plan',
      pathParameters: { id },
      caller: { workspace },
    });
    expect(plan.body).toMatchObject({ baseEpoch: 1, liveEpoch: 2, summary: { delete: 1, unchanged: 3 } });
    expect(plan.body.changes).toEqual([{ name: 'echo', action: 'delete', diffs: [] }]);
  });
});
