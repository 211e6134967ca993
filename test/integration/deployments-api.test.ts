import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentIdPattern } from '../../core/deployments/ids.ts';
import type { FunctionSpec } from '../../core/spec.ts';
import { transactWrite } from '../../core/store/transact.ts';
import { localCredentials, localRegion, reservePort } from '../../local/net.ts';
import { functionInput } from '../../support/fixtures.ts';
import { functionSpec } from '../support/fixtures.ts';
import { type DeploymentsHarness, startDeploymentsHarness } from './deployments-harness.ts';

let h: DeploymentsHarness;
beforeAll(async () => {
  h = await startDeploymentsHarness();
});
afterAll(async () => {
  await h?.close();
});

const approver = (workspace: string) => ({ workspace, roles: ['approver'] });
const viewer = (workspace: string) => ({ workspace, roles: ['viewer'] });
const context = { actor: { sub: 'seed' }, requestId: 'seed' };

async function seedDraft(workspace: string, functions: readonly FunctionSpec[]): Promise<string> {
  return (await h.drafts.createDraft(workspace, context, functions)).draftId;
}

function deploy(workspace: string, draftId: string, headers: Record<string, string> = {}) {
  return h.call({
    routeKey: 'POST /v1/drafts/{id}/deployments',
    pathParameters: { id: draftId },
    headers,
    caller: approver(workspace),
  });
}

async function executionsOf(): Promise<string[]> {
  const listed = await h.sfn.send(
    new ListExecutionsCommand({ stateMachineArn: h.stateMachineArn, maxResults: 1000 }),
  );
  return (listed.executions ?? []).map((e) => e.name as string);
}

