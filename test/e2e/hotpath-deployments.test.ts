/**
 * The hot path and deployments together in the local cloud: real deployments through the
 * management API (the Lambda conductor commits concurrency through the shared protocol) and the
 * controller's verbs over HTTP. A suspended function stays suspended across deployments until
 * started, and what start restores follows the last committed model.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import { waitFor } from '../../local/net.ts';
import { DeploymentDriver } from '../../support/deployments-driver.ts';
import { functionInput } from '../../support/fixtures.ts';
import { HotPathDriver } from '../../support/hotpath-driver.ts';

let workDir: string;
let cloud: LocalCloud;
let deployments: DeploymentDriver;
let hotPath: HotPathDriver;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'greco-hotpath-deployments-'));
  cloud = await startLocalCloud({ ports: 'ephemeral', workDir });
  deployments = new DeploymentDriver(cloud);
  hotPath = new HotPathDriver(cloud, workDir);
});

afterAll(async () => {
  deployments?.close();
  hotPath?.close();
  await cloud?.close();
  await rm(workDir, { recursive: true, force: true });
});

/** A token with the management roles and the operator role. */
async function tokenOf(workspace: string): Promise<string> {
  return cloud.mintToken({ workspace, roles: ['viewer', 'editor', 'approver', 'operator'] });
}

/** Deploys `changes` over the live model (a fresh draft, edited) and waits until it is Committed. */
async function deployChanges(
  token: string,
  changes: readonly Record<string, unknown>[],
  during?: () => Promise<void>,
): Promise<void> {
  const created = await deployments.call(token, 'POST', 'v1/drafts');
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const draftId = (created.body as { draftId: string }).draftId;
  for (const change of changes) {
    const put = await deployments.call(
      token,
      'PUT',
      `v1/drafts/${draftId}/functions/${change.name}`,
      change,
      {
        'if-match': '*',
      },
    );
    expect(put.status, JSON.stringify(put.body)).toBeLessThan(300);
  }
  const deploymentId = await deployments.deploy(token, draftId);
  const { executionArn } = await deployments.deployment(token, deploymentId);
  await during?.();
  const execution = await deployments.executionEnd(executionArn, 180_000);
  expect(execution.status, execution.cause).toBe('SUCCEEDED');
  expect((await deployments.deployment(token, deploymentId)).status).toBe('Committed');
}

async function state(token: string, name: string): Promise<Record<string, unknown>> {
  const answer = await hotPath.verb(token, name, 'state');
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body;
}

describe('the hot path across deployments', () => {
  it('keeps a suspended function suspended through a deployment, and start restores the new value', async () => {
    const token = await tokenOf('hpd-cycle');
    const functionName = hotPath.functionName('hpd-cycle', 'svc');
    await deployChanges(token, [functionInput('svc', { reservedConcurrency: 5 })]);
    expect(await state(token, 'svc')).toMatchObject({
      state: 'running',
      reservedConcurrency: 5,
      currentConcurrency: 5,
    });
    expect(await hotPath.invoke(functionName, 'live')).toBe('ok');

    expect((await hotPath.verb(token, 'svc', 'suspend')).status).toBe(200);
    await deployChanges(token, [functionInput('svc', { reservedConcurrency: 8, memoryMiB: 256 })]);

    // Still suspended, at 0, and what start restores is the new committed value.
    expect(await state(token, 'svc')).toMatchObject({
      state: 'suspended',
      reservedConcurrency: 8,
      currentConcurrency: 0,
    });
    expect(await hotPath.invoke(functionName, 'live')).toBe('throttled');
    expect((await deployments.live(token)).functions).toEqual([
      expect.objectContaining({ name: 'svc', reservedConcurrency: 8, memoryMiB: 256 }),
    ]);

    const started = await hotPath.verb(token, 'svc', 'start');
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ state: 'running', reservedConcurrency: 8, currentConcurrency: 8 });
    expect(await hotPath.invoke(functionName, 'live')).toBe('ok');
    expect(await deployments.disagreements('hpd-cycle', token)).toEqual([]);
  });

  it('applies a deployment to a running function: the new concurrency, never 0', async () => {
    const token = await tokenOf('hpd-running');
    await deployChanges(token, [functionInput('api', { reservedConcurrency: 4 })]);
    await deployChanges(token, [functionInput('api', { reservedConcurrency: 2 })]);

    expect(await state(token, 'api')).toMatchObject({
      state: 'running',
      reservedConcurrency: 2,
      currentConcurrency: 2,
    });
    await deployChanges(token, [functionInput('api', {})]);
    expect(await state(token, 'api')).toMatchObject({
      state: 'running',
      reservedConcurrency: null,
      currentConcurrency: null,
    });
    expect(await hotPath.invoke(hotPath.functionName('hpd-running', 'api'), 'live')).toBe('ok');
  });

  it('ends suspended when suspend lands while a deployment is changing the function', async () => {
    const token = await tokenOf('hpd-race');
    const functionName = hotPath.functionName('hpd-race', 'busy');
    await deployChanges(token, [functionInput('busy', { reservedConcurrency: 3 })]);
    const before = await hotPath.operationCounts();

    // Slow Lambda answers keep the deployment in flight; the suspend runs during it.
    cloud.lambda.setFaults({ latencyMs: 150 });
    try {
      await deployChanges(
        token,
        [functionInput('busy', { reservedConcurrency: 9, memoryMiB: 192 })],
        async () => {
          // Wait until the conductor has started on the function, then suspend.
          await waitFor(
            async () => {
              const now = await hotPath.operationCounts();
              return (now.UpdateFunctionConfiguration ?? 0) + (now.UpdateFunctionCode ?? 0) >
                (before.UpdateFunctionConfiguration ?? 0) + (before.UpdateFunctionCode ?? 0)
                ? true
                : undefined;
            },
            { timeoutMs: 60_000, intervalMs: 20, what: 'the conductor to update the function' },
          );
          const suspended = await hotPath.verb(token, 'busy', 'suspend');
          expect(suspended.status, JSON.stringify(suspended.body)).toBe(200);
        },
      );
    } finally {
      cloud.lambda.setFaults({});
    }

    expect(await state(token, 'busy')).toMatchObject({
      state: 'suspended',
      reservedConcurrency: 9,
      currentConcurrency: 0,
    });
    expect(await hotPath.invoke(functionName, 'live')).toBe('throttled');
    const started = await hotPath.verb(token, 'busy', 'start');
    expect(started.body).toMatchObject({ state: 'running', currentConcurrency: 9 });
  });
});
