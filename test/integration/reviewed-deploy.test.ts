/**
 * Issue 11, "Deploy exactly what was reviewed": stale drafts, rebase, plan hashes and the
 * two-person rule, against DynamoDB Local through the API handlers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planChanges, planHash } from '../../core/plan.ts';
import type { FunctionSpec } from '../../core/spec.ts';
import { functionSpec } from '../support/fixtures.ts';
import { type DeploymentsHarness, startDeploymentsHarness } from './deployments-harness.ts';

let h: DeploymentsHarness;
beforeAll(async () => {
  h = await startDeploymentsHarness();
});
afterAll(async () => {
  await h?.close();
});

const seed = { actor: { sub: 'seed' }, requestId: 'seed' };

/** Makes `functions` live at epoch `expectedEpoch + 1`, as a committed deployment would. */
async function setLive(ws: string, functions: readonly FunctionSpec[], expectedEpoch: number): Promise<void> {
  await h.snapshots.setLiveModel(ws, functions, { expectedEpoch });
}

/** A draft copied from the live model (based on the live epoch), then edited by `seed`. */
async function draftFromLive(
  ws: string,
  edits: readonly FunctionSpec[],
): Promise<{ draftId: string; version: number }> {
  const { draftId } = await h.drafts.createDraft(ws, seed);
  let version = 1;
  for (const spec of edits)
    version = (await h.drafts.putDraftFunction(ws, draftId, spec, version, seed)).draft.version;
  return { draftId, version };
}

function deploy(
  ws: string,
  draftId: string,
  init: { body?: unknown; sub?: string; twoPersonRule?: boolean } = {},
) {
  return h.call(
    {
      routeKey: 'POST /v1/drafts/{id}/deployments',
      pathParameters: { id: draftId },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
      caller: {
        workspace: ws,
        roles: ['approver', 'editor'],
        ...(init.sub === undefined ? {} : { sub: init.sub }),
      },
    },
    init.twoPersonRule === undefined ? {} : { twoPersonRule: init.twoPersonRule },
  );
}

function rebase(ws: string, draftId: string, version: number) {
  return h.call({
    routeKey: 'POST /v1/drafts/{id}/rebase',
    pathParameters: { id: draftId },
    headers: { 'if-match': `"${version}"` },
    caller: { workspace: ws, roles: ['editor'] },
  });
}

function plan(ws: string, draftId: string) {
  return h.call({
    routeKey: 'GET /v1/drafts/{id}/plan',
    pathParameters: { id: draftId },
    caller: { workspace: ws, roles: ['viewer'] },
  });
}

describe('stale drafts', () => {
  it('refuses to deploy a draft whose base epoch is no longer live with 409 stale-draft and the plan against the live epoch', async () => {
    // Prepare: epoch 1 has orders; a draft of epoch 1 adds billing; epoch 2 changes orders' memory.
    const ws = 'stale-409';
    await setLive(ws, [functionSpec('orders')], 0);
    const { draftId } = await draftFromLive(ws, [functionSpec('billing')]);
    await setLive(ws, [functionSpec('orders', { memoryMiB: 256 })], 1);
    const before = await h.scanTable();

    // Act
    const answer = await deploy(ws, draftId);

    // Assess: 409 with the bounded plan; the draft would revert orders' memory; nothing written.
    expect(answer.status).toBe(409);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    expect(answer.body).toMatchObject({
      type: 'https://greco.dev/problems/stale-draft',
      baseEpoch: 1,
      liveEpoch: 2,
      plan: {
        summary: { create: 1, update: 1, delete: 0, unchanged: 0 },
        truncated: false,
        changes: [
          { name: 'billing', action: 'create' },
          { name: 'orders', action: 'update', diffs: [{ field: 'memoryMiB', before: 256, after: 128 }] },
        ],
      },
    });
    expect(await h.scanTable()).toEqual(before);
  });
});

