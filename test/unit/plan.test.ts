import { describe, expect, it } from 'vitest';
import { type FunctionChange, planChanges } from '../../core/plan.ts';
import { codeRef, type FunctionSpec } from '../../core/spec.ts';
import { ValidationError } from '../../domain/errors.ts';

const shaA = 'a'.repeat(64);
const shaB = 'b'.repeat(64);

function spec(name: string, fields: Partial<FunctionSpec> = {}): FunctionSpec {
  return {
    name,
    runtime: 'nodejs24.x',
    handler: 'index.handler',
    code: codeRef(shaA, 1000),
    memoryMiB: 128,
    timeoutSeconds: 3,
    ephemeralStorageMiB: 512,
    environment: {},
    architecture: 'x86_64',
    tags: {},
    ...fields,
  };
}

describe('planChanges', () => {
  it.each<[string, FunctionSpec[], FunctionSpec[], FunctionChange[]]>([
    ['an identical function is unchanged', [spec('api')], [spec('api')], []],
    [
      'memory changes',
      [spec('api')],
      [spec('api', { memoryMiB: 1024 })],
      [{ name: 'api', action: 'update', diffs: [{ field: 'memoryMiB', before: 128, after: 1024 }] }],
    ],
    [
      'timeout, storage, runtime, handler and architecture change together, sorted by path',
      [spec('api')],
      [
        spec('api', {
          timeoutSeconds: 30,
          ephemeralStorageMiB: 1024,
          runtime: 'python3.13',
          handler: 'app.handler',
          architecture: 'arm64',
        }),
      ],
      [
        {
          name: 'api',
          action: 'update',
          diffs: [
            { field: 'architecture', before: 'x86_64', after: 'arm64' },
            { field: 'ephemeralStorageMiB', before: 512, after: 1024 },
            { field: 'handler', before: 'index.handler', after: 'app.handler' },
            { field: 'runtime', before: 'nodejs24.x', after: 'python3.13' },
            { field: 'timeoutSeconds', before: 3, after: 30 },
          ],
        },
      ],
    ],
    [
      'an environment key is added',
      [spec('api')],
      [spec('api', { environment: { LOG_LEVEL: 'debug' } })],
      [{ name: 'api', action: 'update', diffs: [{ field: 'environment.LOG_LEVEL', after: 'debug' }] }],
    ],
    [
      'an environment key is removed',
      [spec('api', { environment: { LOG_LEVEL: 'debug' } })],
      [spec('api')],
      [{ name: 'api', action: 'update', diffs: [{ field: 'environment.LOG_LEVEL', before: 'debug' }] }],
    ],
    [
      'an environment value changes and another stays',
      [spec('api', { environment: { LOG_LEVEL: 'debug', STAGE: 'prod' } })],
      [spec('api', { environment: { STAGE: 'prod', LOG_LEVEL: 'info' } })],
      [
        {
          name: 'api',
          action: 'update',
          diffs: [{ field: 'environment.LOG_LEVEL', before: 'debug', after: 'info' }],
        },
      ],
    ],
    [
      'an environment value becomes empty',
      [spec('api', { environment: { FLAG: 'on' } })],
      [spec('api', { environment: { FLAG: '' } })],
      [{ name: 'api', action: 'update', diffs: [{ field: 'environment.FLAG', before: 'on', after: '' }] }],
    ],
    [
      'tags are added, changed and removed',
      [spec('api', { tags: { team: 'core', 'cost:center': '42' } })],
      [spec('api', { tags: { team: 'payments', owner: 'ana' } })],
      [
        {
          name: 'api',
          action: 'update',
          diffs: [
            { field: 'tags.owner', after: 'ana' },
            { field: 'tags.team', before: 'core', after: 'payments' },
            { field: 'tags["cost:center"]', before: '42' },
          ],
        },
      ],
    ],
    [
      'the code changes',
      [spec('api')],
      [spec('api', { code: codeRef(shaB, 2000) })],
      [{ name: 'api', action: 'update', diffs: [{ field: 'code.sha256', before: shaA, after: shaB }] }],
    ],
    [
      'only the code size differs for the same sha256',
      [spec('api')],
      [spec('api', { code: codeRef(shaA, 1) })],
      [],
    ],
    [
      'reserved concurrency is set',
      [spec('api')],
      [spec('api', { reservedConcurrency: 10 })],
      [{ name: 'api', action: 'update', diffs: [{ field: 'reservedConcurrency', after: 10 }] }],
    ],
    [
      'reserved concurrency is unset',
      [spec('api', { reservedConcurrency: 10 })],
      [spec('api')],
      [{ name: 'api', action: 'update', diffs: [{ field: 'reservedConcurrency', before: 10 }] }],
    ],
    [
      'reserved concurrency goes to 0',
      [spec('api', { reservedConcurrency: 10 })],
      [spec('api', { reservedConcurrency: 0 })],
      [{ name: 'api', action: 'update', diffs: [{ field: 'reservedConcurrency', before: 10, after: 0 }] }],
    ],
    ['a function is deleted', [spec('api')], [], [{ name: 'api', action: 'delete', diffs: [] }]],
    [
      'a function is created, listing every set field',
      [],
      [spec('api', { environment: { STAGE: 'prod' }, tags: { team: 'core' }, reservedConcurrency: 5 })],
      [
        {
          name: 'api',
          action: 'create',
          diffs: [
            { field: 'architecture', after: 'x86_64' },
            { field: 'code.sha256', after: shaA },
            { field: 'environment.STAGE', after: 'prod' },
            { field: 'ephemeralStorageMiB', after: 512 },
            { field: 'handler', after: 'index.handler' },
            { field: 'memoryMiB', after: 128 },
            { field: 'reservedConcurrency', after: 5 },
            { field: 'runtime', after: 'nodejs24.x' },
            { field: 'tags.team', after: 'core' },
            { field: 'timeoutSeconds', after: 3 },
          ],
        },
      ],
    ],
  ])('%s', (_case, live, draft, changes) => {
    expect(planChanges(live, draft).changes).toStrictEqual(changes);
  });

  it('omits before on created fields and after on removed ones, rather than setting undefined', () => {
    const { changes } = planChanges(
      [spec('api', { reservedConcurrency: 1 })],
      [spec('api', { tags: { t: 'v' } })],
    );
    expect(changes[0]?.diffs).toHaveLength(2);
    for (const diff of changes[0]?.diffs ?? []) {
      expect(Object.keys(diff).sort()).toEqual(
        diff.field === 'tags.t' ? ['after', 'field'] : ['before', 'field'],
      );
    }
  });

  it('mixes actions, orders changes by name in code-unit order and counts them', () => {
    const live = [spec('b-keep'), spec('a-update'), spec('Z-delete'), spec('c-same')];
    const draft = [spec('c-same'), spec('a-update', { memoryMiB: 256 }), spec('b-keep'), spec('_create')];
    const plan = planChanges(live, draft);
    expect(plan.changes.map((change) => [change.name, change.action])).toEqual([
      ['Z-delete', 'delete'],
      ['_create', 'create'],
      ['a-update', 'update'],
    ]);
    expect(plan.summary).toEqual({ create: 1, update: 1, delete: 1, unchanged: 2 });
  });

  it('gives the same plan whatever the input order', () => {
    const live = Array.from({ length: 50 }, (_, i) => spec(`fn-${i}`, { memoryMiB: 128 + i }));
    const draft = Array.from({ length: 50 }, (_, i) =>
      spec(`fn-${i + 10}`, {
        memoryMiB: 128 + i + 10 + (i % 3 === 0 ? 1 : 0),
        environment: { B: '1', A: '2' },
      }),
    );
    const forward = planChanges(live, draft);
    const reversed = planChanges([...live].reverse(), [...draft].reverse());
    expect(reversed).toStrictEqual(forward);
    expect(JSON.stringify(reversed)).toBe(JSON.stringify(forward));
    expect(forward.summary).toEqual({ create: 10, update: 40, delete: 10, unchanged: 0 });
  });

  it('plans an empty change set for two empty models', () => {
    expect(planChanges([], [])).toEqual({
      changes: [],
      summary: { create: 0, update: 0, delete: 0, unchanged: 0 },
    });
  });

  it.each([
    ['live', [spec('api'), spec('web'), spec('api')], [], 'live[2].name'],
    ['draft', [], [spec('api'), spec('api')], 'draft[1].name'],
  ])('rejects a duplicate name in the %s model', (_model, live, draft, field) => {
    expect(() => planChanges(live, draft)).toThrow(
      expect.objectContaining({
        name: 'ValidationError',
        errors: [{ field, message: 'duplicate function name "api"' }],
      }),
    );
    expect(() => planChanges(live, draft)).toThrow(ValidationError);
  });
});
