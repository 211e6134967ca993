/**
 * The conductor kit around a fake adapter (test/support/fake-conductor.ts), against DynamoDB Local:
 * what a second conductor gets from the kit without writing it (progress records, batching under a
 * budget, idempotent re-runs, the vote tally), so that a conductor is one adapter.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadResults } from '../../core/conductor/kit/progress.ts';
import { ConductorRunner, type ConductorRunnerOptions } from '../../core/conductor/kit/runner.ts';
import { changeSk, deploymentPk } from '../../core/deployments/keys.ts';
import type { ChangeItem, ConductorRequest, ConductorResponse } from '../../core/deployments/types.ts';
import { createConfigTable, deleteConfigTable } from '../../core/store/table.ts';
import { managedFunctionName } from '../../domain/names.ts';
import { localCredentials, localRegion } from '../../local/net.ts';
import { type FakeConductorOptions, fakeConductor, recordingLogger } from '../support/fake-conductor.ts';
import { functionSpec } from '../support/fixtures.ts';

const prefix = 'greco';
const tableName = `greco-kit-${crypto.randomUUID().slice(0, 8)}`;
const dynamo = new DynamoDBClient({
  endpoint: inject('dynamodbEndpoint'),
  region: localRegion,
  credentials: localCredentials,
});
const ddb = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });

beforeAll(async () => {
  await createConfigTable(dynamo, tableName);
});

afterAll(async () => {
  await deleteConfigTable(dynamo, tableName);
  dynamo.destroy();
});

let counter = 0;
/** A fresh workspace and deployment per test. */
function deployment(): { ws: string; dep: string } {
  counter += 1;
  return {
    ws: `kit${process.pid % 10_000}t${counter}`,
    dep: `dep-${crypto.randomUUID().replaceAll('-', '').slice(0, 26)}`,
  };
}

async function writeChanges(
  ws: string,
  dep: string,
  changes: readonly (Omit<ChangeItem, 'managedName' | 'spec'> & { managedName?: string })[],
): Promise<void> {
  for (const change of changes) {
    const item: ChangeItem = {
      managedName: managedFunctionName(prefix, ws, change.name),
      ...change,
      ...(change.action === 'delete' ? {} : { spec: functionSpec(change.name) }),
    };
    await ddb.send(
      new PutCommand({
        TableName: tableName,
        Item: { pk: deploymentPk(ws, dep), sk: changeSk(change.name), ...item },
      }),
    );
  }
}

function creates(...names: string[]) {
  return names.map((name) => ({ name, action: 'create' as const }));
}

function request(action: ConductorRequest['action'], ws: string, dep: string): ConductorRequest {
  return { action, workspace: ws, deploymentId: dep, targetEpoch: 2 };
}

function kit(fake: FakeConductorOptions = {}, runner: Partial<ConductorRunnerOptions> = {}) {
  const made = fakeConductor(fake);
  const log = recordingLogger();
  const conductor = new ConductorRunner({
    conductor: made.conductor,
    doc: ddb,
    tableName,
    managedPrefix: prefix,
    logger: log.logger,
    ...runner,
  });
  return { ...made, runner: conductor, lines: log.lines };
}

async function statuses(ws: string, dep: string, conductor = 'queues'): Promise<Record<string, string>> {
  const results = await loadResults({ doc: ddb, tableName, workspace: ws, deploymentId: dep }, conductor);
  return Object.fromEntries([...results.values()].map((r) => [r.name, r.status]));
}

async function untilDone(run: () => Promise<ConductorResponse>, maxCalls = 20): Promise<ConductorResponse[]> {
  const answers: ConductorResponse[] = [];
  for (let i = 0; i < maxCalls; i++) {
    const answer = await run();
    answers.push(answer);
    if (answer.done) return answers;
  }
  throw new Error(`not done after ${maxCalls} calls`);
}

