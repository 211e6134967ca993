import {
  DeleteFunctionConcurrencyCommand,
  GetFunctionCommand,
  type LambdaClient,
  PutFunctionConcurrencyCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyCommittedConcurrency,
  type FunctionTarget,
  getFunctionState,
  hotPathFunctionName,
  startFunction,
  suspendFunction,
  targetConcurrency,
} from '../../domain/concurrency/protocol.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../domain/errors.ts';
import { managedFunctionName } from '../../domain/names.ts';
import { GrecoTags } from '../../domain/tags.ts';
import { type RunningLambdaEmulator, startLambdaEmulator } from '../../local/lambda/index.ts';
import {
  createFunction,
  hotPathLambdaClient,
  invokeOnce,
  managedTags,
  mutatingOperations,
  recordOperations,
} from './hotpath-support.ts';

const prefix = 'greco';
const workspace = 'acme';
let emulator: RunningLambdaEmulator;
let admin: LambdaClient;
let sequence = 0;

beforeAll(async () => {
  emulator = await startLambdaEmulator({ controlPlaneRateLimit: 0, transitionMs: 0, logSink: () => {} });
  admin = hotPathLambdaClient(emulator.endpoint);
});

afterAll(async () => {
  admin?.destroy();
  await emulator?.close();
});

/** A unique function name for one test. */
function uniqueName(label: string): string {
  sequence += 1;
  return `${label}-${sequence}`;
}

function target(name: string, ws = workspace): FunctionTarget {
  return { managedPrefix: prefix, workspace: ws, name };
}

/** Creates a managed function of `workspace` as a committed deployment leaves it. */
async function managedFunction(
  name: string,
  reserved: number | 'none' | undefined,
  extraTags: Record<string, string> = {},
): Promise<string> {
  const functionName = `${prefix}-${workspace}-${name}`;
  await createFunction(admin, {
    functionName,
    tags: { ...managedTags(workspace, name, reserved), ...extraTags },
    ...(typeof reserved === 'number' ? { reservedConcurrency: reserved } : {}),
  });
  return functionName;
}

/** Tags and reserved concurrency of a function, straight from Lambda. */
async function observe(
  functionName: string,
): Promise<{ tags: Record<string, string>; concurrency: number | undefined }> {
  const output = await admin.send(new GetFunctionCommand({ FunctionName: functionName }));
  return { tags: output.Tags ?? {}, concurrency: output.Concurrency?.ReservedConcurrentExecutions };
}

describe('hotPathFunctionName', () => {
  it.each(['resize', 'a_b', 'x-y-z', 'A1'])('matches the domain managedFunctionName for %s', (name) => {
    expect(hotPathFunctionName(target(name))).toBe(managedFunctionName(prefix, workspace, name));
  });

  it.each(['', 'a/b', 'a b', '../x', 'é', 'a:1'])('rejects the name %j with 400', (name) => {
    expect(() => hotPathFunctionName(target(name))).toThrow(ValidationError);
  });
});

describe('getFunctionState', () => {
  it('reports a running function with its configured and current concurrency', async () => {
    const name = uniqueName('state');
    await managedFunction(name, 5);
    await expect(getFunctionState(admin, target(name))).resolves.toEqual({
      name,
      functionName: `${prefix}-${workspace}-${name}`,
      state: 'running',
      reservedConcurrency: 5,
      currentConcurrency: 5,
    });
  });

  it('reports an unreserved function with nulls', async () => {
    const name = uniqueName('state-none');
    await managedFunction(name, 'none');
    await expect(getFunctionState(admin, target(name))).resolves.toMatchObject({
      state: 'running',
      reservedConcurrency: null,
      currentConcurrency: null,
    });
  });
});

