import type { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  DeploymentStateError,
  EventPublishError,
  InvalidStepInputError,
} from '../../core/deployments/errors.ts';
import { DeploymentEvents } from '../../core/deployments/events.ts';
import { markerObjectKey, snapshotObjectKey } from '../../core/deployments/keys.ts';
import { runDeploymentStep } from '../../core/deployments/step-input.ts';
import { DeploymentStepMetrics, DeploymentSteps } from '../../core/deployments/steps.ts';
import type { ConductorVote, DeploymentEventType } from '../../core/deployments/types.ts';
import type { FunctionSpec } from '../../core/spec.ts';
import { EnvNames } from '../../domain/env.ts';
import { localCredentials, localRegion } from '../../local/net.ts';
import { functionSpec } from '../support/fixtures.ts';
import { lambdaContext } from '../support/http-api-event.ts';
import { conductors, type DeploymentsHarness, startDeploymentsHarness } from './deployments-harness.ts';

let h: DeploymentsHarness;
beforeAll(async () => {
  h = await startDeploymentsHarness();
});
afterAll(async () => {
  await h?.close();
});

const context = { actor: { sub: 'seed' }, requestId: 'seed' };
const accept: ConductorVote = { done: true, vote: 'accept', reasons: [], counts: { done: 1, remaining: 0 } };

/** Creates a draft of `functions` and requests its deployment through the API; the deployment id. */
async function requestDeploymentOf(
  ws: string,
  functions: readonly FunctionSpec[],
): Promise<{ id: string; draftId: string }> {
  const draftId = (await h.drafts.createDraft(ws, context, functions)).draftId;
  const answer = await h.call({
    routeKey: 'POST /v1/drafts/{id}/deployments',
    pathParameters: { id: draftId },
    caller: { workspace: ws, roles: ['approver'] },
  });
  expect(answer.status).toBe(202);
  return { id: answer.body.deploymentId, draftId };
}

function eventsOf(id: string, type?: DeploymentEventType) {
  return h.events.filter(
    (e) =>
      (e.detail as { deploymentId?: string }).deploymentId === id &&
      (type === undefined || e['detail-type'] === type),
  );
}

/** Runs `step` twice and checks that the second run changed nothing in the table. */
async function twice<T>(step: () => Promise<T>): Promise<T> {
  const first = await step();
  const after = await h.scanTable();
  const second = await step();
  expect(second).toEqual(first);
  expect(await h.scanTable()).toEqual(after);
  return first;
}

/** Runs a deployment of `functions` to Committed, staging version `version` of each changed function. */
async function commitAll(ws: string, functions: readonly FunctionSpec[], versions: Record<string, string>) {
  const { id, draftId } = await requestDeploymentOf(ws, functions);
  const begun = await h.steps.begin({ workspace: ws, deploymentId: id });
  for (const [name, version] of Object.entries(versions)) await h.stageResult(ws, id, name, version);
  await h.steps.decide({ workspace: ws, deploymentId: id, votes: [accept] });
  await h.steps.writeEpoch({ workspace: ws, deploymentId: id, targetEpoch: begun.targetEpoch });
  await h.steps.finishCommitted({ workspace: ws, deploymentId: id, targetEpoch: begun.targetEpoch });
  return { id, draftId, targetEpoch: begun.targetEpoch };
}

