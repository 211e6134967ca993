/**
 * Deployments end to end in the local cloud: the management API over HTTP with minted tokens,
 * the deployment state machine run by the Step Functions emulator, the Lambda conductor against
 * the Lambda emulator. Each test asserts the named states the execution history entered, and
 * after each one the data plane (functions, `live` aliases, snapshot, marker) agrees with the live
 * model and nothing staged by a failed deployment remains.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  GetFunctionConfigurationCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EnvNames } from '../../domain/env.ts';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import { waitFor } from '../../local/net.ts';
import { DeploymentDriver } from '../../support/deployments-driver.ts';
import { functionInput, sampleZip } from '../../support/fixtures.ts';

let workDir: string;
let cloud: LocalCloud;
let driver: DeploymentDriver;
/** Workspaces the current test touched, checked after it. */
const touched: { workspace: string; token: string }[] = [];

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'greco-deployments-'));
  cloud = await startLocalCloud({ ports: 'ephemeral', workDir });
  driver = new DeploymentDriver(cloud);
});

afterAll(async () => {
  driver?.close();
  await cloud?.close();
  await rm(workDir, { recursive: true, force: true });
});

afterEach(async () => {
  cloud.lambda.setFaults({});
  for (const { workspace, token } of touched.splice(0)) {
    expect(await driver.disagreements(workspace, token), `data plane of ${workspace}`).toEqual([]);
  }
});

async function workspace(name: string): Promise<string> {
  const token = await driver.token(name);
  touched.push({ workspace: name, token });
  return token;
}

describe('deployments in the local cloud', () => {
  it('commits a draft every conductor accepts: epoch 1, functions live', async () => {
    const token = await workspace('dep-accept');
    const draftId = await driver.draftWith(token, [
      functionInput('alpha'),
      functionInput('beta', { memoryMiB: 256, reservedConcurrency: 5 }),
    ]);

    const deploymentId = await driver.deploy(token, draftId);
    const started = await driver.deployment(token, deploymentId);
    const execution = await driver.executionEnd(started.executionArn);

    expect(execution.status, execution.cause).toBe('SUCCEEDED');
    const entered = await driver.enteredStates(started.executionArn);
    expect(entered).toEqual(
      expect.arrayContaining([
        'Begin',
        'Prepare',
        'PrepareBatch',
        'PrepareVoted',
        'Decide',
        'Decision?',
        'WriteEpoch',
        'Commit',
        'CommitBatch',
        'FinishCommitted',
        'Committed',
      ]),
    );
    expect(entered).not.toContain('Abort');
    expect(entered).not.toContain('FinishCommitIncomplete');
    const deployment = await driver.deployment(token, deploymentId);
    expect(deployment).toMatchObject({
      status: 'Committed',
      targetEpoch: 1,
      votes: { lambda: { vote: 'accept' } },
    });
    const live = await driver.live(token);
    expect(live.epoch).toBe(1);
    expect(live.functions.map((f) => f.name).sort()).toEqual(['alpha', 'beta']);
  });

  it('vetoes a reserved concurrency the account cannot give: reasons shown, nothing changes', async () => {
    const token = await workspace('dep-veto');
    const draftId = await driver.draftWith(token, [
      functionInput('small'),
      // The emulator's account has 1000 concurrent executions. Each 500 is within what one function
      // may reserve (900, checked at draft time), but together they would leave fewer than 100
      // unreserved: only the conductor, which sees the whole change set, can veto that.
      functionInput('greedy', { reservedConcurrency: 500 }),
      functionInput('greedier', { reservedConcurrency: 500 }),
    ]);

    const deploymentId = await driver.deploy(token, draftId);
    const started = await driver.deployment(token, deploymentId);
    const execution = await driver.executionEnd(started.executionArn);

    expect(execution.status, execution.cause).toBe('SUCCEEDED');
    const entered = await driver.enteredStates(started.executionArn);
    expect(entered).toEqual(
      expect.arrayContaining([
        'Begin',
        'PrepareBatch',
        'PrepareVoted',
        'Decide',
        'Abort',
        'AbortBatch',
        'FinishAborted',
        'Vetoed',
      ]),
    );
    expect(entered).not.toContain('WriteEpoch');
    expect(entered).not.toContain('Commit');
    const deployment = await driver.deployment(token, deploymentId);
    expect(deployment.status).toBe('Vetoed');
    expect(deployment.votes.lambda?.vote).toBe('veto');
    expect(deployment.votes.lambda?.reasons).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'CONCURRENCY_UNAVAILABLE', function: 'greedy' }),
        expect.objectContaining({ code: 'CONCURRENCY_UNAVAILABLE', function: 'greedier' }),
      ]),
    );
    expect((await driver.live(token)).epoch).toBe(0);
  });

  it('vetoes a name held by a function greco does not manage, and removes what it staged', async () => {
    const token = await workspace('dep-clash');
    // A function created directly in Lambda, with the managed name and no greco tags.
    const clashName = `${driver.managedPrefix}-dep-clash-taken`;
    await driver.lambda.send(
      new CreateFunctionCommand({
        FunctionName: clashName,
        Runtime: 'nodejs24.x',
        Handler: 'index.handler',
        Role: 'arn:aws:iam::000000000000:role/unmanaged',
        Code: { ZipFile: sampleZip('unmanaged') },
      }),
    );
    try {
      const draftId = await driver.draftWith(token, [
        functionInput('free-one'),
        functionInput('free-two'),
        functionInput('taken'),
      ]);

      const deploymentId = await driver.deploy(token, draftId);
      const started = await driver.deployment(token, deploymentId);
      const execution = await driver.executionEnd(started.executionArn);

      expect(execution.status, execution.cause).toBe('SUCCEEDED');
      expect(await driver.enteredStates(started.executionArn)).toEqual(
        expect.arrayContaining(['PrepareVoted', 'Decide', 'Abort', 'AbortBatch', 'FinishAborted', 'Vetoed']),
      );
      const deployment = await driver.deployment(token, deploymentId);
      expect(deployment.status).toBe('Vetoed');
      expect(deployment.votes.lambda?.reasons).toEqual([
        expect.objectContaining({ code: 'NAME_NOT_MANAGED', function: 'taken' }),
      ]);
      // The changes started before the veto was seen were staged, then removed by the abort.
      const results = new Map((deployment.functions ?? []).map((f) => [f.name, f.status]));
      expect(results.get('free-one')).toBe('aborted');
      expect(results.get('free-two')).toBe('aborted');
      // The unmanaged function is untouched; nothing of greco's remains.
      const remaining = await driver.dataPlaneFunctions('dep-clash');
      expect([...remaining.values()]).toEqual([clashName]);
    } finally {
      await driver.lambda.send(new DeleteFunctionCommand({ FunctionName: clashName }));
    }
  });
});

