import { describe, expect, it } from 'vitest';
import { progressLine, vetoReasons } from '../../cli/commands/apply.ts';
import { renderEvent } from '../../cli/commands/events.ts';
import { renderPlan, renderTable, renderVetoReasons } from '../../cli/render.ts';

describe('plan rendering', () => {
  it('shows creates with every field, updates as before → after, deletes, and the summary', () => {
    const text = renderPlan(
      {
        draftId: 'd-1',
        draftVersion: 3,
        baseEpoch: 1,
        liveEpoch: 1,
        changes: [
          {
            name: 'api',
            action: 'create',
            diffs: [
              { field: 'code.sha256', after: 'a'.repeat(64) },
              { field: 'memoryMiB', after: 256 },
            ],
          },
          {
            name: 'greeter',
            action: 'update',
            diffs: [
              { field: 'environment.GREETING', before: 'Hello', after: 'Hi' },
              { field: 'environment.NEW', after: 'x' },
              { field: 'tags.team', before: 'shop' },
            ],
          },
          { name: 'old', action: 'delete', diffs: [] },
        ],
        summary: { create: 1, update: 1, delete: 1, unchanged: 2 },
      },
      'demo',
    );
    expect(text).toBe(
      [
        'Plan for workspace demo: draft d-1 (version 3) against live epoch 1',
        '  + api',
        '      code.sha256: aaaaaaaaaaaa',
        '      memoryMiB: 256',
        '  ~ greeter',
        '      environment.GREETING: "Hello" → "Hi"',
        '      + environment.NEW: "x"',
        '      - tags.team: "shop"',
        '  - old (delete)',
        '1 to create, 1 to update, 1 to delete, 2 unchanged',
        '',
      ].join('\n'),
    );
  });

  it('says when the draft is the live model', () => {
    const text = renderPlan(
      {
        draftId: 'd',
        draftVersion: 1,
        baseEpoch: 2,
        liveEpoch: 2,
        changes: [],
        summary: { create: 0, update: 0, delete: 0, unchanged: 3 },
      },
      'demo',
    );
    expect(text).toContain('no changes: the draft is the live model');
  });

  it('pads table columns to the widest cell', () => {
    expect(
      renderTable([
        ['NAME', 'X'],
        ['durations', '1'],
      ]),
    ).toBe('NAME       X\ndurations  1\n');
  });

  it('prints each veto reason with what to change, once', () => {
    const deployment = {
      deploymentId: 'dep-x',
      status: 'Vetoed',
      baseEpoch: 2,
      targetEpoch: 3,
      votes: {
        lambda: {
          vote: 'veto',
          reasons: [{ code: 'OUT_OF_BOUNDS', function: 'api', message: 'memoryMiB 20000 is above 10240' }],
        },
      },
      functions: [
        {
          name: 'api',
          phase: 'prepare',
          status: 'vetoed',
          reasons: [{ code: 'OUT_OF_BOUNDS', function: 'api', message: 'memoryMiB 20000 is above 10240' }],
        },
      ],
    };
    const reasons = vetoReasons(deployment);
    expect(reasons).toEqual([
      {
        conductor: 'lambda',
        code: 'OUT_OF_BOUNDS',
        function: 'api',
        message: 'memoryMiB 20000 is above 10240',
      },
    ]);
    expect(renderVetoReasons(reasons)).toBe(
      "  ✗ api: memoryMiB 20000 is above 10240 (OUT_OF_BOUNDS)\n      to fix: bring the value within Lambda's bounds in greco.yaml (memoryMiB 128–10240, timeoutSeconds 1–900, environment ≤ 4 KB)\n",
    );
    expect(progressLine(deployment)).toBe('Vetoed: 1/1 functions done; votes: lambda veto');
  });

  it('renders deployment and hot-path events as one line each', () => {
    expect(
      renderEvent({
        id: '1',
        time: '2026-01-01T00:00:00Z',
        source: 'greco.deployments',
        'detail-type': 'Epoch Activated',
        detail: { workspace: 'demo', deploymentId: 'dep-a', status: 'Committed', epoch: 2, targetEpoch: 2 },
      }),
    ).toBe('2026-01-01T00:00:00Z  Epoch Activated             dep-a Committed epoch 2');
    expect(
      renderEvent({
        id: '2',
        time: '2026-01-01T00:00:01Z',
        source: 'greco.hotpath',
        'detail-type': 'Function Suspended',
        detail: { workspace: 'demo', name: 'greeter', state: 'suspended' },
      }),
    ).toBe('2026-01-01T00:00:01Z  Function Suspended          greeter suspended');
  });
});