describe('the commit path', () => {
  it('begins, decides, writes the epoch and finishes Committed, each step idempotent', async () => {
    const ws = 'commit-path';
    const functions = [functionSpec('billing', { memoryMiB: 256 }), functionSpec('orders')];
    const { id, draftId } = await requestDeploymentOf(ws, functions);

    // begin
    const begun = await twice(() => h.steps.begin({ workspace: ws, deploymentId: id }));
    expect(begun).toEqual({ workspace: ws, deploymentId: id, targetEpoch: 1, conductors });
    const preparing = await h.deployments.get(ws, id);
    expect(preparing).toMatchObject({
      status: 'Preparing',
      baseEpoch: 0,
      targetEpoch: 1,
      counts: { create: 2, update: 0, delete: 0 },
    });
    expect(preparing?.phases.preparingAt).toBeTypeOf('string');
    expect(await h.deployments.listChanges(ws, id)).toEqual([
      { name: 'billing', action: 'create', managedName: `greco-${ws}-billing`, spec: functions[0] },
      { name: 'orders', action: 'create', managedName: `greco-${ws}-orders`, spec: functions[1] },
    ]);
    expect(await h.snapshots.readSnapshotPartition(ws, id)).toEqual(functions);
    expect(eventsOf(id, 'Deployment Started')).toHaveLength(1);
    expect(eventsOf(id, 'Deployment Started')[0]).toMatchObject({
      source: 'greco.deployments',
      resources: [preparing?.executionArn],
      detail: { workspace: ws, deploymentId: id, draftId, status: 'Preparing', baseEpoch: 0, targetEpoch: 1 },
    });

    // the conductor stages, then decide
    await h.stageResult(ws, id, 'billing', '1');
    await h.stageResult(ws, id, 'orders', '1');
    const decided = await twice(() => h.steps.decide({ workspace: ws, deploymentId: id, votes: [accept] }));
    expect(decided).toEqual({ ...begun, decision: 'COMMIT' });
    const committing = await h.deployments.get(ws, id);
    expect(committing).toMatchObject({
      status: 'Committing',
      decision: { outcome: 'COMMIT', epoch: 1 },
      votes: { lambda: { vote: 'accept', reasons: [] } },
    });

    // write-epoch
    const epochInput = { workspace: ws, deploymentId: id, targetEpoch: 1 };
    await twice(() => h.steps.writeEpoch(epochInput));
    const committedAt = committing?.decision?.at;
    const routing = {
      billing: { functionName: `greco-${ws}-billing`, version: '1' },
      orders: { functionName: `greco-${ws}-orders`, version: '1' },
    };
    expect(await h.readObject(snapshotObjectKey(ws, 1))).toEqual({
      workspace: ws,
      epoch: 1,
      deploymentId: id,
      committedAt,
      functions,
      routing,
    });
    expect(await h.readObject(markerObjectKey(ws))).toEqual({
      workspace: ws,
      epoch: 1,
      snapshotKey: snapshotObjectKey(ws, 1),
      deploymentId: id,
      committedAt,
    });
    expect(await h.deployments.getEpoch(ws, 1)).toEqual({
      epoch: 1,
      snapshotId: id,
      deploymentId: id,
      snapshotKey: snapshotObjectKey(ws, 1),
      committedAt,
    });
    const live = await h.call({
      routeKey: 'GET /v1/functions',
      caller: { workspace: ws, roles: ['viewer'] },
    });
    expect(live.body).toEqual({ epoch: 1, functions });
    expect((await h.deployments.get(ws, id))?.status).toBe('Committing');

    // finish-committed
    const finished = await twice(() => h.steps.finishCommitted(epochInput));
    expect(finished).toEqual({ ...epochInput, status: 'Committed' });
    expect((await h.deployments.get(ws, id))?.phases.endedAt).toBeTypeOf('string');
    expect(await h.drafts.getDraftSummary(ws, draftId)).toMatchObject({
      state: 'deployed',
      deploymentId: id,
    });
    expect(await h.deployments.getLock(ws)).toBeUndefined();
    expect((await h.audit.listAudit(ws)).records[0]).toMatchObject({
      action: 'deployment.commit',
      draftId,
      actor: { sub: `user-${ws}` },
      detail: { deploymentId: id, status: 'Committed', epoch: 1 },
    });
    expect(eventsOf(id, 'Deployment Committed')).toHaveLength(1);
    expect(eventsOf(id, 'Epoch Activated')).toHaveLength(1);
    expect(eventsOf(id, 'Epoch Activated')[0]?.detail).toMatchObject({
      status: 'Committed',
      epoch: 1,
      previousEpoch: 0,
      snapshotKey: snapshotObjectKey(ws, 1),
    });

    // A deployed draft refuses edits and a second deployment.
    const again = await h.call({
      routeKey: 'POST /v1/drafts/{id}/deployments',
      pathParameters: { id: draftId },
      caller: { workspace: ws, roles: ['approver'] },
    });
    expect(again.status).toBe(409);
    expect(again.body.state).toBe('deployed');
  });

  it('plans a second deployment against the first epoch: previous versions, updates, deletes and routing', async () => {
    const ws = 'second-epoch';
    await commitAll(ws, [functionSpec('billing'), functionSpec('orders')], { billing: '1', orders: '1' });

    const next = [functionSpec('orders', { memoryMiB: 512 }), functionSpec('shipping')];
    const { id } = await requestDeploymentOf(ws, next);
    const begun = await h.steps.begin({ workspace: ws, deploymentId: id });
    expect(begun.targetEpoch).toBe(2);
    expect(await h.deployments.listChanges(ws, id)).toEqual([
      { name: 'billing', action: 'delete', managedName: `greco-${ws}-billing`, previousVersion: '1' },
      {
        name: 'orders',
        action: 'update',
        managedName: `greco-${ws}-orders`,
        spec: next[0],
        previousVersion: '1',
      },
      { name: 'shipping', action: 'create', managedName: `greco-${ws}-shipping`, spec: next[1] },
    ]);
    await h.stageResult(ws, id, 'orders', '2');
    await h.stageResult(ws, id, 'shipping', '1');
    await h.steps.decide({ workspace: ws, deploymentId: id, votes: [{ ...accept, conductor: 'lambda' }] });
    await h.steps.writeEpoch({ workspace: ws, deploymentId: id, targetEpoch: 2 });

    expect(((await h.readObject(snapshotObjectKey(ws, 2))) as { routing: unknown }).routing).toEqual({
      orders: { functionName: `greco-${ws}-orders`, version: '2' },
      shipping: { functionName: `greco-${ws}-shipping`, version: '1' },
    });
    const live = await h.call({
      routeKey: 'GET /v1/functions',
      caller: { workspace: ws, roles: ['viewer'] },
    });
    expect(live.body).toEqual({ epoch: 2, functions: next });
  });

  it('finish-commit-incomplete records the error, keeps the lock and publishes once', async () => {
    const ws = 'incomplete';
    const { id, draftId } = await requestDeploymentOf(ws, [functionSpec('orders')]);
    await h.steps.begin({ workspace: ws, deploymentId: id });
    await h.stageResult(ws, id, 'orders', '1');
    await h.steps.decide({ workspace: ws, deploymentId: id, votes: [accept] });
    const input = {
      workspace: ws,
      deploymentId: id,
      targetEpoch: 1,
      error: { Error: 'Lambda.ServiceException', Cause: 'the conductor kept failing' },
    };

    const out = await twice(() => h.steps.finishCommitIncomplete(input));

    expect(out.status).toBe('CommitIncomplete');
    expect(await h.deployments.get(ws, id)).toMatchObject({
      status: 'CommitIncomplete',
      error: { error: 'Lambda.ServiceException', cause: 'the conductor kept failing' },
    });
    expect(await h.deployments.getLock(ws)).toMatchObject({ deploymentId: id });
    expect(await h.drafts.getDraftSummary(ws, draftId)).toMatchObject({ state: 'frozen' });
    expect(eventsOf(id, 'Deployment CommitIncomplete')).toHaveLength(1);
    expect(eventsOf(id, 'Deployment CommitIncomplete')[0]?.detail).toMatchObject({
      status: 'CommitIncomplete',
      error: { error: 'Lambda.ServiceException' },
    });

    // An operator re-drives the commit path: it converges to Committed.
    await h.steps.writeEpoch({ workspace: ws, deploymentId: id, targetEpoch: 1 });
    const redriven = await h.steps.finishCommitted({ workspace: ws, deploymentId: id, targetEpoch: 1 });
    expect(redriven.status).toBe('Committed');
    expect((await h.deployments.get(ws, id))?.error).toBeUndefined();
    expect(await h.deployments.getLock(ws)).toBeUndefined();
    expect(eventsOf(id, 'Deployment Committed')).toHaveLength(1);
  });

  it('finish-commit-incomplete leaves a Committed deployment Committed and publishes nothing', async () => {
    const ws = 'late-incomplete';
    const { id, targetEpoch } = await commitAll(ws, [functionSpec('orders')], { orders: '1' });
    const before = await h.scanTable();
    const out = await h.steps.finishCommitIncomplete({ workspace: ws, deploymentId: id, targetEpoch });
    expect(out.status).toBe('Committed');
    expect(await h.scanTable()).toEqual(before);
    expect(eventsOf(id, 'Deployment CommitIncomplete')).toHaveLength(0);
  });
});