describe('deployments in the local cloud, under trouble', () => {
  it('aborts on an error in prepare: the decision says why, nothing is left staged', async () => {
    const token = await workspace('dep-error');
    const conductor = conductorFunctionName();
    const before = await driver.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: conductor }));
    const environment = before.Environment?.Variables ?? {};
    // A conductor that cannot start: every invocation fails with an init error (not retried).
    await updateEnvironment(conductor, { ...environment, [EnvNames.conductorRateLimit]: 'broken' });
    const draftId = await driver.draftWith(token, [functionInput('one'), functionInput('two')]);

    const deploymentId = await driver.deploy(token, draftId);
    const started = await driver.deployment(token, deploymentId);
    try {
      await waitFor(
        async () => {
          const entered = await driver.enteredStates(started.executionArn);
          if (entered.includes('PrepareFailed')) return true;
          const execution = await driver.sfn.send(
            new DescribeExecutionCommand({ executionArn: started.executionArn }),
          );
          if (execution.status !== 'RUNNING')
            throw new Error(`ended ${execution.status} before PrepareFailed`);
          return false;
        },
        { timeoutMs: 120_000, intervalMs: 200, what: 'PrepareFailed' },
      );
    } finally {
      // The conductor is repaired for the abort (which retries) and the tests after this one.
      await updateEnvironment(conductor, environment);
    }
    const execution = await driver.executionEnd(started.executionArn);

    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('DeploymentAborted');
    const entered = await driver.enteredStates(started.executionArn);
    expect(entered).toEqual(
      expect.arrayContaining([
        'Begin',
        'PrepareBatch',
        'PrepareFailed',
        'Decide',
        'Abort',
        'AbortBatch',
        'FinishAborted',
        'Aborted',
      ]),
    );
    expect(entered).not.toContain('WriteEpoch');
    const deployment = await driver.deployment(token, deploymentId);
    expect(deployment.status).toBe('Aborted');
    expect(deployment.error?.error).toEqual(expect.any(String));
    expect((await driver.live(token)).epoch).toBe(0);
  });

  it('commits despite throttles and 5xx injected into the Lambda API during prepare and commit', async () => {
    const token = await workspace('dep-faults');
    const draftId = await driver.draftWith(token, [
      functionInput('f1'),
      functionInput('f2'),
      functionInput('f3'),
    ]);
    const before = await lambdaStats();
    cloud.lambda.setFaults({ throttleRate: 0.3, errorRate: 0.1 });

    const deploymentId = await driver.deploy(token, draftId);
    const started = await driver.deployment(token, deploymentId);
    const execution = await driver.executionEnd(started.executionArn, 300_000);
    cloud.lambda.setFaults({});

    expect(execution.status, execution.cause).toBe('SUCCEEDED');
    const after = await lambdaStats();
    expect(after.injected.throttles - before.injected.throttles).toBeGreaterThan(0);
    expect(after.injected.errors - before.injected.errors).toBeGreaterThan(0);
    const entered = await driver.enteredStates(started.executionArn);
    expect(entered).toEqual(
      expect.arrayContaining(['PrepareBatch', 'CommitBatch', 'FinishCommitted', 'Committed']),
    );
    expect(entered).not.toContain('Abort');
    expect(await driver.deployment(token, deploymentId)).toMatchObject({
      status: 'Committed',
      targetEpoch: 1,
    });
  });

  it('answers one of two concurrent deploy calls 202 and the other 409, naming the first', async () => {
    const token = await workspace('dep-race');
    const first = await driver.draftWith(token, [functionInput('a')]);
    const second = await driver.draftWith(token, [functionInput('b')]);

    // Slow Lambda answers keep the first deployment in flight while the other request is handled.
    cloud.lambda.setFaults({ latencyMs: 500 });
    const answers = await Promise.all(
      [first, second].map((draftId) => driver.call(token, 'POST', `v1/drafts/${draftId}/deployments`)),
    );
    cloud.lambda.setFaults({});

    expect(answers.map((a) => a.status).sort()).toEqual([202, 409]);
    const winner = answers.find((a) => a.status === 202)?.body as {
      deploymentId: string;
      executionArn: string;
    };
    const loser = answers.find((a) => a.status === 409);
    expect(JSON.stringify(loser?.body)).toContain(winner.deploymentId);
    const execution = await driver.executionEnd(winner.executionArn);
    expect(execution.status, execution.cause).toBe('SUCCEEDED');
    expect((await driver.live(token)).epoch).toBe(1);
  });

  it('moves a workspace from epoch 1 to 2: update, create, and delete keeping the old function', async () => {
    const token = await workspace('dep-next');
    const first = await driver.deploy(
      token,
      await driver.draftWith(token, [functionInput('keep'), functionInput('drop')]),
    );
    const one = await driver.executionEnd((await driver.deployment(token, first)).executionArn);
    expect(one.status, one.cause).toBe('SUCCEEDED');
    const created = await driver.call(token, 'POST', 'v1/drafts');
    const draftId = (created.body as { draftId: string }).draftId;
    const anyVersion = { 'if-match': '*' };
    const edits = [
      await driver.call(
        token,
        'PUT',
        `v1/drafts/${draftId}/functions/keep`,
        functionInput('keep', { memoryMiB: 512 }),
        anyVersion,
      ),
      await driver.call(token, 'DELETE', `v1/drafts/${draftId}/functions/drop`, undefined, anyVersion),
      await driver.call(token, 'PUT', `v1/drafts/${draftId}/functions/add`, functionInput('add'), anyVersion),
    ];
    for (const edit of edits) expect(edit.status, JSON.stringify(edit.body)).toBeLessThan(300);
    const plan = await driver.call(token, 'GET', `v1/drafts/${draftId}/plan`);
    expect(plan.body, JSON.stringify(plan.body)).toMatchObject({
      summary: { create: 1, update: 1, delete: 1 },
    });

    const second = await driver.deploy(token, draftId);
    const two = await driver.executionEnd((await driver.deployment(token, second)).executionArn);

    expect(two.status, two.cause).toBe('SUCCEEDED');
    const live = await driver.live(token);
    expect(live.epoch).toBe(2);
    expect(live.functions.map((f) => [f.name, f.memoryMiB]).sort()).toEqual([
      ['add', 128],
      ['keep', 512],
    ]);
    // The deleted function stays for the retention, without its live alias (checked after the test).
    expect((await driver.dataPlaneFunctions('dep-next')).has('drop')).toBe(true);
  });
});

/** Physical name of the Lambda conductor in the local cloud. */
function conductorFunctionName(): string {
  const resources = cloud.stacks.GrecoControlPlane?.resources ?? {};
  const found = Object.entries(resources).find(
    ([id, resource]) =>
      resource.type === 'AWS::Lambda::Function' && id.startsWith('DeploymentsLambdaConductor'),
  );
  if (found === undefined) throw new Error('no Lambda conductor function in the local cloud');
  return found[1].physicalId;
}

async function updateEnvironment(functionName: string, variables: Record<string, string>): Promise<void> {
  await driver.lambda.send(
    new UpdateFunctionConfigurationCommand({
      FunctionName: functionName,
      Environment: { Variables: variables },
    }),
  );
  await waitUntilFunctionUpdatedV2(
    { client: driver.lambda, maxWaitTime: 30 },
    { FunctionName: functionName },
  );
}

async function lambdaStats(): Promise<{ injected: { errors: number; throttles: number } }> {
  const response = await fetch(`${cloud.endpoints.lambda}/_greco/stats`);
  return (await response.json()) as { injected: { errors: number; throttles: number } };
}
