import { describe, expect, it } from 'vitest';
import { mergeModels } from '../../core/merge.ts';
import { planChanges, planHash } from '../../core/plan.ts';
import { functionSpec } from '../support/fixtures.ts';

describe('mergeModels', () => {
  it("takes each side's change of different fields and keys, and functions created or deleted on one side", () => {
    // Prepare
    const base = [functionSpec('a', { environment: { K: '1' } }), functionSpec('gone')];
    const draft = [
      functionSpec('a', { environment: { K: '1', MINE: 'x' }, memoryMiB: 512 }),
      functionSpec('new'),
    ];
    const live = [functionSpec('a', { environment: { K: '2' }, timeoutSeconds: 9 }), functionSpec('gone')];

    // Act
    const { functions, conflicts } = mergeModels(base, draft, live);

    // Assess
    expect(conflicts).toEqual([]);
    expect(functions).toEqual([
      functionSpec('a', { environment: { K: '2', MINE: 'x' }, memoryMiB: 512, timeoutSeconds: 9 }),
      functionSpec('new'),
    ]);
  });

  it('lists a conflict per field both sides changed differently, and agrees on equal changes', () => {
    const base = [functionSpec('a', { tags: { team: 'x' } })];
    const draft = [functionSpec('a', { memoryMiB: 256, tags: { team: 'y' } })];
    const live = [functionSpec('a', { memoryMiB: 256, tags: { team: 'z' } })];

    const { conflicts } = mergeModels(base, draft, live);

    expect(conflicts).toEqual([{ function: 'a', field: 'tags.team', base: 'x', draft: 'y', live: 'z' }]);
  });

  it('reports a function created on both sides with different code as a code.sha256 conflict', () => {
    const draft = [functionSpec('a', { code: { sha256: 'a'.repeat(64), sizeBytes: 1, s3Key: 'a' } })];
    const live = [functionSpec('a', { code: { sha256: 'b'.repeat(64), sizeBytes: 1, s3Key: 'b' } })];

    const { conflicts } = mergeModels([], draft, live);

    expect(conflicts).toEqual([
      { function: 'a', field: 'code.sha256', draft: 'a'.repeat(64), live: 'b'.repeat(64) },
    ]);
  });
});

describe('planHash', () => {
  it('hashes equal change sets equally whatever the order of the models, and different ones differently', () => {
    const live = [functionSpec('a'), functionSpec('b')];
    const one = planHash(planChanges(live, [functionSpec('b'), functionSpec('a', { memoryMiB: 256 })]));
    const same = planHash(
      planChanges([...live].reverse(), [functionSpec('a', { memoryMiB: 256 }), functionSpec('b')]),
    );
    const other = planHash(planChanges(live, [functionSpec('a', { memoryMiB: 512 }), functionSpec('b')]));

    expect(one).toMatch(/^[0-9a-f]{64}$/);
    expect(same).toBe(one);
    expect(other).not.toBe(one);
  });
});