describe('the abort path', () => {
  it('a veto: decide ABORT, finish-aborted → Vetoed, draft open again, lock released, snapshot garbage, one event with reasons', async () => {
    const ws = 'vetoed';
    const { id, draftId } = await requestDeploymentOf(ws, [
      functionSpec('orders', { reservedConcurrency: 950 }),
    ]);
    await h.steps.begin({ workspace: ws, deploymentId: id });
    const reasons = [
      {
        code: 'CONCURRENCY_UNAVAILABLE' as const,
        function: 'orders',
        message: 'only 50 would stay unreserved',
      },
    ];
    const veto: ConductorVote = { done: true, vote: 'veto', reasons, counts: { done: 1, remaining: 0 } };

    const decided = await twice(() => h.steps.decide({ workspace: ws, deploymentId: id, votes: [veto] }));
    expect(decided.decision).toBe('ABORT');
    expect((await h.deployments.get(ws, id))?.status).toBe('Preparing');

    const out = await twice(() => h.steps.finishAborted({ workspace: ws, deploymentId: id, targetEpoch: 1 }));

    expect(out.status).toBe('Vetoed');
    const record = await h.deployments.get(ws, id);
    expect(record).toMatchObject({
      status: 'Vetoed',
      decision: { outcome: 'ABORT' },
      votes: { lambda: { vote: 'veto', reasons } },
    });
    expect(record?.error).toBeUndefined();
    const draft = await h.drafts.getDraftSummary(ws, draftId);
    expect(draft.state).toBe('open');
    expect(draft.deploymentId).toBeUndefined();
    expect(await h.deployments.getLock(ws)).toBeUndefined();
    expect((await h.live.getLiveHead(ws)).epoch).toBe(0);
    expect((await h.scanTable()).some((item) => item.includes(`GARBAGE#SNAP#${ws}#${id}`))).toBe(true);
    expect((await h.audit.listAudit(ws)).records[0]).toMatchObject({
      action: 'deployment.abort',
      detail: { status: 'Vetoed' },
    });
    expect(eventsOf(id, 'Deployment Vetoed')).toHaveLength(1);
    expect(eventsOf(id, 'Deployment Vetoed')[0]?.detail).toMatchObject({
      status: 'Vetoed',
      reasons: [{ ...reasons[0], conductor: 'lambda' }],
    });
    expect(await h.garbage.collectGarbage(ws)).toMatchObject({ partitions: 1, items: 1 });

    // The reopened draft can be deployed again.
    const retry = await h.call({
      routeKey: 'POST /v1/drafts/{id}/deployments',
      pathParameters: { id: draftId },
      caller: { workspace: ws, roles: ['approver'] },
    });
    expect(retry.status).toBe(202);
    expect(retry.body.deploymentId).not.toBe(id);
  });

  it('an error in prepare: decide ABORT with the error, finish-aborted → Aborted, one event with the error', async () => {
    const ws = 'aborted';
    const { id, draftId } = await requestDeploymentOf(ws, [functionSpec('orders')]);
    await h.steps.begin({ workspace: ws, deploymentId: id });
    const prepareError = { Error: 'Lambda.Unknown', Cause: 'the conductor crashed' };

    const decided = await h.steps.decide({ workspace: ws, deploymentId: id, prepareError });
    const out = await h.steps.finishAborted({ workspace: ws, deploymentId: id, targetEpoch: 1 });

    expect(decided.decision).toBe('ABORT');
    expect(out.status).toBe('Aborted');
    expect(await h.deployments.get(ws, id)).toMatchObject({
      status: 'Aborted',
      error: { error: 'Lambda.Unknown', cause: 'the conductor crashed' },
    });
    expect((await h.drafts.getDraftSummary(ws, draftId)).state).toBe('open');
    expect(await h.deployments.getLock(ws)).toBeUndefined();
    expect(eventsOf(id, 'Deployment Aborted')).toHaveLength(1);
    expect(eventsOf(id, 'Deployment Aborted')[0]?.detail).toMatchObject({
      error: { error: 'Lambda.Unknown' },
    });
    expect(eventsOf(id, 'Deployment Vetoed')).toHaveLength(0);
  });

  it('a begin that failed: decide ABORT from Requested, finish-aborted → Aborted, and no Started event', async () => {
    const ws = 'begin-failed';
    const { id } = await requestDeploymentOf(ws, [functionSpec('orders')]);
    await h.steps.decide({
      workspace: ws,
      deploymentId: id,
      prepareError: { Error: 'DeploymentStateError', Cause: 'x' },
    });
    const out = await h.steps.finishAborted({ workspace: ws, deploymentId: id, targetEpoch: 1 });
    expect(out.status).toBe('Aborted');
    await h.steps.begin({ workspace: ws, deploymentId: id });
    expect(eventsOf(id, 'Deployment Started')).toHaveLength(0);
    expect((await h.deployments.get(ws, id))?.status).toBe('Aborted');
  });

  it('a missing vote decides ABORT', async () => {
    const ws = 'no-vote';
    const { id } = await requestDeploymentOf(ws, [functionSpec('orders')]);
    await h.steps.begin({ workspace: ws, deploymentId: id });
    const decided = await h.steps.decide({
      workspace: ws,
      deploymentId: id,
      votes: [{ done: false, counts: { done: 0, remaining: 1 } }],
    });
    expect(decided.decision).toBe('ABORT');
    expect((await h.deployments.get(ws, id))?.error?.error).toBe('NoVote');
  });
});