describe('suspendFunction and startFunction', () => {
  it('suspends (tag, then concurrency 0: invocations get 429) and starts again (configured value restored)', async () => {
    // Prepare
    const name = uniqueName('cycle');
    const functionName = await managedFunction(name, 5);
    const lambda = hotPathLambdaClient(emulator.endpoint);
    const operations = recordOperations(lambda);
    expect(await invokeOnce(emulator.endpoint, functionName)).toBe('ok');

    // Act: suspend
    const suspended = await suspendFunction(lambda, target(name));

    // Assess
    expect(suspended).toMatchObject({
      changed: true,
      function: { state: 'suspended', reservedConcurrency: 5, currentConcurrency: 0 },
    });
    expect(operations).toEqual(['GetFunction', 'TagResource', 'PutFunctionConcurrency', 'GetFunction']);
    expect(await observe(functionName)).toMatchObject({
      tags: { [GrecoTags.suspended]: 'true' },
      concurrency: 0,
    });
    expect(await invokeOnce(emulator.endpoint, functionName)).toBe('TooManyRequestsException');

    // Act: start
    operations.length = 0;
    const started = await startFunction(lambda, target(name));

    // Assess
    expect(started).toMatchObject({
      changed: true,
      function: { state: 'running', reservedConcurrency: 5, currentConcurrency: 5 },
    });
    expect(operations).toEqual(['GetFunction', 'PutFunctionConcurrency', 'UntagResource', 'GetFunction']);
    const after = await observe(functionName);
    expect(after.tags[GrecoTags.suspended]).toBeUndefined();
    expect(after.concurrency).toBe(5);
    expect(await invokeOnce(emulator.endpoint, functionName)).toBe('ok');
    lambda.destroy();
  });

  it('starts an unreserved function by deleting its reserved concurrency', async () => {
    const name = uniqueName('unreserved');
    const functionName = await managedFunction(name, 'none');
    const lambda = hotPathLambdaClient(emulator.endpoint);
    const operations = recordOperations(lambda);
    await suspendFunction(lambda, target(name));
    operations.length = 0;

    const started = await startFunction(lambda, target(name));

    expect(started.function).toMatchObject({
      state: 'running',
      reservedConcurrency: null,
      currentConcurrency: null,
    });
    expect(operations).toContain('DeleteFunctionConcurrency');
    expect((await observe(functionName)).concurrency).toBeUndefined();
    expect(await invokeOnce(emulator.endpoint, functionName)).toBe('ok');
    lambda.destroy();
  });

  it.each([
    ['suspend', suspendFunction],
    ['start', startFunction],
  ] as const)('calls nothing that changes state on a repeated %s', async (verb, act) => {
    // Prepare: the function already is in the asked state.
    const name = uniqueName(`repeat-${verb}`);
    await managedFunction(name, 3);
    if (verb === 'suspend') await suspendFunction(admin, target(name));
    const lambda = hotPathLambdaClient(emulator.endpoint);
    const operations = recordOperations(lambda);
    // Act
    const outcome = await act(lambda, target(name));
    const again = await act(lambda, target(name));
    // Assess
    expect(outcome.changed).toBe(false);
    expect(again.changed).toBe(false);
    expect(operations.filter((op) => mutatingOperations.has(op))).toEqual([]);
    expect(operations).toEqual(['GetFunction', 'GetFunction']);
    lambda.destroy();
  });

  it('repairs a half-done suspend (tagged, concurrency not yet 0) when repeated', async () => {
    const name = uniqueName('half-suspended');
    const functionName = await managedFunction(name, 4, { [GrecoTags.suspended]: 'true' });
    const outcome = await suspendFunction(admin, target(name));
    expect(outcome).toMatchObject({ changed: true, function: { state: 'suspended', currentConcurrency: 0 } });
    expect((await observe(functionName)).concurrency).toBe(0);
  });

  it('refuses to start a function no deployment has committed (no concurrency tag) with 409, changing nothing', async () => {
    const name = uniqueName('uncommitted');
    const functionName = await managedFunction(name, undefined);
    await suspendFunction(admin, target(name));
    const lambda = hotPathLambdaClient(emulator.endpoint);
    const operations = recordOperations(lambda);

    const failure = startFunction(lambda, target(name));

    await expect(failure).rejects.toBeInstanceOf(ConflictError);
    await expect(failure).rejects.toThrow(/has no committed reserved concurrency/);
    expect(operations).toEqual(['GetFunction']);
    expect(await observe(functionName)).toMatchObject({
      tags: { [GrecoTags.suspended]: 'true' },
      concurrency: 0,
    });
    lambda.destroy();
  });

  it('answers 409 when Lambda refuses the configured value (fewer than 100 unreserved would be left)', async () => {
    const name = uniqueName('too-big');
    const functionName = `${prefix}-${workspace}-${name}`;
    await createFunction(admin, { functionName, tags: managedTags(workspace, name, 950) });
    await suspendFunction(admin, target(name));

    const failure = startFunction(admin, target(name));

    await expect(failure).rejects.toBeInstanceOf(ConflictError);
    await expect(failure).rejects.toThrow(/Lambda refused reserved concurrency 950/);
    expect(await observe(functionName)).toMatchObject({
      tags: { [GrecoTags.suspended]: 'true' },
      concurrency: 0,
    });
  });
});