describe('POST /v1/drafts/{id}/deployments', () => {
  it('answers 202 with Location and the Requested record, freezes the draft, takes the lock and starts the execution', async () => {
    const ws = 'start-one';
    const draftId = await seedDraft(ws, [functionSpec('orders'), functionSpec('billing')]);

    const answer = await deploy(ws, draftId);

    expect(answer.status).toBe(202);
    const id = answer.body.deploymentId as string;
    expect(id).toMatch(deploymentIdPattern);
    expect(answer.headers.location).toBe(`/v1/deployments/${id}`);
    expect(answer.body).toMatchObject({
      workspace: ws,
      draftId,
      draftVersion: 1,
      status: 'Requested',
      baseEpoch: 0,
      targetEpoch: 1,
      counts: { create: 2, update: 0, delete: 0 },
      startedBy: { sub: `user-${ws}` },
      executionArn: `${h.stateMachineArn.replace(':stateMachine:', ':execution:')}:${id}`,
    });
    expect(answer.body.consoleUrl).toBe(
      `https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/${answer.body.executionArn}`,
    );
    expect(await h.drafts.getDraftSummary(ws, draftId)).toMatchObject({ state: 'frozen', deploymentId: id });
    expect(await h.deployments.getLock(ws)).toMatchObject({ deploymentId: id });
    const execution = await h.sfn.send(
      new DescribeExecutionCommand({ executionArn: answer.body.executionArn }),
    );
    expect(execution.status).toBe('RUNNING');
    expect(JSON.parse(execution.input ?? '{}')).toEqual({ workspace: ws, deploymentId: id });
    const audit = await h.audit.listAudit(ws);
    expect(audit.records[0]).toMatchObject({
      action: 'deployment.start',
      draftId,
      detail: { deploymentId: id, draftVersion: 1 },
    });
  });

  it('answers the same deployment for the same Idempotency-Key and starts no second execution', async () => {
    const ws = 'idempotent';
    const draftId = await seedDraft(ws, [functionSpec('orders')]);
    const first = await deploy(ws, draftId, { 'Idempotency-Key': 'k-1' });
    const again = await deploy(ws, draftId, { 'Idempotency-Key': 'k-1' });

    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body.deploymentId).toBe(first.body.deploymentId);
    expect(again.headers.location).toBe(first.headers.location);
    expect((await executionsOf()).filter((name) => name === first.body.deploymentId)).toHaveLength(1);
    const audit = await h.audit.listAudit(ws);
    expect(audit.records.filter((r) => r.action === 'deployment.start')).toHaveLength(1);
  });

  it('refuses a second deployment while one is in flight with 409 naming it', async () => {
    const ws = 'one-at-a-time';
    const firstDraft = await seedDraft(ws, [functionSpec('orders')]);
    const secondDraft = await seedDraft(ws, [functionSpec('billing')]);
    const first = await deploy(ws, firstDraft);
    const before = await h.scanTable();

    const second = await deploy(ws, secondDraft);

    expect(second.status).toBe(409);
    expect(second.headers['content-type']).toBe('application/problem+json');
    expect(second.body).toMatchObject({
      type: 'https://greco.dev/problems/deployment-in-progress',
      deploymentId: first.body.deploymentId,
    });
    expect(second.body.detail).toContain(first.body.deploymentId);
    expect(await h.scanTable()).toEqual(before);
    // The first draft again, without a key: its deployment is still Requested (its stand-in
    // execution never begins), so the request answers that same deployment, not a second one.
    const same = await deploy(ws, firstDraft);
    expect(same.status).toBe(202);
    expect(same.body.deploymentId).toBe(first.body.deploymentId);
  });

  it('lets exactly one of two concurrent requests on one workspace through', async () => {
    const ws = 'race';
    const drafts = await Promise.all([
      seedDraft(ws, [functionSpec('a')]),
      seedDraft(ws, [functionSpec('b')]),
    ]);
    const answers = await Promise.all(drafts.map((draftId) => deploy(ws, draftId)));
    expect(answers.map((a) => a.status).sort()).toEqual([202, 409]);
    const winner = answers.find((a) => a.status === 202);
    const loser = answers.find((a) => a.status === 409);
    expect(loser?.body.deploymentId).toBe(winner?.body.deploymentId);
    const frozen = await Promise.all(drafts.map((d) => h.drafts.getDraftSummary(ws, d)));
    expect(frozen.map((d) => d.state).sort()).toEqual(['frozen', 'open']);
  });

  it('plans once: writes the change set with the Requested record, and leaves none of a request that lost', async () => {
    // Prepare
    const ws = 'planned';
    const specs = [functionSpec('orders'), functionSpec('billing', { memoryMiB: 256 })];
    const drafts = await Promise.all([seedDraft(ws, specs), seedDraft(ws, [functionSpec('other')])]);

    // Act
    const answers = await Promise.all(drafts.map((draftId) => deploy(ws, draftId)));

    // Assess
    const winner = answers.find((a) => a.status === 202);
    const id = winner?.body.deploymentId as string;
    const changes = await h.deployments.listChanges(ws, id);
    const winnerDraft = winner?.body.draftId === drafts[0] ? specs : [functionSpec('other')];
    expect(changes).toEqual(
      [...winnerDraft]
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .map((spec) => ({
          name: spec.name,
          action: 'create',
          managedName: `greco-${ws}-${spec.name}`,
          spec,
        })),
    );
    const items = await h.scanTable();
    expect(items.filter((item) => item.includes(`PENDING#DEPLOY#${ws}#`))).toEqual([]);
    expect(items.filter((item) => item.includes(`DEPLOY#${ws}#`) && !item.includes(id))).toEqual([]);
  });

  it('refuses a draft equal to the live model with 409 nothing-to-deploy and writes nothing', async () => {
    const ws = 'no-changes';
    await h.snapshots.setLiveModel(ws, [functionSpec('orders')], { expectedEpoch: 0 });
    const draftId = (await h.drafts.createDraft(ws, context)).draftId;
    const before = await h.scanTable();

    const answer = await deploy(ws, draftId);

    expect(answer.status).toBe(409);
    expect(answer.body.type).toBe('https://greco.dev/problems/nothing-to-deploy');
    expect(await h.scanTable()).toEqual(before);
  });

  it('answers 412 for a stale If-Match, 404 for an unknown draft, and 400 for a bad Idempotency-Key', async () => {
    const ws = 'preconditions';
    const draftId = await seedDraft(ws, [functionSpec('orders')]);
    const before = await h.scanTable();
    const stale = await deploy(ws, draftId, { 'If-Match': '"7"' });
    expect(stale.status).toBe(412);
    const missing = await deploy(ws, 'no-such-draft');
    expect(missing.status).toBe(404);
    const badKey = await deploy(ws, draftId, { 'Idempotency-Key': 'é'.repeat(3) });
    expect(badKey.status).toBe(400);
    expect(badKey.body.errors[0].field).toBe('headers.idempotency-key');
    expect(await h.scanTable()).toEqual(before);
    const fresh = await deploy(ws, draftId, { 'If-Match': '"1"' });
    expect(fresh.status).toBe(202);
  });

  it('refuses edits of a frozen draft with 409', async () => {
    const ws = 'frozen-edits';
    const draftId = await seedDraft(ws, [functionSpec('orders')]);
    const started = await deploy(ws, draftId);
    const edit = await h.call({
      routeKey: 'PUT /v1/drafts/{id}/functions/{name}',
      pathParameters: { id: draftId, name: 'orders' },
      headers: { 'If-Match': '*' },
      body: functionInput('orders'),
      caller: { workspace: ws, roles: ['editor'] },
    });
    expect(edit.status).toBe(409);
    expect(edit.body).toMatchObject({ state: 'frozen', deploymentId: started.body.deploymentId });
  });

  it.each([['viewer'], ['editor'], ['operator']])(
    'refuses a %s with 403 and writes nothing',
    async (role) => {
      const ws = `role-${role}`;
      const draftId = await seedDraft(ws, [functionSpec('orders')]);
      const before = await h.scanTable();
      const answer = await h.call({
        routeKey: 'POST /v1/drafts/{id}/deployments',
        pathParameters: { id: draftId },
        caller: { workspace: ws, roles: [role] },
      });
      expect(answer.status).toBe(403);
      expect(await h.scanTable()).toEqual(before);
    },
  );

  it('records the deployment and answers 503 with Retry-After when StartExecution fails; the same request starts it', async () => {
    const ws = 'sfn-down';
    const draftId = await seedDraft(ws, [functionSpec('orders')]);
    // A port this process holds and serves nothing on: every connection to it is reset.
    const unserved = await reservePort();
    const down = new SFNClient({
      endpoint: `http://127.0.0.1:${unserved.port}`,
      region: localRegion,
      credentials: localCredentials,
      maxAttempts: 1,
    });
    try {
      const failed = await h.call(
        {
          routeKey: 'POST /v1/drafts/{id}/deployments',
          pathParameters: { id: draftId },
          headers: { 'Idempotency-Key': 'retry-me' },
          caller: approver(ws),
        },
        { sfn: down },
      );
      expect(failed.status).toBe(503);
      expect(failed.headers['retry-after']).toBe('5');
      const id = failed.body.deploymentId as string;
      expect(failed.headers.location).toBe(`/v1/deployments/${id}`);
      expect((await h.deployments.get(ws, id))?.status).toBe('Requested');
      expect(await executionsOf()).not.toContain(id);

      const retried = await deploy(ws, draftId, { 'Idempotency-Key': 'retry-me' });
      expect(retried.status).toBe(202);
      expect(retried.body.deploymentId).toBe(id);
      expect((await executionsOf()).filter((name) => name === id)).toHaveLength(1);
    } finally {
      down.destroy();
      await unserved.release();
    }
  });
});