describe('refusals', () => {
  it('write-epoch without a COMMIT decision throws DeploymentStateError and writes nothing', async () => {
    const ws = 'no-decision';
    const { id } = await requestDeploymentOf(ws, [functionSpec('orders')]);
    await h.steps.begin({ workspace: ws, deploymentId: id });
    const before = await h.scanTable();
    await expect(
      h.steps.writeEpoch({ workspace: ws, deploymentId: id, targetEpoch: 1 }),
    ).rejects.toBeInstanceOf(DeploymentStateError);
    await expect(
      h.steps.finishCommitted({ workspace: ws, deploymentId: id, targetEpoch: 1 }),
    ).rejects.toBeInstanceOf(DeploymentStateError);
    await expect(
      h.steps.finishAborted({ workspace: ws, deploymentId: id, targetEpoch: 1 }),
    ).rejects.toBeInstanceOf(DeploymentStateError);
    expect(await h.scanTable()).toEqual(before);
    expect(await h.readObject(markerObjectKey(ws))).toBeUndefined();
  });

  it('write-epoch without a staged version throws DeploymentStateError and moves no epoch', async () => {
    const ws = 'not-staged';
    const { id } = await requestDeploymentOf(ws, [functionSpec('orders')]);
    await h.steps.begin({ workspace: ws, deploymentId: id });
    await h.steps.decide({ workspace: ws, deploymentId: id, votes: [accept] });
    await expect(h.steps.writeEpoch({ workspace: ws, deploymentId: id, targetEpoch: 1 })).rejects.toThrow(
      /no staged version of function orders/,
    );
    expect((await h.live.getLiveHead(ws)).epoch).toBe(0);
  });

  it('begin refuses a deployment whose live epoch moved since it was planned, and writes nothing', async () => {
    // Prepare
    const ws = 'moved-under';
    const { id } = await requestDeploymentOf(ws, [functionSpec('orders')]);
    await h.snapshots.setLiveModel(ws, [functionSpec('billing')], { expectedEpoch: 0 });
    const before = await h.scanTable();

    // Act
    const failure = h.steps.begin({ workspace: ws, deploymentId: id });

    // Assess
    await expect(failure).rejects.toThrow(/live epoch moved from 0 to 1/);
    await expect(failure).rejects.toBeInstanceOf(DeploymentStateError);
    expect(await h.scanTable()).toEqual(before);
    expect((await h.deployments.get(ws, id))?.status).toBe('Requested');
  });

  it('begin of an unknown deployment throws DeploymentStateError', async () => {
    await expect(
      h.steps.begin({ workspace: 'nobody', deploymentId: 'dep-aaaaaaaaaaaaaaaaaaaaaaaaaa' }),
    ).rejects.toBeInstanceOf(DeploymentStateError);
  });
});