describe('functions the caller may not see answer 404 and are not touched', () => {
  const cases: [string, () => Promise<FunctionTarget>][] = [
    ['a missing function', async () => target(uniqueName('missing'))],
    [
      'a function without greco:managed',
      async () => {
        const name = uniqueName('unmanaged');
        const { 'greco:managed': _managed, ...tags } = managedTags(workspace, name, 2);
        await createFunction(admin, {
          functionName: `${prefix}-${workspace}-${name}`,
          tags,
          reservedConcurrency: 2,
        });
        return target(name);
      },
    ],
    [
      'a function with greco:managed=false',
      async () => {
        const name = uniqueName('not-managed');
        await createFunction(admin, {
          functionName: `${prefix}-${workspace}-${name}`,
          tags: { ...managedTags(workspace, name, 2), 'greco:managed': 'false' },
          reservedConcurrency: 2,
        });
        return target(name);
      },
    ],
    [
      "another workspace's function",
      async () => {
        const name = uniqueName('theirs');
        await createFunction(admin, {
          functionName: `${prefix}-globex-${name}`,
          tags: managedTags('globex', name, 2),
          reservedConcurrency: 2,
        });
        return target(name);
      },
    ],
    [
      "another workspace's function whose Lambda name reads as ours (workspace a-b, name c vs workspace a, name b-c)",
      async () => {
        const suffix = uniqueName('c');
        await createFunction(admin, {
          functionName: `${prefix}-acme-b-${suffix}`,
          tags: managedTags('acme-b', suffix, 2),
          reservedConcurrency: 2,
        });
        return target(`b-${suffix}`);
      },
    ],
    ['a name whose Lambda name would exceed 64 characters', async () => target('x'.repeat(60))],
  ];

  it.each(cases)('%s', async (_case, prepare) => {
    const addressed = await prepare();
    const lambda = hotPathLambdaClient(emulator.endpoint);
    const operations = recordOperations(lambda);
    for (const verb of [getFunctionState, suspendFunction, startFunction]) {
      const failure = verb(lambda, addressed);
      await expect(failure).rejects.toBeInstanceOf(NotFoundError);
      // The same answer whatever the reason: nothing about other workspaces leaks.
      await expect(failure).rejects.toMatchObject({
        status: 404,
        message: `function ${addressed.name} not found`,
      });
    }
    expect(operations.filter((op) => mutatingOperations.has(op))).toEqual([]);
    lambda.destroy();
  });
});

