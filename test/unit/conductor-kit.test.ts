import { describe, expect, it } from 'vitest';
import { abortAnswer, commitAnswer, prepareAnswer } from '../../core/conductor/kit/answer.ts';
import { callBudgetMs, callDeadline, forEachWithinBudget } from '../../core/conductor/kit/budget.ts';
import {
  ChangeVetoError,
  ConductorStateError,
  isTransientError,
  TransientChangeError,
} from '../../core/conductor/kit/errors.ts';
import { parseConductorRequest } from '../../core/conductor/kit/request.ts';
import type { ChangeItem, Reason, ResultItem } from '../../core/deployments/types.ts';
import { GrecoError, ServiceUnavailableError } from '../../domain/errors.ts';

function result(name: string, status: ResultItem['status'], reasons?: Reason[]): ResultItem {
  return {
    conductor: 'queues',
    name,
    phase: 'prepare',
    status,
    attempts: 1,
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...(reasons === undefined ? {} : { reasons }),
  };
}

function results(...items: ResultItem[]): Map<string, ResultItem> {
  return new Map(items.map((item) => [item.name, item]));
}

const veto = (name: string): Reason => ({
  code: 'OUT_OF_BOUNDS',
  function: name,
  message: `${name} is too big`,
});

describe('prepareAnswer', () => {
  it.each([
    ['nothing recorded', 2, results(), { done: false, counts: { done: 0, remaining: 2 } }],
    [
      'some staged',
      3,
      results(result('a', 'staged'), result('b', 'pending')),
      { done: false, counts: { done: 1, remaining: 2 } },
    ],
    [
      'every change staged',
      2,
      results(result('a', 'staged'), result('b', 'staged')),
      { done: true, vote: 'accept', reasons: [], counts: { done: 2, remaining: 0 } },
    ],
    [
      'a veto and nothing pending',
      3,
      results(result('a', 'staged'), result('b', 'vetoed', [veto('b')])),
      { done: true, vote: 'veto', reasons: [veto('b')], counts: { done: 2, remaining: 0 } },
    ],
    [
      'a veto while a change is still pending',
      2,
      results(result('a', 'pending'), result('b', 'vetoed', [veto('b')])),
      { done: false, counts: { done: 1, remaining: 1 } },
    ],
    [
      'every reason of every vetoed change',
      2,
      results(result('a', 'vetoed', [veto('a')]), result('b', 'vetoed', [veto('b'), veto('b')])),
      {
        done: true,
        vote: 'veto',
        reasons: [veto('a'), veto('b'), veto('b')],
        counts: { done: 2, remaining: 0 },
      },
    ],
  ] as const)('tallies %s', (_case, total, recorded, expected) => {
    expect(prepareAnswer(total, recorded)).toEqual(expected);
  });
});

describe('commitAnswer and abortAnswer', () => {
  it('is done once every change is committed', () => {
    expect(commitAnswer(2, results(result('a', 'committed'), result('b', 'staged')))).toEqual({
      done: false,
      counts: { done: 1, remaining: 1 },
    });
    expect(commitAnswer(2, results(result('a', 'committed'), result('b', 'committed')))).toEqual({
      done: true,
      counts: { done: 2, remaining: 0 },
    });
  });

  it('counts only the changes prepare recorded for abort', () => {
    const changes = ['a', 'b', 'c'].map(
      (name): ChangeItem => ({ name, action: 'delete', managedName: `greco-ws-${name}` }),
    );
    expect(abortAnswer(changes, results(result('a', 'aborted'), result('b', 'pending')))).toEqual({
      done: false,
      counts: { done: 1, remaining: 1 },
    });
    expect(abortAnswer(changes, results(result('a', 'aborted')))).toEqual({
      done: true,
      counts: { done: 1, remaining: 0 },
    });
  });
});