describe('events', () => {
  it('a step whose event cannot be published fails; its transition stays, and a re-run publishes the event once', async () => {
    const ws = 'event-retry';
    const { id } = await requestDeploymentOf(ws, [functionSpec('orders')]);
    await expect(
      h.stepsOnBus('no-such-bus').begin({ workspace: ws, deploymentId: id }),
    ).rejects.toBeInstanceOf(EventPublishError);
    expect((await h.deployments.get(ws, id))?.status).toBe('Preparing');
    expect(eventsOf(id)).toHaveLength(0);

    await h.steps.begin({ workspace: ws, deploymentId: id });
    await h.steps.begin({ workspace: ws, deploymentId: id });
    expect(eventsOf(id, 'Deployment Started')).toHaveLength(1);
  });
});

describe('logging', () => {
  it("logs each step's start and outcome, or its failure, with the action, workspace and deployment id, and counts it", async () => {
    // Prepare
    const ws = 'logged';
    const { id } = await requestDeploymentOf(ws, [functionSpec('orders')]);
    const logger = { info: vi.fn(), warn: vi.fn() };
    const metrics = { addMetric: vi.fn() };
    const steps = new DeploymentSteps({
      stores: h.stores,
      s3: h.s3,
      snapshotsBucket: h.snapshotsBucket,
      events: new DeploymentEvents({ client: h.eventBridge, eventBusName: h.eventBusName }),
      conductors,
      logger: logger as unknown as Logger,
      metrics,
    });

    // Act
    await steps.begin({ workspace: ws, deploymentId: id });
    const failed = await steps
      .writeEpoch({ workspace: ws, deploymentId: id, targetEpoch: 1 })
      .catch((error: unknown) => error);

    // Assess
    const keys = { workspace: ws, deploymentId: id };
    expect(logger.info.mock.calls).toEqual([
      ['deployment step started', { action: 'begin', ...keys }],
      ['deployment step finished', { action: 'begin', ...keys, durationMs: expect.any(Number) }],
      ['deployment step started', { action: 'write-epoch', ...keys }],
    ]);
    expect(failed).toBeInstanceOf(DeploymentStateError);
    expect(logger.warn).toHaveBeenCalledWith(
      { message: 'deployment step failed', action: 'write-epoch', ...keys, durationMs: expect.any(Number) },
      failed,
    );
    expect(metrics.addMetric.mock.calls).toEqual([
      [DeploymentStepMetrics.succeeded, 'Count', 1],
      [DeploymentStepMetrics.failed, 'Count', 1],
    ]);
  });
});