describe('POST /v1/drafts/{id}/rebase', () => {
  it('merges the draft onto the live epoch when no field conflicts, keeping both sides, and the draft then deploys', async () => {
    // Prepare: the draft adds billing and sets orders' LOG_LEVEL; epoch 2 raises orders' memory.
    const ws = 'rebase-clean';
    await setLive(ws, [functionSpec('orders')], 0);
    const { draftId, version } = await draftFromLive(ws, [
      functionSpec('billing'),
      functionSpec('orders', { environment: { LOG_LEVEL: 'debug' } }),
    ]);
    await setLive(ws, [functionSpec('orders', { memoryMiB: 256 })], 1);

    // Act
    const answer = await rebase(ws, draftId, version);

    // Assess: on epoch 2, both changes kept; the plan no longer reverts epoch 2; it deploys.
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ rebased: true, fromEpoch: 1, liveEpoch: 2, draft: { baseEpoch: 2 } });
    expect(answer.headers.etag).toBe(`"${version + 1}"`);
    const draft = await h.drafts.getDraft(ws, draftId);
    expect(draft.functions.map((f) => [f.name, f.memoryMiB, f.environment])).toEqual([
      ['billing', 128, {}],
      ['orders', 256, { LOG_LEVEL: 'debug' }],
    ]);
    const planned = await plan(ws, draftId);
    expect(planned.body).toMatchObject({ baseEpoch: 2, liveEpoch: 2, summary: { create: 1, update: 1 } });
    expect(planned.body.changes[1]).toMatchObject({
      name: 'orders',
      diffs: [{ field: 'environment.LOG_LEVEL', after: 'debug' }],
    });
    const audit = await h.audit.listAudit(ws);
    expect(audit.records[0]).toMatchObject({
      action: 'draft.rebase',
      detail: { fromEpoch: 1, baseEpoch: 2 },
    });
    expect((await deploy(ws, draftId)).status).toBe(202);
  });

  it('answers 409 rebase-conflict listing each field both sides changed differently, and changes nothing', async () => {
    // Prepare: the draft sets orders' memory to 512 and deletes billing; epoch 2 sets it to 256 and changes billing.
    const ws = 'rebase-conflict';
    await setLive(ws, [functionSpec('orders'), functionSpec('billing')], 0);
    const { draftId, version } = await draftFromLive(ws, [functionSpec('orders', { memoryMiB: 512 })]);
    await h.drafts.deleteDraftFunction(ws, draftId, 'billing', version, seed);
    await setLive(
      ws,
      [functionSpec('orders', { memoryMiB: 256 }), functionSpec('billing', { timeoutSeconds: 9 })],
      1,
    );
    const before = await h.scanTable();

    // Act
    const answer = await rebase(ws, draftId, version + 1);

    // Assess
    expect(answer.status).toBe(409);
    expect(answer.body).toMatchObject({ type: 'https://greco.dev/problems/rebase-conflict', liveEpoch: 2 });
    expect(answer.body.conflicts).toEqual([
      { function: 'billing', field: 'function', base: 'present', draft: 'deleted', live: 'changed' },
      { function: 'orders', field: 'memoryMiB', base: 128, draft: 512, live: 256 },
    ]);
    expect(await h.scanTable()).toEqual(before);
    expect((await h.drafts.getDraftSummary(ws, draftId)).baseEpoch).toBe(1);
  });
});

describe('plan hashes', () => {
  it('returns planHash with the plan, deploys with it, and refuses a stale one with 412 plan-changed, starting nothing', async () => {
    // Prepare: a plan read, then the draft edited.
    const ws = 'plan-hash';
    const { draftId } = await h.drafts.createDraft(ws, seed, [functionSpec('orders')]);
    const read = await plan(ws, draftId);
    expect(read.body.planHash).toBe(planHash(planChanges([], [functionSpec('orders')])));
    expect(read.body.planHash).toMatch(/^[0-9a-f]{64}$/);
    await h.drafts.putDraftFunction(ws, draftId, functionSpec('billing'), 1, seed);
    const before = await h.scanTable();

    // Act
    const stale = await deploy(ws, draftId, { body: { planHash: read.body.planHash } });

    // Assess: 412, no record, no lock, no execution; the current hash deploys.
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ type: 'https://greco.dev/problems/plan-changed' });
    expect(await h.scanTable()).toEqual(before);
    expect(await h.deployments.getLock(ws)).toBeUndefined();
    const current = await plan(ws, draftId);
    expect(stale.body.planHash).toBe(current.body.planHash);
    expect((await deploy(ws, draftId, { body: { planHash: current.body.planHash } })).status).toBe(202);
  });

  it('rejects a malformed planHash with 400', async () => {
    const ws = 'plan-hash-400';
    const { draftId } = await h.drafts.createDraft(ws, seed, [functionSpec('orders')]);

    const answer = await deploy(ws, draftId, { body: { planHash: 'abc' } });

    expect(answer.status).toBe(400);
    expect(answer.body.errors).toEqual([{ field: 'planHash', message: expect.stringContaining('64') }]);
  });
});

describe('two-person rule', () => {
  it("refuses, when on, a deployment by the draft's last editor with 403 naming the rule", async () => {
    const ws = 'two-person-on';
    const { draftId } = await h.drafts.createDraft(ws, { actor: { sub: 'alice' }, requestId: 'r' }, [
      functionSpec('orders'),
    ]);
    const before = await h.scanTable();

    const answer = await deploy(ws, draftId, { sub: 'alice', twoPersonRule: true });

    expect(answer.status).toBe(403);
    expect(answer.body).toMatchObject({
      type: 'https://greco.dev/problems/two-person-rule',
      rule: 'two-person-rule',
    });
    expect(answer.body.detail).toContain('greco:twoPersonRule');
    expect(await h.scanTable()).toEqual(before);
  });

  it('lets, when on, another approver deploy and audits both the approver and the last editor', async () => {
    const ws = 'two-person-other';
    const { draftId } = await h.drafts.createDraft(ws, { actor: { sub: 'alice' }, requestId: 'r' }, [
      functionSpec('orders'),
    ]);

    const answer = await deploy(ws, draftId, { sub: 'bob', twoPersonRule: true });

    expect(answer.status).toBe(202);
    const audit = await h.audit.listAudit(ws);
    expect(audit.records[0]).toMatchObject({
      action: 'deployment.start',
      actor: { sub: 'bob' },
      detail: { lastEditor: { sub: 'alice' } },
    });
  });

  it('lets the last editor deploy when the rule is off (the default)', async () => {
    const ws = 'two-person-off';
    const { draftId } = await h.drafts.createDraft(ws, { actor: { sub: 'alice' }, requestId: 'r' }, [
      functionSpec('orders'),
    ]);

    const answer = await deploy(ws, draftId, { sub: 'alice' });

    expect(answer.status).toBe(202);
  });
});
