/**
 * The main job end to end (issue 6): a user drives the greco CLI against a fresh local cloud,
 * with the example fleet copied to a temp folder so that edits do not touch the repository.
 *
 * 1. apply → Committed, epoch 1; each function gives its real answer;
 * 2. change one function's code, apply → epoch 2; its answer changed;
 * 3. memoryMiB 20000 → the API refuses it at plan time (400, nothing written); then a real
 *    conductor veto (reservedConcurrency 500 + 500 of the account's 1000, 100 must stay unreserved)
 *    → Vetoed with CONCURRENCY_UNAVAILABLE and what to change; epoch 2 and every answer as
 *    before; revert → nothing to deploy;
 * 4. suspend → throttled; deploy a change to it → still throttled; start → the new code;
 * 5. remove a function, apply → Committed; invoking it through `live` is not found; the others answer;
 * 6. `greco events` (and `greco events --follow`, started before the first apply) shows every
 *    deployment and hot-path event of the run, in order.
 *
 * Epochs: every committed deployment adds one, so step 4's deployment makes epoch 3 and step 5's
 * epoch 4 (issue 6 counts epoch 3 at step 5 because it does not count step 4's deployment).
 *
 * The one-line errors of `greco apply` for a malformed greco.yaml, a missing code directory, an
 * expired token and no local cloud running are in test/integration/cli.test.ts; here the bin
 * itself (cli/greco.mjs as a child process) shows the exit codes a shell sees.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { runCli } from '../../cli/main.ts';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import { waitFor } from '../../local/net.ts';
import { type CliRun, cliRunner } from '../support/cli.ts';

const execFileAsync = promisify(execFile);
const projectDir = resolve(import.meta.dirname, '../..');
const exampleDir = join(projectDir, 'examples/fleet');
const bin = join(projectDir, 'cli/greco.mjs');

type Run = CliRun;

/** What each example function is invoked with. */
const payloads: Readonly<Record<string, unknown>> = {
  'orders-api': { rawPath: '/orders/o-1', requestContext: { http: { method: 'GET' } } },
  greeter: { name: 'Ada' },
  durations: { duration: '2h' },
};

/** One event line of `greco events` as `<detail-type> <deployment id or function name>`. */
function eventKey(line: string): string {
  const [, type, what] = line.split(/\s{2,}/);
  return `${type} ${what?.split(' ')[0]}`;
}

