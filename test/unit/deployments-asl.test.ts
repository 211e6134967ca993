/**
 * statemachines/deployment.asl.json on its own: valid ASL that the local runner accepts, the
 * Retry and Catch rules of the design on every task, and every path (accept, veto, errors before
 * and after the decision, loops, throttles) by the named states it enters, run in-process with
 * aws-local-stepfunctions and local task handlers (no network).
 */
import { readFileSync } from 'node:fs';
import aslValidator from 'asl-validator';
import { type RunOptions, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { conductorTimeout } from '../../lib/conductors.ts';
import {
  deploymentDefinitionPath,
  deploymentStepsTimeout,
  stepsFunctionArnSubstitution,
} from '../../lib/constructs/deployments.ts';
import { parseDefinition } from '../../local/stepfunctions/definition.ts';

type LocalHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;
type JSONValue = Parameters<LocalHandlers[string]>[0];

const stepsArn = 'arn:aws:lambda:us-east-1:000000000000:function:greco-steps';
const rawText = readFileSync(deploymentDefinitionPath, 'utf8');
const placeholder = `\${${stepsFunctionArnSubstitution}}`;
const text = rawText.replaceAll(placeholder, stepsArn);

type State = Record<string, unknown> & { Type: string };
interface Machine {
  StartAt: string;
  States: Record<string, State>;
}
const definition = JSON.parse(text) as Machine;

/** Every state, nested ones included, by name. */
function allStates(machine: Machine): Map<string, State> {
  const states = new Map<string, State>();
  for (const [name, state] of Object.entries(machine.States)) {
    states.set(name, state);
    const processor = (state.ItemProcessor ?? state.Iterator) as Machine | undefined;
    if (processor !== undefined) for (const [n, s] of allStates(processor)) states.set(n, s);
  }
  return states;
}
const states = allStates(definition);
const state = (name: string): State => {
  const found = states.get(name);
  if (found === undefined) throw new Error(`no state ${name}`);
  return found;
};

const transientErrors = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'States.Timeout',
];
const tasks = [...states].filter(([, s]) => s.Type === 'Task');
const beforeDecision = ['Begin', 'PrepareBatch'];
const afterDecision = ['WriteEpoch', 'CommitBatch', 'FinishCommitted', 'FinishCommitIncomplete', 'Decide'];