describe('applyCommittedConcurrency (the conductor half)', () => {
  it('writes the tag and applies the value to a running function', async () => {
    const name = uniqueName('commit-running');
    const functionName = await managedFunction(name, 5);
    const settled = await applyCommittedConcurrency(admin, functionName, 8);
    expect(settled.reservedConcurrentExecutions).toBe(8);
    expect(await observe(functionName)).toMatchObject({
      tags: { [GrecoTags.reservedConcurrency]: '8' },
      concurrency: 8,
    });
  });

  it('keeps a suspended function at 0 and updates what start restores', async () => {
    const name = uniqueName('commit-suspended');
    const functionName = await managedFunction(name, 5);
    await suspendFunction(admin, target(name));

    await applyCommittedConcurrency(admin, functionName, 9);

    expect(await observe(functionName)).toMatchObject({
      tags: { [GrecoTags.reservedConcurrency]: '9', [GrecoTags.suspended]: 'true' },
      concurrency: 0,
    });
    expect(await invokeOnce(emulator.endpoint, functionName)).toBe('TooManyRequestsException');
    const started = await startFunction(admin, target(name));
    expect(started.function).toMatchObject({
      state: 'running',
      reservedConcurrency: 9,
      currentConcurrency: 9,
    });
  });

  it('commits unreserved as the tag none and no reserved concurrency', async () => {
    const name = uniqueName('commit-none');
    const functionName = await managedFunction(name, 5);
    await applyCommittedConcurrency(admin, functionName, undefined);
    expect(await observe(functionName)).toMatchObject({
      tags: { [GrecoTags.reservedConcurrency]: 'none' },
      concurrency: undefined,
    });
  });

  it('writes nothing when repeated', async () => {
    const name = uniqueName('commit-repeat');
    const functionName = await managedFunction(name, 5);
    await applyCommittedConcurrency(admin, functionName, 6);
    const lambda = hotPathLambdaClient(emulator.endpoint);
    const operations = recordOperations(lambda);
    await applyCommittedConcurrency(lambda, functionName, 6);
    expect(operations).toEqual(['GetFunction']);
    lambda.destroy();
  });

  it.each([-1, 1.5, Number.NaN, 10_000_000])(
    'rejects %d with a RangeError before any call',
    async (value) => {
      const lambda = hotPathLambdaClient(emulator.endpoint);
      const operations = recordOperations(lambda);
      await expect(applyCommittedConcurrency(lambda, 'greco-acme-any', value)).rejects.toThrow(RangeError);
      expect(operations).toEqual([]);
      lambda.destroy();
    },
  );

  it('answers NotFoundError for a missing function', async () => {
    await expect(applyCommittedConcurrency(admin, 'greco-acme-nothing-here', 1)).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });
});

describe('targetConcurrency', () => {
  it.each([
    [{ [GrecoTags.suspended]: 'true', [GrecoTags.reservedConcurrency]: '5' }, { value: 0 }],
    [{ [GrecoTags.suspended]: 'true' }, { value: 0 }],
    [{ [GrecoTags.reservedConcurrency]: '5' }, { value: 5 }],
    [{ [GrecoTags.reservedConcurrency]: 'none' }, { value: undefined }],
    [{ [GrecoTags.suspended]: 'false', [GrecoTags.reservedConcurrency]: '2' }, { value: 2 }],
    [{ [GrecoTags.reservedConcurrency]: '-1' }, 'leave'],
    [{}, 'leave'],
  ])('reads %j as %j', (tags, expected) => {
    expect(targetConcurrency(tags)).toEqual(expected);
  });
});

// ---------------------------------------------------------------------------------------------
// Interleavings. Two writers (a verb and a conductor commit, or two verbs) each send a sequence of
// Lambda calls; the Scheduler lets exactly one call be in flight at a time and decides which
// writer goes next. Exploring every schedule (depth-first over the decision points) covers every
// order in which the two writers' calls can reach Lambda.
// ---------------------------------------------------------------------------------------------

type Writer = 'A' | 'B';
type WriterState = 'busy' | 'waiting' | 'sending' | 'finished';

