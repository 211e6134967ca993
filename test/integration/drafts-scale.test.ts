import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionSpec } from '../../core/spec.ts';
import { sampleZip } from '../../support/fixtures.ts';
import { functionName, functionSpec } from '../support/fixtures.ts';
import { type ManagementApiHarness, startManagementApi } from '../support/management-api.ts';

let api: ManagementApiHarness;
beforeAll(async () => {
  api = await startManagementApi();
});
afterAll(async () => {
  await api?.close();
});

describe('a 5,000-function workspace', () => {
  it('creates a 5,000-function draft and plans it against a 5,000-function live model', async () => {
    const workspace = 'fleet';
    const total = 5000;
    const code = await api.artifacts.putZip(sampleZip('shared'));
    const live = Array.from({ length: total }, (_, i) => functionSpec(functionName(i), { code }));
    await api.snapshots.setLiveModel(workspace, live, { expectedEpoch: 0 });

    // The draft: functions 0..249 removed, 250..499 with more memory, 5000..5249 new: 10% changed.
    const draftFunctions = [
      ...live.slice(250).map((spec, i) => ({
        name: spec.name,
        runtime: spec.runtime,
        handler: spec.handler,
        code: { sha256: code.sha256 },
        ...(i < 250 ? { memoryMiB: 256 } : {}),
      })),
      ...Array.from({ length: 250 }, (_, i) => ({
        name: functionName(total + i),
        runtime: 'nodejs24.x',
        handler: 'index.handler',
        code: { sha256: code.sha256 },
      })),
    ];
    expect(draftFunctions).toHaveLength(total);

    const created = await api.call({
      routeKey: 'POST /v1/drafts',
      caller: { workspace },
      body: { functions: draftFunctions },
    });
    expect(created.status, JSON.stringify(created.body).slice(0, 500)).toBe(201);
    expect(created.body.functionCount).toBe(total);
    const id = created.body.draftId as string;

    const plan = await api.call({
      routeKey: 'GET /v1/drafts/{id}/plan',
      pathParameters: { id },
      caller: { workspace },
    });
    expect(plan.status).toBe(200);
    expect(plan.body.summary).toEqual({ create: 250, update: 250, delete: 250, unchanged: 4500 });
    expect(plan.body.changes).toHaveLength(750);
    expect(plan.body.changes[0]).toEqual({ name: functionName(0), action: 'delete', diffs: [] });
    expect(plan.body.changes[250]).toEqual({
      name: functionName(250),
      action: 'update',
      diffs: [{ field: 'memoryMiB', before: 128, after: 256 }],
    });
    expect(plan.body.changes[749]).toMatchObject({ name: functionName(total + 249), action: 'create' });

    const read = await api.call({
      routeKey: 'GET /v1/drafts/{id}',
      pathParameters: { id },
      caller: { workspace },
    });
    expect(read.status).toBe(200);
    expect(read.body.nextCursor).toBeUndefined();
    const names = read.body.functions.map((f: FunctionSpec) => f.name);
    expect(names).toHaveLength(total);
    expect(names[0]).toBe(functionName(250));
    expect(names.at(-1)).toBe(functionName(total + 249));

    // One more function than the design limit is refused, and the draft is unchanged.
    const over = await api.call({
      routeKey: 'PUT /v1/drafts/{id}/functions/{name}',
      pathParameters: { id, name: 'one-too-many' },
      headers: { 'if-match': '"1"' },
      caller: { workspace },
      body: { runtime: 'nodejs24.x', handler: 'index.handler', code: { sha256: code.sha256 } },
    });
    expect(over.status).toBe(409);
    expect(over.body.detail).toMatch(/5000 functions/);

    const removed = await api.call({
      routeKey: 'DELETE /v1/drafts/{id}',
      pathParameters: { id },
      caller: { workspace },
    });
    expect(removed.status).toBe(204);
    const left = (await api.scanTable()).filter((item) => item.includes(`"SNAP#${workspace}#`));
    expect(left).toHaveLength(total);
  });
});