describe('a conductor built with the kit', () => {
  it('prepares, commits and records its progress under its own name', async () => {
    // Prepare
    const { ws, dep } = deployment();
    const { runner, calls, resources } = kit();
    await writeChanges(ws, dep, [...creates('a', 'b'), { name: 'c', action: 'delete' }]);

    // Act
    const prepared = await runner.run(request('prepare', ws, dep));
    const committed = await runner.run(request('commit', ws, dep));

    // Assess
    expect(prepared).toEqual({ done: true, vote: 'accept', reasons: [], counts: { done: 3, remaining: 0 } });
    expect(committed).toEqual({ done: true, counts: { done: 3, remaining: 0 } });
    expect(await statuses(ws, dep)).toEqual({ a: 'committed', b: 'committed', c: 'committed' });
    expect(await statuses(ws, dep, 'lambda')).toEqual({});
    const results = await loadResults({ doc: ddb, tableName, workspace: ws, deploymentId: dep }, 'queues');
    expect(results.get('a')).toMatchObject({
      conductor: 'queues',
      phase: 'commit',
      created: true,
      published: true,
      version: '1',
      attempts: 1,
    });
    expect(resources.get('a')).toEqual({ staged: 1, live: 1 });
    expect(
      calls
        .filter((c) => c.op === 'stage')
        .map((c) => c.name)
        .sort(),
    ).toEqual(['a', 'b', 'c']);
  });

  it('refuses a malformed request before reading anything', async () => {
    // Prepare
    const { runner, calls } = kit();

    // Act
    const act = runner.run({ action: 'prepare', workspace: 'kit', deploymentId: 'x#y', targetEpoch: 1 });

    // Assess
    await expect(act).rejects.toMatchObject({ name: 'InvalidConductorRequestError' });
    expect(calls).toEqual([]);
  });

  it('refuses a change that names a function outside the workspace, before the adapter sees it', async () => {
    // Prepare
    const { ws, dep } = deployment();
    const { runner, calls } = kit();
    await writeChanges(ws, dep, [{ name: 'a', action: 'create', managedName: 'greco-other-a' }]);

    // Act
    const act = runner.prepare(request('prepare', ws, dep));

    // Assess
    await expect(act).rejects.toMatchObject({ name: 'ConductorStateError' });
    expect(calls).toEqual([]);
  });
});

describe('batching under a time budget', () => {
  it('starts one change per call when the budget is spent, and answers done: false with counts that only grow', async () => {
    // Prepare
    const { ws, dep } = deployment();
    const { runner, calls } = kit({ stageMs: 20 }, { maxInFlight: 1 });
    await writeChanges(ws, dep, creates('a', 'b', 'c', 'd'));

    // Act
    const answers = await untilDone(() => runner.prepare(request('prepare', ws, dep), 0));

    // Assess
    expect(answers.map((a) => a.counts)).toEqual([
      { done: 1, remaining: 3 },
      { done: 2, remaining: 2 },
      { done: 3, remaining: 1 },
      { done: 4, remaining: 0 },
    ]);
    expect(answers.slice(0, 3).every((a) => !a.done && a.vote === undefined)).toBe(true);
    expect(answers[3]).toMatchObject({ done: true, vote: 'accept' });
    expect(calls.filter((c) => c.op === 'stage').map((c) => c.name)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('finishes in one call what fits its budget', async () => {
    // Prepare
    const { ws, dep } = deployment();
    const { runner } = kit({ stageMs: 5 }, { maxInFlight: 2 });
    await writeChanges(ws, dep, creates('a', 'b', 'c', 'd', 'e'));

    // Act
    const answer = await runner.prepare(request('prepare', ws, dep), 60_000);

    // Assess
    expect(answer).toEqual({ done: true, vote: 'accept', reasons: [], counts: { done: 5, remaining: 0 } });
  });

  it('leaves a change pending on transient trouble and resumes it with what was staged', async () => {
    // Prepare
    const { ws, dep } = deployment();
    const { runner, calls, resources } = kit({ behaviours: { b: 'transient-once' } }, { maxInFlight: 1 });
    await writeChanges(ws, dep, creates('a', 'b'));

    // Act
    const first = await runner.prepare(request('prepare', ws, dep));
    const pendingAfterFirst = await statuses(ws, dep);
    const second = await runner.prepare(request('prepare', ws, dep));

    // Assess
    expect(first).toEqual({ done: false, counts: { done: 1, remaining: 1 } });
    expect(pendingAfterFirst).toEqual({ a: 'staged', b: 'pending' });
    expect(second).toEqual({ done: true, vote: 'accept', reasons: [], counts: { done: 2, remaining: 0 } });
    expect(calls.filter((c) => c.op === 'stage')).toEqual([
      { op: 'stage', name: 'a', rerun: false },
      { op: 'stage', name: 'b', rerun: false },
      { op: 'stage', name: 'b', rerun: true },
    ]);
    const results = await loadResults({ doc: ddb, tableName, workspace: ws, deploymentId: dep }, 'queues');
    expect(results.get('b')).toMatchObject({ status: 'staged', created: true, attempts: 2 });
    expect(resources.get('b')).toEqual({ staged: 1 });
  });

  it('answers done: false when the change set cannot be vetted now, and vets it on the next call', async () => {
    // Prepare
    const { ws, dep } = deployment();
    const { runner, calls } = kit({ changeSet: 'transient-once' });
    await writeChanges(ws, dep, creates('a'));

    // Act
    const first = await runner.prepare(request('prepare', ws, dep));
    const second = await runner.prepare(request('prepare', ws, dep));

    // Assess
    expect(first).toEqual({ done: false, counts: { done: 0, remaining: 1 } });
    expect(second).toMatchObject({ done: true, vote: 'accept' });
    expect(calls.filter((c) => c.op === 'vetChangeSet')).toHaveLength(2);
    expect(calls.filter((c) => c.op === 'stage')).toHaveLength(1);
  });

  it('fails the call for an error that is not the change’s, once the changes in flight have ended', async () => {
    // Prepare
    const { ws, dep } = deployment();
    const { runner, lines } = kit({ behaviours: { b: 'broken' } }, { maxInFlight: 2 });
    await writeChanges(ws, dep, creates('a', 'b'));

    // Act
    const act = runner.prepare(request('prepare', ws, dep));

    // Assess
    await expect(act).rejects.toThrow('the fake runtime is broken for b');
    expect(await statuses(ws, dep)).toEqual({ a: 'staged', b: 'pending' });
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'error',
        message: 'conductor batch failed',
        attributes: expect.objectContaining({ action: 'prepare', deploymentId: dep }),
      }),
    );
  });
});

