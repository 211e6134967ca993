import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwtPayload } from '../../cli/context.ts';
import { runCli } from '../../cli/main.ts';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import { waitFor } from '../../local/net.ts';
import { type CliRun, cliRunner } from '../support/cli.ts';

type Run = CliRun;

const exampleDir = resolve(import.meta.dirname, '../../examples/fleet');

describe('greco CLI against a local cloud', () => {
  let cloud: LocalCloud;
  let workDir: string;
  let fleetDir: string;
  const greco = cliRunner(
    () => workDir,
    () => fleetDir,
  );
  const oneLine = (run: Run): string => {
    const lines = run.err.split('\n').filter((line) => line.trim() !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^greco: /);
    return lines[0] as string;
  };

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'greco-cli-'));
    fleetDir = join(workDir, 'fleet');
    await cp(exampleDir, fleetDir, { recursive: true });
    cloud = await startLocalCloud({ ports: 'ephemeral', workDir });
  }, 180_000);

  afterAll(async () => {
    await cloud?.close();
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  });

  it('logs in with a local token for a workspace and roles, stored with mode 0600', async () => {
    const run = await greco('login', '--workspace', 'clitest');
    expect(run.code).toBe(0);
    expect(run.out).toContain('as workspace clitest');
    const stored = JSON.parse(await readFile(join(workDir, 'credentials.json'), 'utf8'));
    expect(stored).toMatchObject({ kind: 'local', workspace: 'clitest', managedPrefix: 'greco' });
    expect(decodeJwtPayload(stored.token)?.['custom:workspace']).toBe('clitest');
  });

  it('plans the example fleet: packages the code, creates a draft, prints every function to create', async () => {
    const run = await greco('plan', '-f', 'greco.yaml');
    expect(run.err).toContain('packaged durations');
    expect(run.err).toContain('(bundled with esbuild)');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/against live epoch 0/);
    for (const name of ['durations', 'greeter', 'orders-api']) expect(run.out).toContain(`+ ${name}`);
    expect(run.out).toContain('environment.GREETING: "Hello"');
    expect(run.out).toContain('3 to create, 0 to update, 0 to delete, 0 unchanged');

    const again = await greco('--json', 'plan', '-f', 'greco.yaml');
    expect(again.code).toBe(0);
    const plan = JSON.parse(again.out);
    expect(plan.draftVersion).toBeGreaterThan(1); // the same draft, updated with If-Match
    expect(plan.summary).toEqual({ create: 3, update: 0, delete: 0, unchanged: 0 });
  });

  it('lists the live model: epoch 0 and no functions before any deployment', async () => {
    const run = await greco('--json', 'functions');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out)).toEqual({ epoch: 0, functions: [] });
  });

  it('applies the fleet (Committed, epoch 1) and invokes each function through its live alias', async () => {
    const run = await greco('apply', '-f', 'greco.yaml');
    expect(run.err + run.out).toContain('Committed');
    expect(run.code).toBe(0);
    expect(run.out).toContain('epoch 1 is live');

    const listed = JSON.parse((await greco('--json', 'functions')).out);
    expect(listed.epoch).toBe(1);
    expect(listed.functions.map((f: { name: string }) => f.name)).toEqual([
      'durations',
      'greeter',
      'orders-api',
    ]);

    const greeter = await greco('--json', 'invoke', 'greeter', '--payload', '{"name":"Ada"}');
    expect(greeter.code).toBe(0);
    expect(JSON.parse(greeter.out).payload).toEqual({ message: 'Hello, Ada!' });

    const durations = await greco('--json', 'invoke', 'durations', '--payload', '{"duration":"2h"}');
    expect(JSON.parse(durations.out).payload).toEqual({
      duration: '2h',
      milliseconds: 7_200_000,
      long: '2 hours',
    });

    const order = await greco(
      '--json',
      'invoke',
      'orders-api',
      '--payload',
      '{"rawPath":"/orders/o-1","requestContext":{"http":{"method":"GET"}}}',
    );
    const answer = JSON.parse(order.out).payload;
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ id: 'o-1', item: 'coffee', quantity: 2 });

    const deployments = JSON.parse((await greco('--json', 'deployments')).out);
    expect(deployments.deployments[0]).toMatchObject({ status: 'Committed', targetEpoch: 1 });
  }, 120_000);

  it('suspends a function (invoke throttled), starts it (answers again), and greco events shows it all in order', async () => {
    const suspended = await greco('suspend', 'greeter');
    expect(suspended.code).toBe(0);
    expect(suspended.out).toContain('greeter is suspended');
    const throttled = await greco('invoke', 'greeter');
    expect(throttled.code).toBe(1);
    expect(oneLine(throttled)).toContain('greeter is throttled (429)');
    const started = await greco('start', 'greeter');
    expect(started.code).toBe(0);
    expect(started.out).toContain('greeter is running');
    expect(JSON.parse((await greco('--json', 'invoke', 'greeter')).out).payload).toEqual({
      message: 'Hello, world!',
    });

    const lines = await waitFor(
      async () => {
        const run = await greco('events');
        const found = run.out.split('\n').filter(Boolean);
        return found.some((line) => line.includes('Function Started')) ? found : undefined;
      },
      { timeoutMs: 10_000, what: 'the Function Started event' },
    );
    const types = lines.map((line) => line.split(/\s{2,}/)[1]);
    expect(types.indexOf('Deployment Started')).toBeLessThan(types.indexOf('Deployment Committed'));
    expect(types.indexOf('Deployment Committed')).toBeLessThan(types.indexOf('Function Suspended'));
    expect(types.indexOf('Function Suspended')).toBeLessThan(types.indexOf('Function Started'));
  }, 60_000);

  it('lists deployments with the time each was requested in the STARTED column', async () => {
    const run = await greco('deployments');
    expect(run.code).toBe(0);
    expect(run.out.split('\n')[0]).toMatch(/^DEPLOYMENT\s+STATUS\s+EPOCH\s+CHANGES\s+STARTED$/);
    expect(run.out).toMatch(
      /^dep-\S+\s+Committed\s+0 → 1\s+\+3 ~0 -0\s+\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/m,
    );
  });

  it("reads a function's logs from CloudWatch Logs: START, END and REPORT of each invocation, in its version's streams of the workspace's log group", async () => {
    // Act (greeter ran in the tests above)
    const text = await greco('logs', 'greeter');
    const reports = await greco('--json', 'logs', 'greeter', '--filter', 'REPORT', '--since', '1h');
    const missing = await greco('logs', 'nope');

    // Assess
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^\d{4}-\d{2}-\d{2}T\S+Z START RequestId: [0-9a-f-]{36} Version: 1$/m);
    expect(text.out).toMatch(/^\S+Z END RequestId: /m);
    expect(text.out).toMatch(/^\S+Z REPORT RequestId: .*\tBilled Duration: /m);
    const events = reports.out
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(events.length).toBeGreaterThanOrEqual(2);
    for (const event of events) {
      expect(event.message).toMatch(/^REPORT RequestId: /);
      // greco points its functions at the workspace's log group (domain/data-plane-roles.ts); Lambda
      // names streams in such a custom group YYYY/MM/DD/<function name>[<version>]<environment id>.
      expect(event.logStreamName).toMatch(/^\d{4}\/\d{2}\/\d{2}\/greco-clitest-greeter\[1\][0-9a-f]{32}$/);
    }
    expect(missing.code).toBe(1);
    expect(oneLine(missing)).toBe(
      'greco: nope is not deployed in workspace clitest (no Lambda function greco-clitest-nope): greco functions lists what is',
    );
  });

  it('follows the logs of a function: new invocations appear until Ctrl-C, which ends with exit code 0', async () => {
    // Prepare
    const stop = new AbortController();
    let out = '';
    const since = new Date().toISOString();
    const following = runCli(['--work-dir', workDir, 'logs', 'greeter', '--follow', '--since', since], {
      io: { out: (t) => (out += t), err: () => {} },
      cwd: fleetDir,
      env: {},
      signal: stop.signal,
      pollIntervalMs: 100,
    });

    // Act
    const invoked = await greco('--json', 'invoke', 'greeter', '--payload', '{"name":"Follow"}');
    await waitFor(() => out.includes('REPORT RequestId:'), {
      timeoutMs: 15_000,
      what: 'the followed REPORT line',
    });
    stop.abort();

    // Assess
    expect(invoked.code).toBe(0);
    expect(await following).toBe(0);
    const starts = out.split('\n').filter((line) => line.includes(' START RequestId: '));
    expect(starts).toHaveLength(1);
  }, 60_000);

  it('answers a malformed greco.yaml with one line naming the file and line, and changes nothing', async () => {
    await writeFile(
      join(fleetDir, 'bad.yaml'),
      'functions:\n  greeter:\n    code: functions/greeter\n    runtime: nodejs24.x\n    handler: index.handler\n    memoryMiB: lots\n',
    );
    const run = await greco('apply', '-f', 'bad.yaml');
    expect(run.code).toBe(1);
    expect(oneLine(run)).toBe(
      'greco: bad.yaml:6: functions.greeter.memoryMiB: expected a number, got "lots"',
    );
    expect(JSON.parse((await greco('--json', 'functions')).out).epoch).toBe(1);
  });

  it('answers a missing code directory with one line that says what to do', async () => {
    await writeFile(
      join(fleetDir, 'missing.yaml'),
      'functions:\n  ghost:\n    code: functions/ghost\n    runtime: nodejs24.x\n    handler: index.handler\n',
    );
    const run = await greco('apply', '-f', 'missing.yaml');
    expect(run.code).toBe(1);
    expect(oneLine(run)).toMatch(
      /^greco: missing\.yaml:3: functions\.ghost\.code: .*functions\/ghost does not exist; create it or fix the path/,
    );
  });

  it('answers an expired token with one line telling to log in again', async () => {
    const login = await greco('login', '--workspace', 'clitest', '--expires-in', '1');
    expect(login.code).toBe(0);
    const stored = JSON.parse(await readFile(join(workDir, 'credentials.json'), 'utf8'));
    const exp = decodeJwtPayload(stored.token)?.exp as number;
    await waitFor(() => Date.now() > exp * 1000, { timeoutMs: 5000, what: 'the token to expire' });
    const run = await greco('apply', '-f', 'greco.yaml');
    expect(run.code).toBe(1);
    expect(oneLine(run)).toMatch(
      /^greco: your token for workspace clitest expired at .*: run greco login --workspace clitest$/,
    );
    expect((await greco('login', '--workspace', 'clitest')).code).toBe(0);
  });

  it('answers with one line when no local cloud is running', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'greco-cli-empty-'));
    try {
      let err = '';
      const code = await runCli(['--work-dir', empty, 'apply', '-f', join(fleetDir, 'greco.yaml')], {
        io: { out: () => {}, err: (t) => (err += t) },
        cwd: fleetDir,
        env: {},
      });
      expect(code).toBe(1);
      expect(oneLine({ code, out: '', err })).toMatch(
        /^greco: no local cloud is running .*: start one with npx greco local/,
      );
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('prints the problem+json of an API error with --verbose', async () => {
    await writeFile(
      join(fleetDir, 'big.yaml'),
      'functions:\n  greeter:\n    code: functions/greeter\n    runtime: nodejs24.x\n    handler: index.handler\n    memoryMiB: 20000\n',
    );
    const run = await greco('--verbose', 'plan', '-f', 'big.yaml');
    expect(run.code).toBe(1);
    const [first, ...rest] = run.err.split('\n').filter((line) => !line.startsWith('  packaged'));
    expect(first).toMatch(/^greco: (POST|PUT) \/v1\/drafts.* answered 400: .*memoryMiB.*10240/);
    expect(JSON.parse(rest.join('\n'))).toMatchObject({ status: 400 });
  });

  describe('deploys exactly what was reviewed', () => {
    /** The fields of the API's answers these tests read. */
    interface Answer {
      readonly draftId?: string;
      readonly version?: number;
      readonly functions?: readonly { readonly name: string }[];
      readonly deploymentId?: string;
      readonly status?: string;
    }

    /** The management API as the logged-in user, outside the CLI: another person's deployment. */
    async function api(
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ): Promise<{ status: number; body: Answer }> {
      const { token } = JSON.parse(await readFile(join(workDir, 'credentials.json'), 'utf8'));
      const response = await fetch(`${cloud.apiUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: (await response.json().catch(() => ({}))) as Answer };
    }

    it('rebases a draft made before another deployment when nothing conflicts, says so, and keeps both changes', async () => {
      // Prepare: this work dir's draft holds greeter with PUNCTUATION "?" (based on the live epoch);
      // then someone else deploys durations with 256 MiB.
      const fleet = await readFile(join(fleetDir, 'greco.yaml'), 'utf8');
      await writeFile(join(fleetDir, 'ask.yaml'), fleet.replace('PUNCTUATION: "!"', 'PUNCTUATION: "?"'));
      expect((await greco('plan', '-f', 'ask.yaml')).code).toBe(0);
      const epochBefore = JSON.parse((await greco('--json', 'functions')).out).epoch as number;
      const other = await api('POST', 'v1/drafts');
      const copy = await api('GET', `v1/drafts/${other.body.draftId}`);
      const durations = copy.body.functions?.find((f: { name: string }) => f.name === 'durations');
      const put = await api(
        'PUT',
        `v1/drafts/${other.body.draftId}/functions/durations`,
        { ...durations, memoryMiB: 256 },
        { 'if-match': `"${copy.body.version}"` },
      );
      expect(put.status).toBe(200);
      const started = await api('POST', `v1/drafts/${other.body.draftId}/deployments`);
      expect(started.status).toBe(202);
      await waitFor(
        async () => {
          const { body } = await api('GET', `v1/deployments/${started.body.deploymentId}`);
          if (body.status !== 'Requested' && body.status !== 'Preparing' && body.status !== 'Committing')
            return body.status === 'Committed' ? true : Promise.reject(new Error(body.status));
          return undefined;
        },
        { timeoutMs: 60_000, what: 'the other deployment to commit' },
      );

      // Act
      const run = await greco('apply', '-f', 'ask.yaml');

      // Assess: rebased onto the other deployment's epoch, which is kept; the draft's change deployed.
      expect(run.err).toContain(`Rebased draft`);
      expect(run.err).toContain(`from epoch ${epochBefore} onto live epoch ${epochBefore + 1}: no conflicts`);
      expect(run.code).toBe(0);
      expect(run.out).toContain(`epoch ${epochBefore + 2} is live`);
      const live = JSON.parse((await greco('--json', 'functions')).out);
      const byName = new Map(live.functions.map((f: { name: string }) => [f.name, f]));
      expect(byName.get('durations')).toMatchObject({ memoryMiB: 256 });
      expect(byName.get('greeter')).toMatchObject({ environment: { GREETING: 'Hello', PUNCTUATION: '?' } });
    }, 180_000);

    it('refuses, without a terminal, an apply that deletes functions unless --yes: exits 1, says why, deploys nothing', async () => {
      // Prepare: a model without durations.
      const fleet = await readFile(join(fleetDir, 'ask.yaml'), 'utf8');
      const start = fleet.indexOf('  durations:');
      const end = fleet.indexOf('  greeter:');
      await writeFile(join(fleetDir, 'fewer.yaml'), fleet.slice(0, start) + fleet.slice(end));
      const before = JSON.parse((await greco('--json', 'deployments')).out).deployments.length as number;
      const epoch = JSON.parse((await greco('--json', 'functions')).out).epoch as number;

      // Act
      const run = await greco('apply', '-f', 'fewer.yaml');

      // Assess
      expect(run.code).toBe(1);
      expect(run.out).toContain('- durations');
      expect(run.err).toMatch(
        /^greco: the plan deletes 1 function\(s\): durations; nothing was deployed: run greco apply --yes/m,
      );
      expect(JSON.parse((await greco('--json', 'deployments')).out).deployments).toHaveLength(before);
      expect(JSON.parse((await greco('--json', 'functions')).out).epoch).toBe(epoch);
    }, 60_000);

    it('asks on a terminal before deploying a plan that deletes functions, and a "no" deploys nothing', async () => {
      // Prepare: a terminal that answers no.
      const questions: string[] = [];
      let err = '';
      const epoch = JSON.parse((await greco('--json', 'functions')).out).epoch as number;

      // Act
      const code = await runCli(['--work-dir', workDir, 'apply', '-f', 'fewer.yaml'], {
        io: {
          out: () => {},
          err: (t) => (err += t),
          confirm: async (question) => {
            questions.push(question);
            return false;
          },
        },
        cwd: fleetDir,
        env: {},
        pollIntervalMs: 100,
      });

      // Assess
      expect(questions).toEqual(['the plan deletes 1 function(s): durations. Deploy?']);
      expect(code).toBe(1);
      expect(err).toContain('Not deployed: nothing changed.');
      expect(JSON.parse((await greco('--json', 'functions')).out).epoch).toBe(epoch);
    }, 60_000);
  });
});
