import { describe, expect, it } from 'vitest';
import { type FieldError, ValidationError } from '../../core/errors.ts';
import { Limits, parseModelInput, type SpecContext } from '../../core/spec.ts';

const ctx: SpecContext = { managedPrefix: 'greco', workspace: 'acme', now: new Date('2026-11-15T12:00:00Z') };
const sha = 'b'.repeat(64);

function fn(name: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, runtime: 'python3.13', handler: 'app.handler', code: { sha256: sha }, ...fields };
}

function errorsOf(input: unknown): FieldError[] {
  try {
    parseModelInput(input, ctx);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return [...(error as ValidationError).errors];
  }
  throw new Error('expected a ValidationError');
}

describe('parseModelInput', () => {
  it('returns every function with defaults, in request order', () => {
    const model = parseModelInput({ functions: [fn('orders'), fn('billing', { memoryMiB: 1024 })] }, ctx);
    expect(model.map((f) => [f.name, f.memoryMiB, f.timeoutSeconds])).toEqual([
      ['orders', 128, 3],
      ['billing', 1024, 3],
    ]);
  });

  it('accepts an empty model', () => {
    expect(parseModelInput({ functions: [] }, ctx)).toEqual([]);
  });

  it.each([
    [Limits.maxFunctionsPerWorkspace, 'accepts'],
    [Limits.maxFunctionsPerWorkspace + 1, 'rejects'],
  ])('with %i functions %s the model', (count, outcome) => {
    const functions = Array.from({ length: count }, (_, i) => fn(`f${i}`));
    if (outcome === 'accepts') expect(parseModelInput({ functions }, ctx)).toHaveLength(count);
    else {
      expect(errorsOf({ functions })).toEqual([
        { field: 'functions', message: `must hold at most 5000 functions per workspace, got ${count}` },
      ]);
    }
  });

  it('reports a duplicate name on each later use, pointing at the first', () => {
    expect(errorsOf({ functions: [fn('api'), fn('worker'), fn('api'), fn('api')] })).toEqual([
      { field: 'functions[2].name', message: 'duplicate name "api", also used by functions[0]' },
      { field: 'functions[3].name', message: 'duplicate name "api", also used by functions[0]' },
    ]);
  });

  it('treats names that differ only in case as different', () => {
    expect(parseModelInput({ functions: [fn('Api'), fn('api')] }, ctx)).toHaveLength(2);
  });

  it('lists the bad fields of every function with its index', () => {
    expect(
      errorsOf({
        functions: [
          fn('ok'),
          fn('slow', { timeoutSeconds: 901 }),
          fn('old', { runtime: 'python3.9' }),
          'nope',
        ],
      }),
    ).toEqual([
      {
        field: 'functions[1].timeoutSeconds',
        message: 'must be an integer between 1 and 900 seconds, got 901',
      },
      {
        field: 'functions[2].runtime',
        message:
          '"python3.9" was deprecated by Lambda on 2025-12-15; use python3.15 or another supported runtime',
      },
      { field: 'functions[3]', message: 'must be an object, got "nope"' },
    ]);
  });

  it.each([
    [{ functions: [], version: 2 }, [{ field: 'version', message: 'is not a known field' }]],
    [{}, [{ field: 'functions', message: 'is required' }]],
    [{ functions: {} }, [{ field: 'functions', message: 'must be an array of functions, got an object' }]],
    [[], [{ field: '(body)', message: 'must be an object with "functions", got an array' }]],
    [null, [{ field: '(body)', message: 'must be an object with "functions", got null' }]],
  ])('rejects the body %j', (input, errors) => {
    expect(errorsOf(input)).toEqual(errors);
  });
});
