import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidConductorRegistryError, parseConductorRegistry } from '../../core/deployments/conductors.ts';
import {
  DeploymentNotStartedError,
  EventPublishError,
  InvalidStepInputError,
} from '../../core/deployments/errors.ts';
import { DeploymentEvents, eventDetail } from '../../core/deployments/events.ts';
import {
  deploymentIdFor,
  deploymentIdPattern,
  newDeploymentId,
  parseIdempotencyKey,
} from '../../core/deployments/ids.ts';
import { deploymentLogSk, epochSk, markerObjectKey, snapshotObjectKey } from '../../core/deployments/keys.ts';
import { type DeploymentRequestDeps, ensureStarted, executionArnOf } from '../../core/deployments/request.ts';
import { runDeploymentStep } from '../../core/deployments/step-input.ts';
import type { DeploymentSteps } from '../../core/deployments/steps.ts';
import type { StoredDeployment } from '../../core/deployments/store.ts';
import { consoleUrlOf, deploymentView } from '../../core/deployments/view.ts';
import { ValidationError } from '../../domain/errors.ts';

const stateMachineArn = 'arn:aws:states:eu-west-1:123456789012:stateMachine:greco-deployment';

const record: StoredDeployment = {
  deploymentId: 'dep-abcdefghijklmnopqrstuvwxyz',
  workspace: 'acme',
  draftId: 'd-1',
  draftVersion: 3,
  status: 'Requested',
  baseEpoch: 4,
  targetEpoch: 5,
  startedBy: { sub: 'u-1' },
  phases: { requestedAt: '2026-01-01T00:00:00.000Z' },
  votes: {},
  counts: { create: 1, update: 2, delete: 0 },
  executionArn: executionArnOf(stateMachineArn, 'dep-abcdefghijklmnopqrstuvwxyz'),
  events: { started: '2026-01-01T00:00:01.000Z' },
};

describe('deployment ids', () => {
  it('makes random ids of the documented shape', () => {
    const ids = new Set(Array.from({ length: 50 }, newDeploymentId));
    expect(ids.size).toBe(50);
    for (const id of ids) expect(id).toMatch(deploymentIdPattern);
  });

  it('derives the same id from the same workspace, draft and key, and distinct ids otherwise', () => {
    const id = deploymentIdFor('acme', 'd-1', 'key-1');
    expect(id).toMatch(deploymentIdPattern);
    expect(deploymentIdFor('acme', 'd-1', 'key-1')).toBe(id);
    expect(
      new Set([
        id,
        deploymentIdFor('acme', 'd-1', 'key-2'),
        deploymentIdFor('acme', 'd-2', 'key-1'),
        deploymentIdFor('beta', 'd-1', 'key-1'),
      ]).size,
    ).toBe(4);
  });

  it.each([[''], ['   '], ['x'.repeat(256)], ['clé']])('refuses the Idempotency-Key %j with 400', (key) => {
    expect(() => parseIdempotencyKey(key)).toThrow(ValidationError);
  });

  it('accepts a key of printable ASCII, trimmed, and no header at all', () => {
    expect(parseIdempotencyKey('  abc-123 :/= ')).toBe('abc-123 :/=');
    expect(parseIdempotencyKey(undefined)).toBeUndefined();
  });
});

describe('keys and links', () => {
  it('zero-pads epochs in sort keys and object keys so they sort by number', () => {
    expect(epochSk(7)).toBe('EPOCH#0000000007');
    expect(snapshotObjectKey('acme', 12)).toBe('snapshots/acme/0000000012.json');
    expect(markerObjectKey('acme')).toBe('markers/acme.json');
    expect(deploymentLogSk('2026-01-01T00:00:00.000Z', 'dep-x')).toBe(
      'DEPLOYLOG#2026-01-01T00:00:00.000Z#dep-x',
    );
  });

  it('names the execution and links it in the console of its region', () => {
    expect(record.executionArn).toBe(
      'arn:aws:states:eu-west-1:123456789012:execution:greco-deployment:dep-abcdefghijklmnopqrstuvwxyz',
    );
    expect(consoleUrlOf(record.executionArn)).toBe(
      `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${record.executionArn}`,
    );
  });
});