describe('the deployment-steps Lambda handler', () => {
  it('takes the payloads deployment.asl.json sends (action, bare votes, a Catch error, no targetEpoch when finishing)', async () => {
    const ws = 'asl-payloads';
    const committed = await requestDeploymentOf(ws, [functionSpec('orders')]);
    const begun = await runDeploymentStep(h.steps, {
      action: 'begin',
      workspace: ws,
      deploymentId: committed.id,
    });
    await h.stageResult(ws, committed.id, 'orders', '1');
    const decided = await runDeploymentStep(h.steps, {
      action: 'decide',
      workspace: ws,
      deploymentId: committed.id,
      votes: [{ conductor: 'lambda', vote: 'accept', reasons: [] }],
    });
    expect(decided).toEqual({ ...begun, decision: 'COMMIT' });
    const epochPayload = { workspace: ws, deploymentId: committed.id, targetEpoch: 1 };
    await runDeploymentStep(h.steps, { action: 'write-epoch', ...epochPayload });
    expect(await runDeploymentStep(h.steps, { action: 'finish-committed', ...epochPayload })).toMatchObject({
      status: 'Committed',
    });

    const aborted = await requestDeploymentOf(ws, [functionSpec('orders', { memoryMiB: 1024 })]);
    await runDeploymentStep(h.steps, { action: 'begin', workspace: ws, deploymentId: aborted.id });
    const abortDecision = await runDeploymentStep(h.steps, {
      action: 'decide',
      workspace: ws,
      deploymentId: aborted.id,
      votes: [],
      error: { Error: 'States.TaskFailed', Cause: 'the conductor failed' },
    });
    expect(abortDecision).toMatchObject({ decision: 'ABORT', targetEpoch: 2 });
    const finished = await runDeploymentStep(h.steps, {
      action: 'finish-aborted',
      workspace: ws,
      deploymentId: aborted.id,
    });
    expect(finished).toMatchObject({ status: 'Aborted', targetEpoch: 2 });
    expect((await h.deployments.get(ws, aborted.id))?.error).toEqual({
      error: 'States.TaskFailed',
      cause: 'the conductor failed',
    });
  });

  it('dispatches on event.action with its environment, and refuses malformed input', async () => {
    Object.assign(process.env, {
      [EnvNames.configTable]: h.tableName,
      [EnvNames.snapshotsBucket]: h.snapshotsBucket,
      [EnvNames.eventBusName]: h.eventBusName,
      [EnvNames.conductors]: JSON.stringify(conductors),
      [EnvNames.managedPrefix]: 'greco',
      AWS_ENDPOINT_URL_DYNAMODB: h.dynamodbEndpoint,
      AWS_ENDPOINT_URL_S3: h.s3Endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: h.eventBridgeEndpoint,
      AWS_REGION: localRegion,
      AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'ERROR',
    });
    const { handler: steps } = await import('../../lambdas/deployment-steps/index.ts');
    const handler = (event: unknown) => steps(event, lambdaContext('greco-deployment-steps'));
    const ws = 'handler';
    const { id } = await requestDeploymentOf(ws, [functionSpec('orders')]);

    expect(await handler({ action: 'begin', workspace: ws, deploymentId: id })).toEqual({
      workspace: ws,
      deploymentId: id,
      targetEpoch: 1,
      conductors,
    });
    expect(eventsOf(id, 'Deployment Started')).toHaveLength(1);
    await expect(handler({ action: 'launch', workspace: ws, deploymentId: id })).rejects.toBeInstanceOf(
      InvalidStepInputError,
    );
    await expect(handler({ action: 'begin', workspace: ws, deploymentId: 'x' })).rejects.toThrow(
      /deploymentId/,
    );
    await expect(
      handler({ action: 'write-epoch', workspace: ws, deploymentId: id, targetEpoch: 0 }),
    ).rejects.toThrow(/targetEpoch/);
    await expect(
      handler({ action: 'decide', workspace: ws, deploymentId: id, votes: 'yes' }),
    ).rejects.toThrow(/votes/);
  });
});