describe('the main job, end to end through the greco CLI', () => {
  let cloud: LocalCloud;
  let workDir: string;
  let fleetDir: string;
  /** `greco events --follow`, running from before the first apply. */
  let follow: { stop: AbortController; out: () => string; done: Promise<number> };
  /** Every event the run must have produced, in order (`eventKey` form). */
  const expectedEvents: string[] = [];

  const greco = cliRunner(
    () => workDir,
    () => fleetDir,
  );
  /** The only `greco:` line of stderr; progress lines (`  packaged ...`) aside. */
  const oneLine = (run: Run): string => {
    const lines = run.err.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('  packaged'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^greco: /);
    return lines[0] as string;
  };
  const epoch = async (): Promise<number> => JSON.parse((await greco('--json', 'functions')).out).epoch;
  const invoke = async (name: string): Promise<Run> =>
    greco('--json', 'invoke', name, '--payload', JSON.stringify(payloads[name]));
  /** Every function's answer, by name; fails the test if one does not answer. */
  const answers = async (names: readonly string[]): Promise<Record<string, unknown>> => {
    const result: Record<string, unknown> = {};
    for (const name of names) {
      const run = await invoke(name);
      expect(run.err, `invoke ${name}`).toBe('');
      expect(run.code).toBe(0);
      result[name] = JSON.parse(run.out).payload;
    }
    return result;
  };
  const events = async (): Promise<string[]> =>
    (await greco('events')).out
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map(eventKey);
  /** Edits greco.yaml of the copied fleet (comments kept). */
  const editModel = async (edit: (doc: ReturnType<typeof parseDocument>) => void): Promise<void> => {
    const path = join(fleetDir, 'greco.yaml');
    const doc = parseDocument(await readFile(path, 'utf8'));
    edit(doc);
    await writeFile(path, doc.toString());
  };
  /** Replaces text in a function's code, failing if the text is not there. */
  const editCode = async (name: string, from: string, to: string): Promise<void> => {
    const path = join(fleetDir, 'functions', name, 'index.mjs');
    const code = await readFile(path, 'utf8');
    expect(code).toContain(from);
    await writeFile(path, code.replace(from, to));
  };
  /**
   * `greco apply`; then waits until the deployment's last event is on the bus, so that the next
   * deployment's or hot-path verb's events come after it, and records the events it must have.
   */
  const apply = async (
    outcome: 'Committed' | 'Vetoed',
    ...options: string[]
  ): Promise<Run & { deploymentId: string }> => {
    const run = await greco('apply', '-f', 'greco.yaml', ...options);
    const deploymentId = /Deploying (dep-[a-z2-7]+)/.exec(run.err)?.[1];
    expect(deploymentId, run.err + run.out).toBeDefined();
    const last = outcome === 'Committed' ? 'Epoch Activated' : 'Deployment Vetoed';
    expectedEvents.push(
      ...(outcome === 'Committed'
        ? ['Deployment Started', 'Deployment Committed', 'Epoch Activated']
        : ['Deployment Started', 'Deployment Vetoed']
      ).map((type) => `${type} ${deploymentId}`),
    );
    await waitFor(async () => (await events()).includes(`${last} ${deploymentId}`), {
      timeoutMs: 15_000,
      what: `${last} of ${deploymentId} in greco events`,
    });
    return { ...run, deploymentId: deploymentId as string };
  };

  const all = ['durations', 'greeter', 'orders-api'];
  let before: Record<string, unknown>;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'greco-main-job-'));
    fleetDir = join(workDir, 'fleet');
    await cp(exampleDir, fleetDir, { recursive: true });
    cloud = await startLocalCloud({ ports: 'ephemeral', workDir });
    expect((await greco('login', '--workspace', 'mainjob')).code).toBe(0);
    let out = '';
    const stop = new AbortController();
    const done = runCli(['--work-dir', workDir, 'events', '--follow'], {
      io: { out: (t) => (out += t), err: () => {} },
      cwd: fleetDir,
      env: {},
      signal: stop.signal,
    });
    follow = { stop, out: () => out, done };
  }, 180_000);

  afterAll(async () => {
    follow?.stop.abort();
    await follow?.done;
    await cloud?.close();
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  });

  it('1. applies the example fleet: Committed, epoch 1, and each function gives its real answer', async () => {
    const run = await apply('Committed');
    expect(run.code).toBe(0);
    expect(run.out).toContain('3 to create, 0 to update, 0 to delete');
    expect(run.out).toContain('epoch 1 is live');
    // Progress: one line per change, never a count before the deployment lists its functions.
    expect(run.err).toMatch(/^ {2}Preparing: \d\/3 functions done/m);
    expect(run.err).toMatch(/^ {2}Committed: 3\/3 functions done; votes: lambda accept$/m);
    expect(run.err).not.toContain('0/0');
    expect(await epoch()).toBe(1);

    before = await answers(all);
    expect(before.greeter).toEqual({ message: 'Hello, Ada!' });
    expect(before.durations).toEqual({ duration: '2h', milliseconds: 7_200_000, long: '2 hours' });
    const order = before['orders-api'] as { statusCode: number; body: string };
    expect(order.statusCode).toBe(200);
    expect(JSON.parse(order.body)).toEqual({ id: 'o-1', item: 'coffee', quantity: 2 });
  }, 120_000);

  it("2. deploys a change of one function's code: epoch 2, and its answer changed", async () => {
    await editCode('orders-api', "item: 'coffee'", "item: 'espresso'");
    const run = await apply('Committed');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/~ orders-api\n\s+code\.sha256: [0-9a-f]{12} → [0-9a-f]{12}\n/);
    expect(run.out).toContain('0 to create, 1 to update, 0 to delete, 2 unchanged');
    expect(run.out).toContain('epoch 2 is live');
    expect(await epoch()).toBe(2);

    const now = await answers(all);
    const order = now['orders-api'] as { statusCode: number; body: string };
    expect(JSON.parse(order.body)).toEqual({ id: 'o-1', item: 'espresso', quantity: 2 });
    expect(now.greeter).toEqual(before.greeter);
    expect(now.durations).toEqual(before.durations);
    before = now;
  }, 120_000);

  it('3a. refuses memoryMiB 20000 at plan time in one line naming the field and the bound, and writes nothing', async () => {
    const deploymentsBefore = JSON.parse((await greco('--json', 'deployments')).out).deployments;
    const original = await readFile(join(fleetDir, 'greco.yaml'), 'utf8');
    await editModel((doc) => doc.setIn(['functions', 'orders-api', 'memoryMiB'], 20000));

    const run = await greco('apply', '-f', 'greco.yaml');
    expect(run.code).toBe(1);
    expect(oneLine(run)).toMatch(
      /^greco: (POST|PUT) \/v1\/drafts\S* answered 400: .*memoryMiB: must be an integer between 128 and 10240 MiB, got 20000/,
    );
    expect(run.err).not.toContain('Deploying');

    expect(await epoch()).toBe(2);
    expect(JSON.parse((await greco('--json', 'deployments')).out).deployments).toEqual(deploymentsBefore);
    expect(await answers(all)).toEqual(before);
    await writeFile(join(fleetDir, 'greco.yaml'), original);
  }, 60_000);

  it('3b. a conductor vetoes reservedConcurrency 500 + 500 (100 must stay unreserved): Vetoed, the reason and what to change, nothing changed', async () => {
    const original = await readFile(join(fleetDir, 'greco.yaml'), 'utf8');
    // Each is within one function's bound (900, checked at plan time); together they leave too little.
    await editModel((doc) => {
      doc.setIn(['functions', 'durations', 'reservedConcurrency'], 500);
      doc.setIn(['functions', 'orders-api', 'reservedConcurrency'], 500);
    });

    const run = await apply('Vetoed');
    expect(run.code).toBe(1);
    expect(run.out).toContain('+ reservedConcurrency: 500');
    expect(run.out).toContain(`Vetoed ${run.deploymentId}: nothing changed, epoch 2 is still live`);
    expect(run.out).toMatch(
      /✗ durations: the model reserves 1000 concurrent executions .* \(CONCURRENCY_UNAVAILABLE\)\n\s+to fix: lower or remove reservedConcurrency in greco\.yaml/,
    );
    expect(await epoch()).toBe(2);
    expect(await answers(all)).toEqual(before);

    // Revert: the draft is the live model again, so there is nothing to deploy.
    await writeFile(join(fleetDir, 'greco.yaml'), original);
    const again = await greco('apply', '-f', 'greco.yaml');
    expect(again.code).toBe(0);
    expect(again.out).toContain('Nothing to deploy: epoch 2 is already this model.');
  }, 120_000);

  it('4. a suspended function stays suspended across a deployment that changes it, and start brings the new code', async () => {
    const suspended = await greco('suspend', 'greeter');
    expect(suspended.code).toBe(0);
    expect(suspended.out).toContain('greeter is suspended');
    expectedEvents.push('Function Suspended greeter');

    // The bin as a shell runs it: exit code 1 and one line.
    const throttled = await execFileAsync(
      process.execPath,
      [bin, '--work-dir', workDir, 'invoke', 'greeter'],
      {
        cwd: fleetDir,
      },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(throttled.code).toBe(1);
    expect(throttled.stderr.trim()).toBe(
      'greco: greeter is throttled (429): it is suspended or at its concurrency limit; greco start greeter resumes a suspended function',
    );

    await editCode('greeter', 'punctuation}` };', 'punctuation} (v2)` };');
    const run = await apply('Committed');
    expect(run.code).toBe(0);
    expect(run.out).toContain('epoch 3 is live');
    const still = await invoke('greeter');
    expect(still.code).toBe(1);
    expect(oneLine(still)).toContain('greeter is throttled (429)');

    const started = await greco('start', 'greeter');
    expect(started.code).toBe(0);
    expect(started.out).toContain('greeter is running');
    expectedEvents.push('Function Started greeter');
    const now = await answers(all);
    expect(now.greeter).toEqual({ message: 'Hello, Ada! (v2)' });
    expect(now['orders-api']).toEqual(before['orders-api']);
    expect(now.durations).toEqual(before.durations);
    before = now;
  }, 120_000);

  it('5. removes a function from greco.yaml: Committed, its live alias is not found, the others still answer', async () => {
    await editModel((doc) => doc.deleteIn(['functions', 'durations']));
    // Without a terminal, a plan that deletes needs --yes: apply says so and deploys nothing.
    const refused = await greco('apply', '-f', 'greco.yaml');
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('the plan deletes 1 function(s): durations; nothing was deployed');
    expect(await epoch()).toBe(3);
    const run = await apply('Committed', '--yes');
    expect(run.code).toBe(0);
    expect(run.out).toContain('- durations (delete)');
    expect(run.out).toContain('0 to create, 0 to update, 1 to delete, 2 unchanged');
    expect(run.out).toContain('epoch 4 is live');
    expect(await epoch()).toBe(4);

    const gone = await invoke('durations');
    expect(gone.code).toBe(1);
    expect(oneLine(gone)).toBe(
      'greco: durations is not in the live model of workspace mainjob (no greco-mainjob-durations:live): greco functions lists what is',
    );
    const listed = JSON.parse((await greco('--json', 'functions')).out);
    expect(listed.functions.map((f: { name: string }) => f.name)).toEqual(['greeter', 'orders-api']);
    expect(await answers(['greeter', 'orders-api'])).toEqual({
      greeter: before.greeter,
      'orders-api': before['orders-api'],
    });
  }, 120_000);

  it('6. greco events shows every deployment and hot-path event of the run, in order, and --follow streamed the same', async () => {
    expect(expectedEvents).toHaveLength(3 + 3 + 2 + 1 + 3 + 1 + 3);
    expect(await events()).toEqual(expectedEvents);

    const streamed = await waitFor(
      () => {
        const lines = follow
          .out()
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map(eventKey);
        return lines.length >= expectedEvents.length ? lines : undefined;
      },
      { timeoutMs: 10_000, what: 'greco events --follow to stream every event' },
    );
    expect(streamed).toEqual(expectedEvents);
    follow.stop.abort();
    expect(await follow.done).toBe(0);
  }, 60_000);

  it('the bin says in one line, exit code 1, that no local cloud is running (the other apply errors: test/integration/cli.test.ts)', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'greco-main-job-empty-'));
    try {
      const result = await execFileAsync(
        process.execPath,
        [bin, '--work-dir', empty, 'apply', '-f', 'greco.yaml'],
        {
          cwd: fleetDir,
        },
      ).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => error,
      );
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^greco: no local cloud is running .*: start one with npx greco local/),
      ]);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