describe('parseConductorRegistry', () => {
  it('reads the registry', () => {
    expect(parseConductorRegistry('[{"name":"lambda","functionArn":"arn:x"}]')).toEqual([
      { name: 'lambda', functionArn: 'arn:x' },
    ]);
  });

  it.each([
    ['not json', '{'],
    ['empty', '[]'],
    ['not an array', '{"name":"lambda"}'],
    ['bad name', '[{"name":"Lambda!","functionArn":"arn:x"}]'],
    ['no function', '[{"name":"lambda"}]'],
    ['twice', '[{"name":"lambda","functionArn":"a"},{"name":"lambda","functionArn":"b"}]'],
  ])('refuses a registry that is %s', (_, text) => {
    expect(() => parseConductorRegistry(text)).toThrow(InvalidConductorRegistryError);
  });
});

describe('deploymentView', () => {
  it('hides bookkeeping, adds the console link, and lists per-function results by name', () => {
    const view = deploymentView(record, {
      changes: [
        { name: 'b', action: 'update', managedName: 'greco-acme-b', previousVersion: '2' },
        { name: 'a', action: 'create', managedName: 'greco-acme-a' },
      ],
      results: [
        {
          conductor: 'lambda',
          name: 'b',
          phase: 'prepare',
          status: 'vetoed',
          reasons: [{ code: 'OUT_OF_BOUNDS', function: 'b', message: 'memory' }],
          attempts: 1,
          updatedAt: '2026-01-01T00:00:02.000Z',
        },
      ],
    });
    expect(view).not.toHaveProperty('events');
    expect(view.consoleUrl).toBe(consoleUrlOf(record.executionArn));
    expect(view.functions).toEqual([
      { name: 'a', action: 'create', status: 'pending', reasons: [] },
      {
        name: 'b',
        action: 'update',
        conductor: 'lambda',
        phase: 'prepare',
        status: 'vetoed',
        reasons: [{ code: 'OUT_OF_BOUNDS', function: 'b', message: 'memory' }],
        updatedAt: '2026-01-01T00:00:02.000Z',
      },
    ]);
    expect(deploymentView(record)).not.toHaveProperty('functions');
  });
});

describe('eventDetail', () => {
  it('carries the epochs for Epoch Activated and the reasons, with their conductor, for Deployment Vetoed', () => {
    expect(eventDetail({ ...record, status: 'Committed' }, 'Epoch Activated')).toEqual({
      workspace: 'acme',
      deploymentId: record.deploymentId,
      draftId: 'd-1',
      status: 'Committed',
      baseEpoch: 4,
      targetEpoch: 5,
      epoch: 5,
      previousEpoch: 4,
      snapshotKey: 'snapshots/acme/0000000005.json',
      counts: record.counts,
      executionArn: record.executionArn,
    });
    const vetoed = eventDetail(
      {
        ...record,
        status: 'Vetoed',
        votes: {
          lambda: { vote: 'veto', reasons: [{ code: 'NAME_NOT_MANAGED', function: 'a', message: 'taken' }] },
        },
      },
      'Deployment Vetoed',
    );
    expect(vetoed.reasons).toEqual([
      { code: 'NAME_NOT_MANAGED', function: 'a', message: 'taken', conductor: 'lambda' },
    ]);
    expect(vetoed.epoch).toBeUndefined();
  });
});

describe('ensureStarted (StartExecution error paths)', () => {
  const sfn = mockClient(SFNClient);
  afterEach(() => sfn.reset());
  const deps = {
    sfn: new SFNClient({ region: 'eu-west-1' }),
    stateMachineArn,
  } as unknown as DeploymentRequestDeps;

  it('starts the execution named by the deployment id with ids only as input', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: record.executionArn, startDate: new Date() });
    expect(await ensureStarted(deps, record)).toBe(record);
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input).toEqual({
      stateMachineArn,
      name: record.deploymentId,
      input: JSON.stringify({ workspace: 'acme', deploymentId: record.deploymentId }),
    });
  });

  it('counts an existing execution of that name as started', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));
    expect(await ensureStarted(deps, record)).toBe(record);
  });

  it('answers 503 with Retry-After and the deployment id when StartExecution fails', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    sfn.on(StartExecutionCommand).rejects(throttled);
    const failure = await ensureStarted(deps, record).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DeploymentNotStartedError);
    const error = failure as DeploymentNotStartedError;
    expect(error.status).toBe(503);
    expect(error.headers).toMatchObject({
      'Retry-After': '5',
      location: `/v1/deployments/${record.deploymentId}`,
    });
    expect(error.toProblem().deploymentId).toBe(record.deploymentId);
    expect(error.cause).toBe(throttled);
  });

  it('does not start a deployment that is past Requested', async () => {
    expect(await ensureStarted(deps, { ...record, status: 'Preparing' })).toMatchObject({
      status: 'Preparing',
    });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });
});