describe('forEachWithinBudget', () => {
  it('starts one item even when the deadline has passed, and no more', async () => {
    // Prepare
    const started: number[] = [];

    // Act
    await forEachWithinBudget(
      [1, 2, 3],
      async (item) => {
        started.push(item);
        return 'done';
      },
      { concurrency: 1, deadline: Date.now() - 1_000, isTransient: () => false },
    );

    // Assess
    expect(started).toEqual([1]);
  });

  it('does not count a skipped item as the one that makes progress', async () => {
    // Prepare
    const worked: number[] = [];

    // Act
    await forEachWithinBudget(
      [1, 2, 3],
      async (item) => {
        if (item === 1) return 'skip';
        worked.push(item);
        return 'done';
      },
      { concurrency: 1, deadline: Date.now() - 1_000, isTransient: () => false },
    );

    // Assess
    expect(worked).toEqual([2]);
  });

  it('leaves an item on a transient error and goes on with the others', async () => {
    // Prepare
    const left: number[] = [];
    const worked: number[] = [];

    // Act
    await forEachWithinBudget(
      [1, 2, 3],
      async (item) => {
        if (item === 2) throw new TransientChangeError('throttled');
        worked.push(item);
        return 'done';
      },
      {
        concurrency: 1,
        deadline: Number.POSITIVE_INFINITY,
        isTransient: isTransientError,
        onTransient: (item) => left.push(item),
      },
    );

    // Assess
    expect(worked).toEqual([1, 3]);
    expect(left).toEqual([2]);
  });

  it('throws any other error once the items in flight have ended, starting no more', async () => {
    // Prepare
    const finished: number[] = [];

    // Act
    const act = forEachWithinBudget(
      [1, 2, 3, 4],
      async (item) => {
        if (item === 1) throw new ConductorStateError('contradiction');
        await new Promise((resolve) => setTimeout(resolve, 10));
        finished.push(item);
        return 'done';
      },
      { concurrency: 2, deadline: Number.POSITIVE_INFINITY, isTransient: isTransientError },
    );

    // Assess
    await expect(act).rejects.toThrow('contradiction');
    expect(finished).toEqual([2]);
  });
});

describe('call budget', () => {
  it.each([
    [900_000, 880_000],
    [25_000, 5_000],
    [10_000, 1_000],
  ])('keeps the margin from %i ms remaining: %i ms', (remaining, budget) => {
    expect(callBudgetMs(remaining)).toBe(budget);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('refuses a budget of %d ms', (budgetMs) => {
    expect(() => callDeadline(budgetMs)).toThrow(RangeError);
  });
});

describe('parseConductorRequest', () => {
  it('drops members the contract does not define', () => {
    const request = {
      action: 'abort',
      workspace: 'acme',
      deploymentId: 'dep-1',
      targetEpoch: 2,
      extra: true,
    };
    expect(parseConductorRequest(request)).toEqual({
      action: 'abort',
      workspace: 'acme',
      deploymentId: 'dep-1',
      targetEpoch: 2,
    });
  });

  it('refuses a request naming every bad field at once', () => {
    const act = () => parseConductorRequest({ action: 'rollback', workspace: 7, deploymentId: 'dep-1' });
    expect(act).toThrow(
      /action must be .*; workspace must be a string, got 7; targetEpoch must be an integer >= 1/,
    );
    expect(act).toThrow(expect.objectContaining({ name: 'InvalidConductorRequestError', status: 500 }));
  });
});

describe('conductor errors', () => {
  it('carries every reason of a veto', () => {
    const error = new ChangeVetoError([veto('a'), veto('b')]);
    expect(error).toBeInstanceOf(GrecoError);
    expect(error).toMatchObject({ name: 'ChangeVetoError', reasons: [veto('a'), veto('b')] });
    expect(error.message).toBe('a is too big; b is too big');
  });

  it.each([
    ['a TransientChangeError', new TransientChangeError('later'), true],
    ['a ServiceUnavailableError', new ServiceUnavailableError('later'), true],
    ['an SDK error without an answer', Object.assign(new Error('socket'), { $metadata: {} }), true],
    ['an SDK 429', Object.assign(new Error('slow'), { $metadata: { httpStatusCode: 429 } }), true],
    ['an SDK 503', Object.assign(new Error('down'), { $metadata: { httpStatusCode: 503 } }), true],
    ['an SDK 400', Object.assign(new Error('bad'), { $metadata: { httpStatusCode: 400 } }), false],
    ['a ConductorStateError', new ConductorStateError('no'), false],
    ['a plain error', new Error('no'), false],
    ['a string', 'no', false],
  ])('tells whether %s is transient', (_case, error, transient) => {
    expect(isTransientError(error)).toBe(transient);
  });
});