describe('deployment.asl.json: the definition', () => {
  it('is valid Amazon States Language (asl-validator, paths and ARNs checked)', () => {
    const result = aslValidator(JSON.parse(text), { checkPaths: true, checkArn: true });
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('is accepted by the local Step Functions emulator (JSONPath only, no Assign, no Distributed Map)', () => {
    expect(() => parseDefinition(text)).not.toThrow();
    expect(rawText).not.toMatch(/JSONata|"Assign"|DISTRIBUTED|ItemReader/);
  });

  it('has the readable states of docs/deployments.md', () => {
    expect([...states.keys()]).toEqual(
      expect.arrayContaining([
        'Begin',
        'Prepare',
        'PrepareBatch',
        'PrepareDone?',
        'Decide',
        'Decision?',
        'WriteEpoch',
        'Commit',
        'CommitBatch',
        'FinishCommitted',
        'Committed',
        'Abort',
        'AbortBatch',
        'FinishAborted',
        'Vetoed',
        'Aborted',
        'FinishCommitIncomplete',
        'CommitIncomplete',
      ]),
    );
  });

  it('invokes the steps through the substituted steps ARN and conductors by their registered ARN', () => {
    for (const [name, task] of tasks) {
      expect(task.Resource, name).toBe('arn:aws:states:::lambda:invoke');
      const parameters = task.Parameters as Record<string, unknown>;
      if (name.endsWith('Batch')) expect(parameters['FunctionName.$'], name).toBe('$.conductor.functionArn');
      else expect(parameters.FunctionName, name).toBe(stepsArn);
    }
    expect(rawText.split(placeholder).length - 1).toBe(
      tasks.filter(([name]) => !name.endsWith('Batch')).length,
    );
  });

  it('passes ids only: every payload field is an id, a count, a vote or an error', () => {
    const allowed = new Set(['action', 'workspace', 'deploymentId', 'targetEpoch', 'error']);
    for (const [name, task] of tasks) {
      const parameters = task.Parameters as Record<string, unknown>;
      const payload = parameters.Payload as Record<string, unknown> | undefined;
      if (payload === undefined) {
        // Decide takes the state, which the Pass states before it shape.
        expect(parameters['Payload.$'], name).toBe('$');
        continue;
      }
      for (const key of Object.keys(payload))
        expect(allowed, `${name}.${key}`).toContain(key.replace(/\.\$$/, ''));
    }
    for (const name of ['BeginFailed', 'Prepared', 'PrepareFailed']) {
      expect(Object.keys(state(name).Parameters as object).map((k) => k.replace(/\.\$$/, ''))).toEqual(
        expect.arrayContaining(['action', 'workspace', 'deploymentId', 'votes']),
      );
    }
  });

  it.each(tasks.map(([name]) => name))(
    'task %s retries transient Lambda errors with backoff and jitter',
    (name) => {
      const retry = state(name).Retry as Record<string, unknown>[];
      const transient = retry.find((r) =>
        (r.ErrorEquals as string[]).includes('Lambda.TooManyRequestsException'),
      );
      expect(transient).toBeDefined();
      expect(transient?.ErrorEquals).toEqual(expect.arrayContaining(transientErrors));
      expect(transient?.BackoffRate as number).toBeGreaterThan(1);
      expect(transient?.JitterStrategy).toBe('FULL');
      expect(transient?.MaxDelaySeconds).toEqual(expect.any(Number));
      expect(state(name).TimeoutSeconds).toEqual(expect.any(Number));
    },
  );

  it.each(afterDecision)('task %s (decision and after) retries generously, errors included', (name) => {
    const retry = state(name).Retry as Record<string, unknown>[];
    const transient = retry.find((r) =>
      (r.ErrorEquals as string[]).includes('Lambda.TooManyRequestsException'),
    );
    expect(transient?.MaxAttempts as number).toBeGreaterThanOrEqual(10);
    expect(retry.some((r) => (r.ErrorEquals as string[]).includes('States.TaskFailed'))).toBe(true);
  });

  it.each(beforeDecision)(
    'task %s (before the decision) does not retry its own errors: they abort',
    (name) => {
      const retry = state(name).Retry as Record<string, unknown>[];
      expect(retry.flatMap((r) => r.ErrorEquals as string[])).not.toContain('States.TaskFailed');
      expect(retry.flatMap((r) => r.ErrorEquals as string[])).not.toContain('States.ALL');
    },
  );

  it('routes errors before the decision to Decide, after it to FinishCommitIncomplete, never back to Abort', () => {
    const catchTarget = (name: string) => (state(name).Catch as { ErrorEquals: string[]; Next: string }[])[0];
    expect(catchTarget('Begin')).toMatchObject({ ErrorEquals: ['States.ALL'], Next: 'BeginFailed' });
    expect(catchTarget('Prepare')).toMatchObject({ ErrorEquals: ['States.ALL'], Next: 'PrepareFailed' });
    expect(state('BeginFailed').Next).toBe('Decide');
    expect(state('PrepareFailed').Next).toBe('Decide');
    for (const name of ['WriteEpoch', 'Commit', 'FinishCommitted']) {
      expect(catchTarget(name), name).toMatchObject({
        ErrorEquals: ['States.ALL'],
        Next: 'FinishCommitIncomplete',
      });
    }
  });

  it('runs conductors in inline Maps over $.conductors, up to 40 at once', () => {
    for (const name of ['Prepare', 'Commit', 'Abort']) {
      expect(state(name), name).toMatchObject({
        ItemsPath: '$.conductors',
        MaxConcurrency: 40,
        ItemSelector: expect.objectContaining({ 'conductor.$': '$$.Map.Item.Value' }),
      });
    }
  });

  it('gives each task more time than its Lambda function has', () => {
    for (const [name, task] of tasks) {
      const lambdaSeconds = name.endsWith('Batch')
        ? conductorTimeout.toSeconds()
        : deploymentStepsTimeout.toSeconds();
      expect(task.TimeoutSeconds as number, name).toBeGreaterThan(lambdaSeconds);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Running it: local task handlers stand in for the steps and the conductors.

interface StepsPayload {
  readonly action: string;
  readonly [key: string]: unknown;
}

/** A scripted deployment: what each step and conductor answers. */
interface Script {
  conductors?: { name: string; functionArn: string }[];
  /** Per conductor ARN and action: answers in order (the last one repeats), or an error to throw. */
  conductor?: (arn: string, action: string, call: number) => Record<string, unknown> | Error;
  decide?: (payload: StepsPayload) => 'COMMIT' | 'ABORT' | Error;
  step?: (payload: StepsPayload, call: number) => Error | undefined;
  finishStatus?: 'Vetoed' | 'Aborted';
}

function lambdaError(name: string, message = name): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

interface Run {
  entered: string[];
  retried: string[];
  calls: { state: string; payload: StepsPayload; functionName: string }[];
  status: 'SUCCEEDED' | 'FAILED';
  error?: string;
}

async function run(script: Script): Promise<Run> {
  const conductors = script.conductors ?? [
    { name: 'lambda', functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:cond' },
  ];
  const calls: Run['calls'] = [];
  const counts = new Map<string, number>();
  const count = (key: string) => {
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    return n;
  };
  const context = { workspace: 'ws1', deploymentId: 'dep-1', targetEpoch: 4 };
  const stepHandler =
    (stateName: string) =>
    (input: JSONValue): JSONValue => {
      const { FunctionName, Payload } = input as { FunctionName: string; Payload: StepsPayload };
      calls.push({ state: stateName, payload: Payload, functionName: FunctionName });
      const error = script.step?.(Payload, count(Payload.action));
      if (error !== undefined) throw error;
      switch (Payload.action) {
        case 'begin':
          return { Payload: { ...context, conductors } };
        case 'decide': {
          const decision = script.decide?.(Payload) ?? 'COMMIT';
          if (decision instanceof Error) throw decision;
          return { Payload: { ...context, conductors, decision } };
        }
        case 'finish-aborted':
          return { Payload: { status: script.finishStatus ?? 'Aborted' } };
        default:
          return { Payload: { ok: true } };
      }
    };
  const batchHandler =
    (stateName: string) =>
    (input: JSONValue): JSONValue => {
      const { FunctionName, Payload } = input as { FunctionName: string; Payload: StepsPayload };
      calls.push({ state: stateName, payload: Payload, functionName: FunctionName });
      const answer = script.conductor?.(
        FunctionName,
        Payload.action,
        count(`${FunctionName}:${Payload.action}`),
      ) ?? {
        done: true,
        ...(Payload.action === 'prepare' ? { vote: 'accept', reasons: [] } : {}),
        counts: { done: 1, remaining: 0 },
      };
      if (answer instanceof Error) throw answer;
      return { Payload: answer } as JSONValue;
    };
  const taskResourceLocalHandlers: LocalHandlers = {};
  const retryIntervalOverrides: Record<string, number> = {};
  for (const [name] of tasks) {
    taskResourceLocalHandlers[name] = name.endsWith('Batch') ? batchHandler(name) : stepHandler(name);
    retryIntervalOverrides[name] = 0;
  }
  const machine = new StateMachine(definition as unknown as StateMachineDefinition, {
    validationOptions: { checkArn: true, checkPaths: true },
  });
  const execution = machine.run(
    { workspace: 'ws1', deploymentId: 'dep-1' },
    { overrides: { taskResourceLocalHandlers, retryIntervalOverrides } },
  );
  const entered: string[] = [];
  const retried: string[] = [];
  const logs = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') entered.push(event.state.name);
      if (event.type === 'StateRetried') retried.push(event.state.name);
    }
  })();
  try {
    await execution.result;
    await logs;
    return { entered, retried, calls, status: 'SUCCEEDED' };
  } catch (error) {
    await logs;
    const cause = (error as { cause?: { name?: string } }).cause;
    return { entered, retried, calls, status: 'FAILED', error: cause?.name ?? (error as Error).name };
  }
}

const payloadsOf = (r: Run, stateName: string) =>
  r.calls.filter((c) => c.state === stateName).map((c) => c.payload);

describe('deployment.asl.json: the paths it takes', () => {
  it('commits when every conductor accepts, looping a batch until the conductor is done', async () => {
    const result = await run({
      conductor: (_arn, action, call) =>
        action === 'prepare' && call === 1
          ? { done: false, counts: { done: 3, remaining: 2 } }
          : {
              done: true,
              ...(action === 'prepare' ? { vote: 'accept', reasons: [] } : {}),
              counts: { done: 2, remaining: 0 },
            },
    });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.entered).toEqual([
      'Begin',
      'Prepare',
      'PrepareBatch',
      'PrepareDone?',
      'PrepareBatch',
      'PrepareDone?',
      'PrepareVoted',
      'Prepared',
      'Decide',
      'Decision?',
      'WriteEpoch',
      'Commit',
      'CommitBatch',
      'CommitDone?',
      'CommitFinished',
      'FinishCommitted',
      'Committed',
    ]);
    expect(payloadsOf(result, 'Begin')).toEqual([
      { action: 'begin', workspace: 'ws1', deploymentId: 'dep-1' },
    ]);
    expect(payloadsOf(result, 'PrepareBatch')[0]).toEqual({
      action: 'prepare',
      workspace: 'ws1',
      deploymentId: 'dep-1',
      targetEpoch: 4,
    });
    expect(payloadsOf(result, 'Decide')).toEqual([
      {
        action: 'decide',
        workspace: 'ws1',
        deploymentId: 'dep-1',
        votes: [{ conductor: 'lambda', vote: 'accept', reasons: [] }],
      },
    ]);
    expect(payloadsOf(result, 'WriteEpoch')).toEqual([
      { action: 'write-epoch', workspace: 'ws1', deploymentId: 'dep-1', targetEpoch: 4 },
    ]);
    expect(payloadsOf(result, 'CommitBatch')).toEqual([
      { action: 'commit', workspace: 'ws1', deploymentId: 'dep-1', targetEpoch: 4 },
    ]);
    expect(
      result.calls
        .filter((c) => c.state !== 'PrepareBatch' && c.state !== 'CommitBatch')
        .every((c) => c.functionName === stepsArn),
    ).toBe(true);
  });

  it('runs every registered conductor: a second one is a registry entry, not a state', async () => {
    const conductors = [
      { name: 'lambda', functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:cond-a' },
      { name: 'queues', functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:cond-b' },
    ];
    const result = await run({ conductors });

    expect(result.status).toBe('SUCCEEDED');
    for (const phase of ['PrepareBatch', 'CommitBatch']) {
      expect(
        result.calls
          .filter((c) => c.state === phase)
          .map((c) => c.functionName)
          .sort(),
      ).toEqual(conductors.map((c) => c.functionArn));
    }
    expect(payloadsOf(result, 'Decide')[0]?.votes).toEqual([
      { conductor: 'lambda', vote: 'accept', reasons: [] },
      { conductor: 'queues', vote: 'accept', reasons: [] },
    ]);
  });

  it('aborts on a veto and ends Vetoed with the reasons passed to Decide, without writing an epoch', async () => {
    const reasons = [{ code: 'CONCURRENCY_UNAVAILABLE', function: 'f1', message: 'too much' }];
    const result = await run({
      conductor: (_arn, action) =>
        action === 'prepare'
          ? { done: true, vote: 'veto', reasons, counts: { done: 1, remaining: 0 } }
          : { done: true, counts: { done: 1, remaining: 0 } },
      decide: (payload) =>
        (payload.votes as { vote: string }[]).every((v) => v.vote === 'accept') && payload.error === undefined
          ? 'COMMIT'
          : 'ABORT',
      finishStatus: 'Vetoed',
    });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.entered).toEqual([
      'Begin',
      'Prepare',
      'PrepareBatch',
      'PrepareDone?',
      'PrepareVoted',
      'Prepared',
      'Decide',
      'Decision?',
      'Abort',
      'AbortBatch',
      'AbortDone?',
      'AbortFinished',
      'FinishAborted',
      'Outcome?',
      'Vetoed',
    ]);
    expect(result.entered).not.toContain('WriteEpoch');
    expect(result.entered).not.toContain('Commit');
    expect(payloadsOf(result, 'Decide')[0]?.votes).toEqual([{ conductor: 'lambda', vote: 'veto', reasons }]);
    expect(payloadsOf(result, 'AbortBatch')).toEqual([
      { action: 'abort', workspace: 'ws1', deploymentId: 'dep-1', targetEpoch: 4 },
    ]);
  });

  it('takes a vote without reasons as an empty list', async () => {
    const result = await run({
      conductor: (_arn, action) =>
        action === 'prepare'
          ? { done: true, vote: 'accept', counts: { done: 1, remaining: 0 } }
          : { done: true, counts: { done: 1, remaining: 0 } },
    });

    expect(result.entered).toContain('PrepareVotedNoReasons');
    expect(payloadsOf(result, 'Decide')[0]?.votes).toEqual([
      { conductor: 'lambda', vote: 'accept', reasons: [] },
    ]);
    expect(result.entered.at(-1)).toBe('Committed');
  });

  it('aborts on an error in prepare: Decide gets the error, the abort runs, the execution fails as Aborted', async () => {
    const result = await run({
      conductor: (_arn, action) =>
        action === 'prepare'
          ? lambdaError('Error', 'table unavailable')
          : { done: true, counts: { done: 0, remaining: 0 } },
      decide: (payload) => (payload.error === undefined ? 'COMMIT' : 'ABORT'),
    });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('DeploymentAborted');
    expect(result.entered).toEqual([
      'Begin',
      'Prepare',
      'PrepareBatch',
      'PrepareFailed',
      'Decide',
      'Decision?',
      'Abort',
      'AbortBatch',
      'AbortDone?',
      'AbortFinished',
      'FinishAborted',
      'Outcome?',
      'Aborted',
    ]);
    expect(payloadsOf(result, 'Decide')[0]).toMatchObject({
      action: 'decide',
      votes: [],
      error: { Error: 'Error', Cause: expect.stringContaining('table unavailable') },
    });
  });

  it('aborts when Begin fails, before any conductor runs', async () => {
    const result = await run({
      step: (payload) => (payload.action === 'begin' ? lambdaError('DraftNotFrozenError') : undefined),
      decide: () => 'ABORT',
    });

    expect(result.entered.slice(0, 4)).toEqual(['Begin', 'BeginFailed', 'Decide', 'Decision?']);
    expect(result.entered).not.toContain('PrepareBatch');
    expect(result.entered.at(-1)).toBe('Aborted');
  });

  it('retries throttles and 5xx of Lambda itself in prepare and commit, and still commits', async () => {
    const result = await run({
      conductor: (_arn, action, call) => {
        if (call === 1) return lambdaError('Lambda.TooManyRequestsException');
        if (call === 2) return lambdaError('Lambda.ServiceException');
        return {
          done: true,
          ...(action === 'prepare' ? { vote: 'accept', reasons: [] } : {}),
          counts: { done: 1, remaining: 0 },
        };
      },
    });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.retried.filter((s) => s === 'PrepareBatch')).toHaveLength(2);
    expect(result.retried.filter((s) => s === 'CommitBatch')).toHaveLength(2);
    expect(result.entered.at(-1)).toBe('Committed');
  });

  it('never rolls back after the decision: a commit that keeps failing ends CommitIncomplete', async () => {
    const result = await run({
      conductor: (_arn, action) =>
        action === 'commit'
          ? lambdaError('Error', 'alias update refused')
          : { done: true, vote: 'accept', reasons: [], counts: { done: 1, remaining: 0 } },
    });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('CommitIncomplete');
    expect(result.retried.filter((s) => s === 'CommitBatch').length).toBeGreaterThanOrEqual(5);
    expect(result.entered.slice(-2)).toEqual(['FinishCommitIncomplete', 'CommitIncomplete']);
    expect(result.entered).not.toContain('Abort');
    expect(result.entered).not.toContain('FinishCommitted');
    expect(payloadsOf(result, 'FinishCommitIncomplete')[0]).toMatchObject({
      action: 'finish-commit-incomplete',
      targetEpoch: 4,
      error: { Error: 'Error' },
    });
  });

  it('retries a failing epoch write, then commits once it succeeds', async () => {
    const result = await run({
      step: (payload, call) =>
        payload.action === 'write-epoch' && call <= 2 ? lambdaError('Error', 'S3 503') : undefined,
    });

    expect(result.retried.filter((s) => s === 'WriteEpoch')).toHaveLength(2);
    expect(result.entered.at(-1)).toBe('Committed');
  });

  it('fails as DecisionFailed when no decision can be written, and runs neither commit nor abort', async () => {
    const result = await run({ decide: () => lambdaError('Error', 'table down') });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('DecisionFailed');
    expect(result.entered).not.toContain('Commit');
    expect(result.entered).not.toContain('Abort');
  });
});