describe('DeploymentEvents (PutEvents error paths)', () => {
  const eventBridge = mockClient(EventBridgeClient);
  afterEach(() => eventBridge.reset());
  const events = new DeploymentEvents({ client: new EventBridgeClient({ region: 'eu-west-1' }) });

  it('publishes to the bus greco with source greco.deployments and the execution as resource', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
    await events.publish('Deployment Started', eventDetail(record, 'Deployment Started'));
    expect(eventBridge.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0]).toMatchObject({
      EventBusName: 'greco',
      Source: 'greco.deployments',
      DetailType: 'Deployment Started',
      Resources: [record.executionArn],
    });
  });

  it('fails with EventPublishError on a failed entry or a failed call', async () => {
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }],
    });
    await expect(
      events.publish('Deployment Started', eventDetail(record, 'Deployment Started')),
    ).rejects.toThrow(/InternalFailure try again/);
    eventBridge.on(PutEventsCommand).rejects(new Error('socket hang up'));
    await expect(
      events.publish('Deployment Started', eventDetail(record, 'Deployment Started')),
    ).rejects.toBeInstanceOf(EventPublishError);
  });
});

describe('runDeploymentStep input checks', () => {
  // The checks run before any step: a steps object that must never be reached.
  const unreachable = new Proxy({} as DeploymentSteps, {
    get() {
      throw new Error('a step ran with invalid input');
    },
  });

  it.each([
    ['no action', { workspace: 'acme', deploymentId: record.deploymentId }],
    ['an unknown step', { action: 'rollback', workspace: 'acme', deploymentId: record.deploymentId }],
    ['a bad workspace', { action: 'begin', workspace: 'Acme!', deploymentId: record.deploymentId }],
    ['a bad deployment id', { action: 'begin', workspace: 'acme', deploymentId: 'dep-1' }],
    [
      'write-epoch without a target epoch',
      { action: 'write-epoch', workspace: 'acme', deploymentId: record.deploymentId },
    ],
    [
      'a target epoch of 0',
      { action: 'finish-committed', workspace: 'acme', deploymentId: record.deploymentId, targetEpoch: 0 },
    ],
    [
      'votes that are no array',
      { action: 'decide', workspace: 'acme', deploymentId: record.deploymentId, votes: {} },
    ],
    ['no object', null],
  ])('refuses %s with InvalidStepInputError', async (_, event) => {
    await expect(runDeploymentStep(unreachable, event)).rejects.toMatchObject({
      name: 'InvalidStepInputError',
    });
  });

  it('names the action and every bad field as input.<field> in its error', async () => {
    // Prepare
    const event = { action: 'write-epoch', workspace: 'acme', deploymentId: 'dep-1', targetEpoch: 0 };

    // Act
    const failure = await runDeploymentStep(unreachable, event).catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(InvalidStepInputError);
    expect((failure as Error).message).toMatch(/^write-epoch: input\.deploymentId must match /);
    expect((failure as Error).message).toMatch(/; input\.targetEpoch must be an integer ≥ 1, got 0$/);
  });

  it('refuses a step named by `step` instead of `action`, naming input.action and the steps it knows', async () => {
    // Prepare
    const event = { step: 'begin', workspace: 'acme', deploymentId: record.deploymentId };

    // Act
    const failure = await runDeploymentStep(unreachable, event).catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(InvalidStepInputError);
    expect((failure as Error).message).toBe(
      'deployment step: input.action must be one of begin, decide, write-epoch, finish-committed, finish-aborted, finish-commit-incomplete, got nothing',
    );
  });
});
