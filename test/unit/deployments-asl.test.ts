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
import {
  batchLoop,
  initialLoopProgress,
  retryAfterDecision,
  retryBeforeDecision,
  taskRetry,
  transientTaskErrors,
} from '../../statemachines/deployment-policies.ts';

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
/** The Map states whose iterations loop a conductor's batches. */
const loops = ['Prepare', 'Commit', 'Abort'] as const;

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
        ...loops.flatMap((phase) => [
          `${phase}Progressed`,
          `${phase}GiveUp?`,
          `${phase}Wait`,
          `${phase}Backoff`,
          `${phase}Stalled`,
          `${phase}ConductorStalled`,
        ]),
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

  it('gives every task the retry policy statemachines/deployment-policies.ts names for it, verbatim', () => {
    expect(tasks.map(([name]) => name).sort()).toEqual(Object.keys(taskRetry).sort());
    for (const [name, task] of tasks) expect(task.Retry, name).toEqual(taskRetry[name]);
    for (const name of beforeDecision) expect(taskRetry[name], name).toBe(retryBeforeDecision);
    for (const name of [...afterDecision, 'AbortBatch', 'FinishAborted'])
      expect(taskRetry[name], name).toBe(retryAfterDecision);
    expect(transientTaskErrors).toEqual(expect.arrayContaining(transientErrors));
  });

  it.each(loops)(
    '%s loop: calls again at once on progress, backs off on a stall, gives up on the last one',
    (phase) => {
      expect((state(phase).ItemSelector as Record<string, unknown>).progress).toEqual(initialLoopProgress);
      const done = state(`${phase}Done?`) as State & { Choices: Record<string, unknown>[] };
      expect(done.Choices.at(-1)).toEqual({
        Variable: '$.batch.response.counts.done',
        NumericGreaterThanPath: '$.progress.done',
        Next: `${phase}Progressed`,
      });
      expect(done.Default).toBe(`${phase}GiveUp?`);
      expect(state(`${phase}Progressed`)).toMatchObject({
        Type: 'Pass',
        Parameters: {
          'done.$': '$.batch.response.counts.done',
          stalls: initialLoopProgress.stalls,
          waitSeconds: initialLoopProgress.waitSeconds,
        },
        ResultPath: '$.progress',
        Next: `${phase}Batch`,
      });
      expect(state(`${phase}GiveUp?`)).toMatchObject({
        Type: 'Choice',
        Choices: [
          {
            Variable: '$.progress.stalls',
            NumericGreaterThanEquals: batchLoop.maxStalledBatches - 1,
            Next: `${phase}Stalled`,
          },
        ],
        Default: `${phase}Wait`,
      });
      expect(state(`${phase}Wait`)).toMatchObject({
        Type: 'Wait',
        SecondsPath: '$.progress.waitSeconds',
        Next: `${phase}Backoff`,
      });
      expect(state(`${phase}Backoff`)).toMatchObject({
        Type: 'Pass',
        Parameters: {
          'done.$': '$.progress.done',
          'stalls.$': 'States.MathAdd($.progress.stalls, 1)',
          'waitSeconds.$': 'States.MathAdd($.progress.waitSeconds, $.progress.waitSeconds)',
        },
        ResultPath: '$.progress',
        Next: `${phase}Batch`,
      });
      expect(state(`${phase}Stalled`).Next).toBe(`${phase}ConductorStalled`);
      expect(state(`${phase}ConductorStalled`)).toMatchObject({
        Type: 'Fail',
        Error: batchLoop.stalledError,
        CausePath: '$.stalled.cause',
      });
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
    expect(catchTarget('Abort')).toMatchObject({ ErrorEquals: ['States.ALL'], Next: 'FinishAborted' });
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
  /** Each Wait state entered, with the seconds it was asked to wait (the runs wait 0 ms). */
  waits: { state: string; seconds: number }[];
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
    async (input: JSONValue): Promise<JSONValue> => {
      // The runner forwards a Map's inner events to the execution's log through promises, and
      // drops what arrives after the execution ended. Every path ends with a step after its last
      // Map: yielding to the event loop here lets those promises settle first, so that `entered`
      // holds every state the iterations entered.
      await new Promise((resolve) => setImmediate(resolve));
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
  const waitTimeOverrides = Object.fromEntries(loops.map((phase) => [`${phase}Wait`, 0]));
  const machine = new StateMachine(definition as unknown as StateMachineDefinition, {
    validationOptions: { checkArn: true, checkPaths: true },
  });
  const execution = machine.run(
    { workspace: 'ws1', deploymentId: 'dep-1' },
    { overrides: { taskResourceLocalHandlers, retryIntervalOverrides, waitTimeOverrides } },
  );
  const entered: string[] = [];
  const retried: string[] = [];
  const waits: Run['waits'] = [];
  const logs = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') entered.push(event.state.name);
      if (event.type === 'StateEntered' && event.state.type === 'Wait') {
        const { progress } = event.state.input as { progress: { waitSeconds: number } };
        waits.push({ state: event.state.name, seconds: progress.waitSeconds });
      }
      if (event.type === 'StateRetried') retried.push(event.state.name);
    }
  })();
  try {
    await execution.result;
    await logs;
    return { entered, retried, waits, calls, status: 'SUCCEEDED' };
  } catch (error) {
    await logs;
    const cause = (error as { cause?: { name?: string } }).cause;
    return { entered, retried, waits, calls, status: 'FAILED', error: cause?.name ?? (error as Error).name };
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
      'PrepareProgressed',
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

describe('deployment.asl.json: the batch loops', () => {
  /**
   * The states `result` entered at the top level, or in the iterations of one Map, in order. The
   * runner reports a Map's inner events on a queue of their own, so the order between inner and
   * outer states is not the order in which they ran; within each scope it is.
   */
  const scope = (result: Run, map?: (typeof loops)[number]): string[] => {
    const names = new Set(
      Object.keys(map === undefined ? definition.States : (state(map).ItemProcessor as Machine).States),
    );
    return result.entered.filter((name) => names.has(name));
  };
  const stall = (phase: string) => [
    `${phase}Batch`,
    `${phase}Done?`,
    `${phase}GiveUp?`,
    `${phase}Wait`,
    `${phase}Backoff`,
  ];
  /** The waits of a full stall streak: 1, 2, 4 … seconds, one fewer than the stalls that end it. */
  const backoff = Array.from(
    { length: batchLoop.maxStalledBatches - 1 },
    (_, i) => batchLoop.firstWaitSeconds * 2 ** i,
  );
  const accepted = { done: true, vote: 'accept', reasons: [], counts: { done: 2, remaining: 0 } };
  const finished = { done: true, counts: { done: 2, remaining: 0 } };

  it('backs off when prepare batches finish nothing, and aborts as ConductorStalled on the 8th in a row', async () => {
    const result = await run({
      conductor: (_arn, action) =>
        action === 'prepare' ? { done: false, counts: { done: 0, remaining: 2 } } : finished,
      decide: (payload) => (payload.error === undefined ? 'COMMIT' : 'ABORT'),
    });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('DeploymentAborted');
    expect(scope(result, 'Prepare')).toEqual([
      ...Array.from({ length: batchLoop.maxStalledBatches - 1 }, () => stall('Prepare')).flat(),
      'PrepareBatch',
      'PrepareDone?',
      'PrepareGiveUp?',
      'PrepareStalled',
      'PrepareConductorStalled',
    ]);
    expect(scope(result)).toEqual([
      'Begin',
      'Prepare',
      'PrepareFailed',
      'Decide',
      'Decision?',
      'Abort',
      'FinishAborted',
      'Outcome?',
      'Aborted',
    ]);
    expect(scope(result, 'Abort')).toEqual(['AbortBatch', 'AbortDone?', 'AbortFinished']);
    expect(backoff).toEqual([1, 2, 4, 8, 16, 32, 64]);
    expect(result.waits).toEqual(backoff.map((seconds) => ({ state: 'PrepareWait', seconds })));
    expect(payloadsOf(result, 'PrepareBatch')).toHaveLength(batchLoop.maxStalledBatches);
    expect(payloadsOf(result, 'Decide')[0]).toMatchObject({
      action: 'decide',
      votes: [],
      error: {
        Error: 'ConductorStalled',
        Cause: 'conductor lambda finished no change in 8 prepare batches in a row',
      },
    });
    expect(result.entered).not.toContain('WriteEpoch');
  });

  it('ends CommitIncomplete, never in an abort, when commit batches stop finishing changes', async () => {
    const result = await run({
      conductor: (_arn, action) =>
        action === 'commit' ? { done: false, counts: { done: 1, remaining: 1 } } : accepted,
    });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('CommitIncomplete');
    expect(scope(result, 'Commit')).toEqual([
      // The first answer finished a change: progress, so the streak starts after it.
      'CommitBatch',
      'CommitDone?',
      'CommitProgressed',
      ...Array.from({ length: batchLoop.maxStalledBatches - 1 }, () => stall('Commit')).flat(),
      'CommitBatch',
      'CommitDone?',
      'CommitGiveUp?',
      'CommitStalled',
      'CommitConductorStalled',
    ]);
    expect(scope(result).slice(-4)).toEqual([
      'WriteEpoch',
      'Commit',
      'FinishCommitIncomplete',
      'CommitIncomplete',
    ]);
    expect(result.waits).toEqual(backoff.map((seconds) => ({ state: 'CommitWait', seconds })));
    expect(result.entered).not.toContain('Abort');
    expect(result.entered).not.toContain('FinishCommitted');
    expect(payloadsOf(result, 'FinishCommitIncomplete')[0]).toMatchObject({
      action: 'finish-commit-incomplete',
      targetEpoch: 4,
      error: {
        Error: 'ConductorStalled',
        Cause: 'conductor lambda finished no change in 8 commit batches in a row',
      },
    });
  });

  it('finishes the abort as every abort error does when abort batches stop finishing changes', async () => {
    const result = await run({
      conductor: (_arn, action) =>
        action === 'abort'
          ? { done: false, counts: { done: 0, remaining: 1 } }
          : { done: true, vote: 'veto', reasons: [], counts: { done: 1, remaining: 0 } },
      decide: () => 'ABORT',
      finishStatus: 'Vetoed',
    });

    expect(result.waits).toEqual(backoff.map((seconds) => ({ state: 'AbortWait', seconds })));
    expect(payloadsOf(result, 'AbortBatch')).toHaveLength(batchLoop.maxStalledBatches);
    expect(scope(result, 'Abort').slice(-2)).toEqual(['AbortStalled', 'AbortConductorStalled']);
    expect(scope(result).slice(-4)).toEqual(['Abort', 'FinishAborted', 'Outcome?', 'Vetoed']);
  });

  it('calls again at once while batches progress, however slowly: no wait, no give-up', async () => {
    const batches = 3 * batchLoop.maxStalledBatches;
    const result = await run({
      conductor: (_arn, action, call) =>
        call < batches
          ? { done: false, counts: { done: call, remaining: batches - call } }
          : action === 'prepare'
            ? { ...accepted, counts: { done: batches, remaining: 0 } }
            : { ...finished, counts: { done: batches, remaining: 0 } },
    });

    expect(result.status).toBe('SUCCEEDED');
    expect(scope(result).at(-1)).toBe('Committed');
    expect(payloadsOf(result, 'PrepareBatch')).toHaveLength(batches);
    expect(payloadsOf(result, 'CommitBatch')).toHaveLength(batches);
    expect(result.entered.filter((s) => s === 'PrepareProgressed')).toHaveLength(batches - 1);
    expect(result.waits).toEqual([]);
    expect(result.entered.filter((s) => s.endsWith('GiveUp?'))).toEqual([]);
  });

  it('counts stalls in a row only: a batch that progresses starts the backoff over', async () => {
    // Each streak stalls one batch fewer than the limit, then progresses; three streaks in all.
    const streak = batchLoop.maxStalledBatches - 1;
    const result = await run({
      conductor: (_arn, action, call) => {
        if (action !== 'prepare') return finished;
        const progressed = Math.floor(call / (streak + 1));
        if (progressed === 3) return accepted;
        return { done: false, counts: { done: progressed, remaining: 3 - progressed } };
      },
    });

    expect(result.status).toBe('SUCCEEDED');
    expect(scope(result).at(-1)).toBe('Committed');
    expect(result.waits.filter((w) => w.state === 'PrepareWait')).toHaveLength(3 * streak);
    expect(result.waits.map((w) => w.seconds)).toEqual([
      ...backoff.slice(0, streak),
      ...backoff.slice(0, streak),
      ...backoff.slice(0, streak),
    ]);
    expect(result.entered).not.toContain('PrepareStalled');
  });

  it('takes progress from the highest count answered: a count that falls back is a stall', async () => {
    const answers = [5, 3, 4, 5, 6];
    const result = await run({
      conductor: (_arn, action, call) => {
        if (action !== 'prepare') return finished;
        const done = answers[call - 1];
        return done === undefined ? accepted : { done: false, counts: { done, remaining: 10 - done } };
      },
    });

    expect(result.status).toBe('SUCCEEDED');
    // 5: progress; 3, 4, 5: stalls (none above 5), waiting 1, 2 and 4 s; 6: progress.
    expect(result.waits).toEqual([1, 2, 4].map((seconds) => ({ state: 'PrepareWait', seconds })));
    expect(result.entered.filter((s) => s === 'PrepareProgressed')).toHaveLength(2);
  });
});