describe('re-runs', () => {
  it('answers a repeated prepare or commit as the first without calling the adapter again', async () => {
    // Prepare
    const { ws, dep } = deployment();
    const { runner, calls } = kit();
    await writeChanges(ws, dep, creates('a', 'b'));

    // Act
    const prepared = await runner.prepare(request('prepare', ws, dep));
    const afterPrepare = calls.length;
    const preparedAgain = await runner.prepare(request('prepare', ws, dep));
    const callsOfPrepareAgain = calls.slice(afterPrepare);
    const committed = await runner.commit(request('commit', ws, dep));
    const afterCommit = calls.length;
    const committedAgain = await runner.commit(request('commit', ws, dep));

    // Assess
    expect(prepared).toEqual({ done: true, vote: 'accept', reasons: [], counts: { done: 2, remaining: 0 } });
    expect(preparedAgain).toEqual(prepared);
    expect(callsOfPrepareAgain).toEqual([]);
    expect(committed).toEqual({ done: true, counts: { done: 2, remaining: 0 } });
    expect(committedAgain).toEqual(committed);
    expect(calls.slice(afterCommit)).toEqual([]);
  });

  it('aborts each recorded change once, and only those', async () => {
    // Prepare
    const { ws, dep } = deployment();
    const { runner, calls, resources } = kit({ behaviours: { b: 'veto-after-create' } }, { maxInFlight: 1 });
    await writeChanges(ws, dep, creates('a', 'b', 'c'));
    await runner.prepare(request('prepare', ws, dep));

    // Act
    const aborted = await runner.abort(request('abort', ws, dep));
    const abortedAgain = await runner.abort(request('abort', ws, dep));

    // Assess
    expect(aborted).toEqual({ done: true, counts: { done: 2, remaining: 0 } });
    expect(abortedAgain).toEqual(aborted);
    expect(calls.filter((c) => c.op === 'abort')).toEqual([
      { op: 'abort', name: 'a', status: 'staged' },
      { op: 'abort', name: 'b', status: 'vetoed' },
    ]);
    expect(await statuses(ws, dep)).toEqual({ a: 'aborted', b: 'aborted' });
    expect(resources.size).toBe(0);
  });

  it('refuses to commit a change prepare did not stage, and to abort a committed one', async () => {
    // Prepare
    const unstaged = deployment();
    const committed = deployment();
    const { runner } = kit();
    await writeChanges(unstaged.ws, unstaged.dep, creates('a'));
    await writeChanges(committed.ws, committed.dep, creates('a'));
    await runner.prepare(request('prepare', committed.ws, committed.dep));
    await runner.commit(request('commit', committed.ws, committed.dep));

    // Act
    const [commit, abort] = await Promise.allSettled([
      runner.commit(request('commit', unstaged.ws, unstaged.dep)),
      runner.abort(request('abort', committed.ws, committed.dep)),
    ]);

    // Assess
    expect(commit).toMatchObject({ status: 'rejected', reason: { name: 'ConductorStateError' } });
    expect(abort).toMatchObject({ status: 'rejected', reason: { name: 'ConductorStateError' } });
  });
});

