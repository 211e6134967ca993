import { describe, expect, it } from 'vitest';
import { ExecutionHistory, maxHistoryEvents, rootScope } from '../../local/stepfunctions/history.ts';
import { evaluateReferencePath } from '../../local/stepfunctions/paths.ts';

describe('ExecutionHistory', () => {
  it('numbers events from 1 and chains each to the previous one, the first to 0', () => {
    const history = new ExecutionHistory();
    history.append({ type: 'ExecutionStarted', timestamp: 1 });
    history.append({ type: 'PassStateEntered', timestamp: 2 });
    history.append({ type: 'PassStateExited', timestamp: 3 });

    expect(history.events().map((event) => [event.id, event.previousEventId])).toEqual([
      [1, 0],
      [2, 1],
      [3, 2],
    ]);
  });

  it('chains an event to the last one of its scope, or of the enclosing scope when the scope is new', () => {
    // Prepare: two Map iterations that interleave
    const history = new ExecutionHistory();
    history.append({ type: 'ExecutionStarted', timestamp: 1 }, rootScope);
    const started = history.append({ type: 'MapStateStarted', timestamp: 2 }, rootScope);
    history.openScope('/M[0]', rootScope);
    history.openScope('/M[1]', rootScope);

    // Act
    const first0 = history.append({ type: 'MapIterationStarted', timestamp: 3 }, '/M[0]');
    const first1 = history.append({ type: 'MapIterationStarted', timestamp: 4 }, '/M[1]');
    const second0 = history.append({ type: 'PassStateEntered', timestamp: 5 }, '/M[0]');
    const second1 = history.append({ type: 'PassStateEntered', timestamp: 6 }, '/M[1]');
    const succeeded = history.append({ type: 'MapStateSucceeded', timestamp: 7 }, rootScope);

    // Assess
    const previous = new Map(history.events().map((event) => [event.id, event.previousEventId]));
    expect(previous.get(first0)).toBe(started);
    expect(previous.get(first1)).toBe(started);
    expect(previous.get(second0)).toBe(first0);
    expect(previous.get(second1)).toBe(first1);
    expect(previous.get(succeeded)).toBe(started);
  });

  it('holds at most its limit of events and says when only the terminal one still fits', () => {
    const history = new ExecutionHistory(3);
    history.append({ type: 'ExecutionStarted', timestamp: 1 });
    expect(history.nearlyFull).toBe(false);
    history.append({ type: 'PassStateEntered', timestamp: 2 });
    expect(history.nearlyFull).toBe(true);
    history.append({ type: 'ExecutionFailed', timestamp: 3 });
    expect(() => history.append({ type: 'PassStateExited', timestamp: 4 })).toThrow(RangeError);
    expect(history.length).toBe(3);
  });

  it('defaults to the AWS quota of 25,000 events', () => {
    expect(maxHistoryEvents).toBe(25_000);
    expect(new ExecutionHistory().limit).toBe(25_000);
  });

  it('returns copies, so callers cannot rewrite the history', () => {
    const history = new ExecutionHistory();
    history.append({ type: 'ExecutionStarted', timestamp: 1 });
    history.events().pop();
    expect(history.length).toBe(1);
  });
});

describe('evaluateReferencePath', () => {
  const input = { items: [{ id: 'a' }, { id: 'b' }], 'odd key': { n: 1 }, nested: { list: [[1, 2]] } };
  const context = { Execution: { Input: { batch: [1, 2, 3] }, Name: 'd-1' } };

  it.each([
    ['$', input],
    ['$.items', input.items],
    ['$.items[1].id', 'b'],
    ["$['odd key'].n", 1],
    ['$.nested.list[0][1]', 2],
    ['$$.Execution.Input.batch', [1, 2, 3]],
    ['$$.Execution.Name', 'd-1'],
  ])('evaluates %s', (path, expected) => {
    expect(evaluateReferencePath(path, input, context)).toEqual({ value: expected });
  });

  it.each(['$.missing', '$.items[5]', '$.items.id', '$.items[*].id', '$..id', 'items', '$.items[?(@.id)]'])(
    'gives undefined for %s, which names no single existing node',
    (path) => {
      expect(evaluateReferencePath(path, input, context)).toBeUndefined();
    },
  );
});