/** Serializes two writers' Lambda calls along a schedule: `prefix` first, then `A` whenever both wait. */
class Scheduler {
  readonly decisions: { chosen: Writer; both: boolean }[] = [];
  readonly #prefix: readonly Writer[];
  readonly #state = new Map<Writer, WriterState>([
    ['A', 'busy'],
    ['B', 'busy'],
  ]);
  readonly #wakers = new Map<Writer, () => void>();

  constructor(prefix: readonly Writer[]) {
    this.#prefix = prefix;
  }

  /** Makes `writer` wait for its turn before each call: used by {@link gatedClient}'s middleware. */
  async turn<T>(writer: Writer, send: () => Promise<T>): Promise<T> {
    await new Promise<void>((resolve) => {
      this.#state.set(writer, 'waiting');
      this.#wakers.set(writer, resolve);
      this.#decide();
    });
    try {
      return await send();
    } finally {
      this.#state.set(writer, 'busy');
      // The writer either sends its next call or finishes; both decide again.
      setImmediate(() => this.#decide());
    }
  }

  /** Runs one writer to its end. */
  async run<T>(writer: Writer, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } finally {
      this.#state.set(writer, 'finished');
      this.#decide();
    }
  }

  /** The schedule taken, e.g. `AABAB`. */
  get trace(): string {
    return this.decisions.map((d) => d.chosen).join('');
  }

  #decide(): void {
    const states = [...this.#state.values()];
    if (states.includes('busy') || states.includes('sending')) return;
    const waiting = (['A', 'B'] as const).filter((w) => this.#state.get(w) === 'waiting');
    const [first] = waiting;
    if (first === undefined) return;
    const preferred = this.#prefix[this.decisions.length] ?? 'A';
    const chosen = waiting.length === 2 ? preferred : first;
    this.decisions.push({ chosen, both: waiting.length === 2 });
    this.#state.set(chosen, 'sending');
    this.#wakers.get(chosen)?.();
  }
}

interface Scenario {
  /** Brings the function to the scenario's starting state. */
  reset(functionName: string): Promise<void>;
  a(client: LambdaClient, functionName: string): Promise<unknown>;
  b(client: LambdaClient, functionName: string): Promise<unknown>;
  /** Asserts the final state; `schedule` names the interleaving in failure messages. */
  check(observed: { tags: Record<string, string>; concurrency: number | undefined }, schedule: string): void;
}

/** A client whose every call waits for `writer`'s turn in the current scheduler. */
function gatedClient(writer: Writer, current: () => Scheduler): LambdaClient {
  const client = hotPathLambdaClient(emulator.endpoint);
  client.middlewareStack.add((next) => (args) => current().turn(writer, () => next(args)), {
    step: 'initialize',
    name: 'scheduler',
  });
  return client;
}

/**
 * Runs `scenario` along every schedule of its two writers (depth-first over the points where both
 * wait), or only along `prefixes` when given; returns the schedules taken.
 */
async function exploreAllSchedules(
  functionName: string,
  scenario: Scenario,
  prefixes?: readonly (readonly Writer[])[],
): Promise<string[]> {
  const pending: (readonly Writer[])[] = prefixes === undefined ? [[]] : [...prefixes];
  const explored: string[] = [];
  let scheduler = new Scheduler([]);
  const clientA = gatedClient('A', () => scheduler);
  const clientB = gatedClient('B', () => scheduler);
  try {
    while (pending.length > 0) {
      const prefix = pending.pop() ?? [];
      await scenario.reset(functionName);
      scheduler = new Scheduler(prefix);
      const run = scheduler;
      const results = await Promise.allSettled([
        run.run('A', () => scenario.a(clientA, functionName)),
        run.run('B', () => scenario.b(clientB, functionName)),
      ]);
      for (const result of results) {
        if (result.status === 'rejected') {
          throw new Error(`schedule ${run.trace} failed: ${String(result.reason)}`, { cause: result.reason });
        }
      }
      scenario.check(await observe(functionName), run.trace);
      explored.push(run.trace);
      if (prefixes !== undefined) continue;
      for (let i = prefix.length; i < run.decisions.length; i++) {
        const decision = run.decisions[i];
        if (decision?.both && decision.chosen === 'A') {
          pending.push([...run.decisions.slice(0, i).map((d) => d.chosen), 'B']);
        }
      }
    }
  } finally {
    clientA.destroy();
    clientB.destroy();
  }
  return explored;
}