describe('the vote tally', () => {
  it('vetoes with every static reason before staging anything', async () => {
    // Prepare
    const { ws, dep } = deployment();
    const reasons = {
      b: [{ code: 'OUT_OF_BOUNDS' as const, function: 'b', message: 'b is too big' }],
      c: [
        { code: 'RUNTIME_UNSUPPORTED' as const, function: 'c', message: 'c runs cobol' },
        { code: 'OUT_OF_BOUNDS' as const, function: 'c', message: 'c is too big' },
      ],
    };
    const { runner, calls, lines } = kit({ vetoes: reasons, changeSet: {} });
    await writeChanges(ws, dep, creates('a', 'b', 'c'));

    // Act
    const answer = await runner.prepare(request('prepare', ws, dep));

    // Assess
    expect(answer).toEqual({
      done: true,
      vote: 'veto',
      reasons: [...reasons.b, ...reasons.c],
      counts: { done: 2, remaining: 0 },
    });
    expect(calls.filter((c) => c.op !== 'vet')).toEqual([]);
    expect(await statuses(ws, dep)).toEqual({ b: 'vetoed', c: 'vetoed' });
    expect(lines.filter((l) => l.message === 'change vetoed').map((l) => l.attributes.code)).toEqual([
      'OUT_OF_BOUNDS',
      'RUNTIME_UNSUPPORTED',
      'OUT_OF_BOUNDS',
    ]);
    expect(lines).toContainEqual({
      level: 'info',
      message: 'conductor batch',
      attributes: expect.objectContaining({
        conductor: 'queues',
        action: 'prepare',
        workspace: ws,
        deploymentId: dep,
        done: true,
        vote: 'veto',
        counts: { done: 2, remaining: 0 },
      }),
    });
  });

  it('vetoes with the change set’s reasons', async () => {
    // Prepare
    const { ws, dep } = deployment();
    const quota = [{ code: 'CONCURRENCY_UNAVAILABLE' as const, function: 'a', message: 'no room' }];
    const { runner, calls } = kit({ changeSet: { a: quota } });
    await writeChanges(ws, dep, creates('a', 'b'));

    // Act
    const answer = await runner.prepare(request('prepare', ws, dep));

    // Assess
    expect(answer).toEqual({ done: true, vote: 'veto', reasons: quota, counts: { done: 1, remaining: 0 } });
    expect(calls.filter((c) => c.op === 'stage')).toEqual([]);
  });

  it('starts no change after a veto while staging, finishes those started, and records what the vetoed one staged', async () => {
    // Prepare
    const { ws, dep } = deployment();
    const { runner, calls } = kit({ behaviours: { b: 'veto-after-create' } }, { maxInFlight: 1 });
    await writeChanges(ws, dep, creates('a', 'b', 'c'));

    // Act
    const answer = await runner.prepare(request('prepare', ws, dep));
    const again = await runner.prepare(request('prepare', ws, dep));

    // Assess
    expect(answer).toEqual({
      done: true,
      vote: 'veto',
      reasons: [{ code: 'LAMBDA_REJECTED', function: 'b', message: 'b refused' }],
      counts: { done: 2, remaining: 0 },
    });
    expect(again).toEqual(answer);
    expect(calls.filter((c) => c.op === 'stage').map((c) => c.name)).toEqual(['a', 'b']);
    const results = await loadResults({ doc: ddb, tableName, workspace: ws, deploymentId: dep }, 'queues');
    expect(results.get('b')).toMatchObject({ status: 'vetoed', created: true });
    expect(results.has('c')).toBe(false);
  });
});