describe('GET /v1/deployments[/{id}]', () => {
  it('lists the workspace deployments newest first, page by page', async () => {
    const ws = 'listing';
    const ids: string[] = [];
    for (const name of ['one', 'two', 'three']) {
      const draftId = await seedDraft(ws, [functionSpec(name)]);
      const answer = await deploy(ws, draftId);
      ids.push(answer.body.deploymentId);
      // Free the workspace for the next one, as a finished deployment would.
      await h.deployments.update(ws, answer.body.deploymentId, {
        update: 'SET #s = :aborted',
        condition: 'attribute_exists(pk)',
        names: { '#s': 'status' },
        values: { ':aborted': 'Aborted' },
      });
      await transactWrite(
        h.doc,
        [h.deployments.releaseLockItem(ws, answer.body.deploymentId)],
        async () => undefined,
      );
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await h.call({
        routeKey: 'GET /v1/deployments',
        query: cursor === undefined ? { limit: '2' } : { limit: '2', cursor },
        caller: viewer(ws),
      });
      expect(page.status).toBe(200);
      seen.push(...page.body.deployments.map((d: { deploymentId: string }) => d.deploymentId));
      cursor = page.body.nextCursor;
    } while (cursor !== undefined);
    expect(seen).toEqual([...ids].reverse());

    const other = await h.call({ routeKey: 'GET /v1/deployments', caller: viewer('listing-other') });
    expect(other.body).toEqual({ deployments: [] });
    const badCursor = await h.call({
      routeKey: 'GET /v1/deployments',
      query: { cursor: 'nope' },
      caller: viewer(ws),
    });
    expect(badCursor.status).toBe(400);
  });

  it('shows one deployment with phases, per-function results and the console link; other workspaces get 404', async () => {
    const ws = 'detail';
    const draftId = await seedDraft(ws, [functionSpec('orders'), functionSpec('billing')]);
    const started = await deploy(ws, draftId);
    const id = started.body.deploymentId as string;
    await h.steps.begin({ workspace: ws, deploymentId: id });
    await h.stageResult(ws, id, 'orders', '1');

    const answer = await h.call({
      routeKey: 'GET /v1/deployments/{id}',
      pathParameters: { id },
      caller: viewer(ws),
    });

    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe('Preparing');
    expect(answer.body.phases.requestedAt).toBeTypeOf('string');
    expect(answer.body.phases.preparingAt).toBeTypeOf('string');
    expect(answer.body.consoleUrl).toContain(encodeURI(answer.body.executionArn));
    expect(answer.body.functions).toEqual([
      { name: 'billing', action: 'create', status: 'pending', reasons: [] },
      expect.objectContaining({
        name: 'orders',
        action: 'create',
        conductor: 'lambda',
        status: 'staged',
        version: '1',
      }),
    ]);
    expect(answer.body.events).toBeUndefined();

    const foreign = await h.call({
      routeKey: 'GET /v1/deployments/{id}',
      pathParameters: { id },
      caller: viewer('detail-other'),
    });
    expect(foreign.status).toBe(404);
    const malformed = await h.call({
      routeKey: 'GET /v1/deployments/{id}',
      pathParameters: { id: 'not-an-id' },
      caller: viewer(ws),
    });
    // Every path parameter is checked before any I/O (issue 10, defect 2): 400 naming it.
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors).toEqual([
      { field: 'id', message: expect.stringContaining('a deployment id') },
    ]);
  });
});