/**
 * The schedules with one preemption: one writer runs its first `k` calls, then the other runs to
 * its end, then the first finishes; for every `k` up to `maxCalls`, both ways round.
 */
function singlePreemptionSchedules(maxCalls = 12): Writer[][] {
  const schedules: Writer[][] = [];
  for (let k = 0; k <= maxCalls; k++) {
    schedules.push([...Array<Writer>(k).fill('A'), ...Array<Writer>(4 * maxCalls).fill('B')]);
    schedules.push([...Array<Writer>(k).fill('B'), ...Array<Writer>(4 * maxCalls).fill('A')]);
  }
  return schedules;
}

/** Sets a function's tags and concurrency directly (the starting point of a schedule). */
async function setState(
  functionName: string,
  state: { suspended: boolean; configured: number | 'none'; concurrency: number | undefined },
): Promise<void> {
  const { FunctionArn } =
    (await admin.send(new GetFunctionCommand({ FunctionName: functionName }))).Configuration ?? {};
  await admin.send(
    new TagResourceCommand({
      Resource: FunctionArn,
      Tags: { [GrecoTags.reservedConcurrency]: String(state.configured) },
    }),
  );
  if (state.suspended) {
    await admin.send(
      new TagResourceCommand({ Resource: FunctionArn, Tags: { [GrecoTags.suspended]: 'true' } }),
    );
  } else {
    await admin.send(new UntagResourceCommand({ Resource: FunctionArn, TagKeys: [GrecoTags.suspended] }));
  }
  if (state.concurrency === undefined) {
    await admin.send(new DeleteFunctionConcurrencyCommand({ FunctionName: functionName }));
  } else {
    await admin.send(
      new PutFunctionConcurrencyCommand({
        FunctionName: functionName,
        ReservedConcurrentExecutions: state.concurrency,
      }),
    );
  }
}

/** Model name of a Lambda name `greco-acme-<name>`. */
function modelName(functionName: string): string {
  return functionName.slice(`${prefix}-${workspace}-`.length);
}

/** The invariant of every schedule: the concurrency is what the final tags say. */
function expectSettled(
  observed: { tags: Record<string, string>; concurrency: number | undefined },
  schedule: string,
) {
  const wanted = targetConcurrency(observed.tags);
  expect(wanted, `schedule ${schedule}`).not.toBe('leave');
  if (wanted !== 'leave') expect(observed.concurrency, `schedule ${schedule}`).toBe(wanted.value);
}

describe('every interleaving of the hot path and a deployment commit converges', () => {
  it('suspend racing a commit of 7: stays suspended, and start will restore 7', async () => {
    const name = uniqueName('race-suspend-commit');
    const functionName = await managedFunction(name, 5);
    const schedules = await exploreAllSchedules(functionName, {
      reset: (fn) => setState(fn, { suspended: false, configured: 5, concurrency: 5 }),
      a: (client, fn) => suspendFunction(client, target(modelName(fn))),
      b: (client, fn) => applyCommittedConcurrency(client, fn, 7),
      check(observed, schedule) {
        expectSettled(observed, schedule);
        expect(observed, `schedule ${schedule}`).toEqual({
          tags: expect.objectContaining({
            [GrecoTags.suspended]: 'true',
            [GrecoTags.reservedConcurrency]: '7',
          }),
          concurrency: 0,
        });
      },
    });
    // Both writers' calls were interleaved in every possible order, not just run one after the other.
    expect(schedules.length).toBeGreaterThan(20);
    expect(new Set(schedules).size).toBe(schedules.length);
  });

  it('start racing a commit of 7: runs, never left at 0, with 7 applied', async () => {
    const name = uniqueName('race-start-commit');
    const functionName = await managedFunction(name, 5);
    const schedules = await exploreAllSchedules(functionName, {
      reset: (fn) => setState(fn, { suspended: true, configured: 5, concurrency: 0 }),
      a: (client, fn) => startFunction(client, target(modelName(fn))),
      b: (client, fn) => applyCommittedConcurrency(client, fn, 7),
      check(observed, schedule) {
        expectSettled(observed, schedule);
        expect(observed.tags[GrecoTags.suspended], `schedule ${schedule}`).toBeUndefined();
        expect(observed.tags[GrecoTags.reservedConcurrency], `schedule ${schedule}`).toBe('7');
        expect(observed.concurrency, `schedule ${schedule}`).toBe(7);
      },
    });
    expect(schedules.length).toBeGreaterThan(20);
  });

  it('start racing a commit of unreserved: runs unreserved (every single-preemption schedule)', async () => {
    // The exhaustive exploration of start racing a commit is above; this one only swaps
    // PutFunctionConcurrency for DeleteFunctionConcurrency, so the schedules where one writer
    // preempts the other once, at each of its calls, are enough.
    const name = uniqueName('race-start-none');
    const functionName = await managedFunction(name, 5);
    const schedules = await exploreAllSchedules(
      functionName,
      {
        reset: (fn) => setState(fn, { suspended: true, configured: 5, concurrency: 0 }),
        a: (client, fn) => startFunction(client, target(modelName(fn))),
        b: (client, fn) => applyCommittedConcurrency(client, fn, undefined),
        check(observed, schedule) {
          expectSettled(observed, schedule);
          expect(observed.tags[GrecoTags.suspended], `schedule ${schedule}`).toBeUndefined();
          expect(observed.tags[GrecoTags.reservedConcurrency], `schedule ${schedule}`).toBe('none');
          expect(observed.concurrency, `schedule ${schedule}`).toBeUndefined();
        },
      },
      singlePreemptionSchedules(),
    );
    expect(new Set(schedules).size).toBeGreaterThanOrEqual(6);
  });

  it('start racing suspend: whichever tag write lands last wins, and the concurrency follows it', async () => {
    const name = uniqueName('race-start-suspend');
    const functionName = await managedFunction(name, 5);
    const outcomes = new Set<string>();
    await exploreAllSchedules(functionName, {
      reset: (fn) => setState(fn, { suspended: true, configured: 5, concurrency: 0 }),
      a: (client, fn) => startFunction(client, target(modelName(fn))),
      b: async (client, fn) => {
        // The suspend is issued while the function is suspended or being started.
        await suspendFunction(client, target(modelName(fn)));
      },
      check(observed, schedule) {
        expectSettled(observed, schedule);
        outcomes.add(observed.tags[GrecoTags.suspended] === 'true' ? 'suspended' : 'running');
      },
    });
    expect([...outcomes].sort()).toEqual(['running', 'suspended']);
  });
});

describe('Lambda API throttling', () => {
  it('a verb retries through the account rate limit and still succeeds', async () => {
    // Prepare: the emulator throttles half of all control-plane calls.
    const name = uniqueName('throttled');
    const functionName = await managedFunction(name, 5);
    emulator.setFaults({ throttleRate: 0.5 });
    try {
      const lambda = hotPathLambdaClient(emulator.endpoint, { deadlineMs: 10_000 });
      // Act
      const outcome = await suspendFunction(lambda, target(name));
      // Assess
      expect(outcome.function.state).toBe('suspended');
      lambda.destroy();
    } finally {
      emulator.setFaults({});
    }
    expect(await observe(functionName)).toMatchObject({ concurrency: 0 });
  });

  it('a verb fails with 503 once Lambda throttles it past the deadline', async () => {
    const name = uniqueName('throttled-out');
    await managedFunction(name, 5);
    emulator.setFaults({ throttleRate: 1 });
    try {
      const lambda = hotPathLambdaClient(emulator.endpoint, { deadlineMs: 100 });
      await expect(suspendFunction(lambda, target(name))).rejects.toMatchObject({
        name: 'LambdaUnavailableError',
        status: 503,
      });
      lambda.destroy();
    } finally {
      emulator.setFaults({});
    }
  });
});
