/**
 * greco in a user's own project (issue 16): the CLI installed as the README says
 * (`npm install -g <repository>`, into a temporary prefix), run by the system's Node.js 20 from a
 * folder outside the repository, re-executing itself on the repository's Node.js 24 and finding
 * the local cloud through the user-level state folder (`GRECO_STATE_DIR`, a temporary folder).
 * There, a third-party app: `greco init`, then an Express app wrapped with serverless-http with
 * its own package.json, `greco apply`, `greco invoke`, `greco logs`; exit codes and signals pass
 * through the re-execution.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import { waitFor } from '../../local/net.ts';

const run = promisify(execFile);
const projectDir = resolve(import.meta.dirname, '../..');

/** The system's Node.js, older than 24: what `greco` runs under once installed with npm. */
const systemNode = ['/usr/bin/node', '/usr/local/bin/node'].find((path) => existsSync(path));

let root: string;
let stateDir: string;
let appDir: string;
let binDir: string;
let cloud: LocalCloud;
const children: ChildProcess[] = [];

/** The environment of a user's shell: the installed `greco` and the system's `node` on PATH, nothing of the repository. */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: `${binDir}:/usr/local/bin:/usr/bin:/bin`,
    HOME: join(root, 'home'),
    GRECO_STATE_DIR: stateDir,
    ...extra,
  };
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the installed `greco` from the app's folder, as a user's shell would. */
async function greco(args: string[], extra: NodeJS.ProcessEnv = {}, cwd = appDir): Promise<Run> {
  try {
    const { stdout, stderr } = await run(join(binDir, 'greco'), args, {
      cwd,
      env: userEnv(extra),
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** The `greco.*` lines of stderr other than progress (`  packaged ...`). */
const errorLines = (result: Run): string[] =>
  result.stderr.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('  '));

/** An HTTP API (payload 2.0) event for `GET <path>`, as API Gateway sends it to a function. */
function httpGet(path: string): string {
  return JSON.stringify({
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { host: 'api.example.com', accept: 'application/json' },
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: 'api.example.com',
      http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: 'r-1',
      routeKey: '$default',
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    isBase64Encoded: false,
  });
}

beforeAll(async () => {
  if (systemNode === undefined) {
    throw new Error(
      'no system Node.js in /usr/bin or /usr/local/bin: this test runs greco under it (apt-get install -y nodejs)',
    );
  }
  root = await mkdtemp(join(tmpdir(), 'greco-anywhere-'));
  stateDir = join(root, 'state');
  appDir = join(root, 'app');
  const prefix = join(root, 'npm-global');
  binDir = join(prefix, 'bin');
  await mkdir(join(prefix, 'lib'), { recursive: true });
  await mkdir(appDir);
  await mkdir(join(root, 'home'));
  // Installed as the README says: npm install -g <the repository> (a link to it).
  await run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', projectDir], {
    cwd: root,
    env: { ...process.env, npm_config_update_notifier: 'false' },
    timeout: 120_000,
  });
  // A previous local cloud's event in the work folder: a restart without --persist starts afresh.
  const workDir = join(root, 'work');
  await mkdir(workDir);
  await writeFile(
    join(workDir, 'events.jsonl'),
    `${JSON.stringify({ id: 'stale-1', time: '2020-01-01T00:00:00Z', source: 'greco.hotpath', 'detail-type': 'Function Suspended', detail: { workspace: 'third', name: 'ghost', state: 'suspended' } })}\n`,
  );
  cloud = await startLocalCloud({ ports: 'ephemeral', workDir, userStateDir: stateDir });
}, 240_000);

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  await cloud?.close();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

describe('greco from any folder, under the system Node.js', () => {
  it('runs under the system Node.js 20 by re-executing itself on the repository Node.js 24', async () => {
    // Prepare
    const { stdout: version } = await run(systemNode as string, ['--version']);

    // Act
    const help = await greco(['--help']);
    const usage = await greco(['no-such-command']);

    // Assess
    expect(Number(version.trim().slice(1).split('.')[0])).toBeLessThan(24);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: greco <command>/);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^greco: unknown command "no-such-command"/);
  });

  it('says in one line where it looked when no local cloud runs', async () => {
    // Prepare
    const empty = join(root, 'empty-state');

    // Act
    const result = await greco(['functions'], { GRECO_STATE_DIR: empty });

    // Assess
    expect(result.code).toBe(1);
    expect(errorLines(result)).toEqual([
      `greco: no local cloud is running (no .greco in ${appDir} or above; no ${empty}/local.json (the user-level state folder; $GRECO_STATE_DIR sets it)): start one with npx greco local (or npm start) in another terminal, or log in to a deployed greco with greco login --endpoint URL --token JWT`,
    ]);
  });

  it('finds the running local cloud through the user-level state folder, and keeps its login there', async () => {
    // Act
    const login = await greco(['login', '--workspace', 'third']);
    const status = await greco(['--json', 'functions']);

    // Assess
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toContain(`credentials in ${join(stateDir, 'credentials.json')}`);
    expect(JSON.parse(await readFile(join(stateDir, 'local.json'), 'utf8')).apiUrl).toBe(cloud.apiUrl);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual({ epoch: 0, functions: [] });
  });

  it('greco init writes a starter greco.yaml and functions/hello into the empty app folder', async () => {
    // Act
    const init = await greco(['init']);

    // Assess
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain('Wrote greco.yaml and functions/hello/index.mjs');
    expect(await readFile(join(appDir, 'greco.yaml'), 'utf8')).toContain('code: functions/hello');
  });

  it('applies, invokes and reads the logs of an Express app wrapped with serverless-http, from its own folder', async () => {
    // Prepare: the app's own package.json; its dependencies resolve from the repository's node_modules.
    const api = join(appDir, 'functions', 'api');
    await mkdir(api, { recursive: true });
    await writeFile(
      join(api, 'package.json'),
      JSON.stringify({
        name: 'api',
        private: true,
        type: 'module',
        dependencies: { express: '^5.0.0', 'serverless-http': '^4.0.0' },
      }),
    );
    await writeFile(
      join(api, 'index.mjs'),
      [
        "import express from 'express';",
        "import serverless from 'serverless-http';",
        'const app = express();',
        "app.get('/hello/:name', (req, res) => {",
        "  console.log('express says hello to', req.params.name);",
        '  res.json({ hello: req.params.name });',
        '});',
        'export const handler = serverless(app);',
        '',
      ].join('\n'),
    );
    await symlink(join(projectDir, 'node_modules'), join(api, 'node_modules'), 'dir');
    await writeFile(
      join(appDir, 'greco.yaml'),
      `${await readFile(join(appDir, 'greco.yaml'), 'utf8')}  api:\n    code: functions/api\n    runtime: nodejs24.x\n    handler: index.handler\n    memoryMiB: 256\n`,
    );

    // Act
    const apply = await greco(['apply', '-f', 'greco.yaml']);
    const hello = await greco(['invoke', 'hello', '--payload', '{"name":"Ada"}']);
    const express = await greco(['invoke', 'api', '--payload', httpGet('/hello/ada')]);
    const apiLogs = await waitFor(
      async () => {
        const logs = await greco(['logs', 'api']);
        return logs.stdout.includes(' REPORT RequestId: ') ? logs : undefined;
      },
      { timeoutMs: 15_000, what: "the api function's REPORT line in greco logs" },
    );
    const helloLogs = await greco(['logs', 'hello', '--since', '1h']);

    // Assess
    expect(apply.code, apply.stderr + apply.stdout).toBe(0);
    expect(apply.stderr).toContain('packaged api');
    expect(apply.stdout).toContain('epoch 1 is live');
    expect(JSON.parse(hello.stdout)).toEqual({ message: 'Hello, Ada!' });
    const answer = JSON.parse(express.stdout) as { statusCode: number; body: string };
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ hello: 'ada' });
    expect(apiLogs.stdout).toMatch(/^\S+Z START RequestId: [0-9a-f-]{36} Version: 1$/m);
    expect(apiLogs.stdout).toMatch(/^\S+Z \S+Z\t[0-9a-f-]{36}\tINFO\texpress says hello to ada$/m);
    expect(helloLogs.stdout).toMatch(/\tINFO\tevent \{"name":"Ada"\}$/m);
  }, 180_000);

  it('shows only the running local cloud events, none of the previous one', async () => {
    // Act
    const events = await waitFor(
      async () => {
        const result = await greco(['events']);
        return result.stdout.includes('Epoch Activated') ? result : undefined;
      },
      { timeoutMs: 15_000, what: 'the Epoch Activated event of the apply in greco events' },
    );

    // Assess
    expect(events.code, events.stderr).toBe(0);
    expect(events.stdout).toContain('Deployment Committed');
    expect(events.stdout).not.toContain('ghost');
  });

  it('passes the exit code of a failed command through', async () => {
    // Act
    const missing = await greco(['invoke', 'nope']);

    // Assess
    expect(missing.code).toBe(1);
    expect(errorLines(missing)).toEqual([
      'greco: nope is not in the live model of workspace third (no greco-third-nope:live): greco functions lists what is',
    ]);
  });

  /** Starts `greco logs hello --follow` in its own process group; resolves with it once it printed a START line. */
  async function follow(): Promise<{
    child: ChildProcess;
    out: () => string;
    exit: Promise<[number | null, string | null]>;
  }> {
    const child = spawn(join(binDir, 'greco'), ['logs', 'hello', '--follow', '--since', '1h'], {
      cwd: appDir,
      env: userEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    children.push(child);
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const exit = new Promise<[number | null, string | null]>((resolveExit) =>
      child.once('exit', (code, signal) => resolveExit([code, signal])),
    );
    await waitFor(() => (child.exitCode !== null ? 'exited' : out.includes(' START RequestId: ')), {
      timeoutMs: 30_000,
      what: 'greco logs --follow to print a START line',
    });
    expect(child.exitCode).toBeNull();
    return { child, out: () => out, exit };
  }

  it('ends a followed log on Ctrl-C (SIGINT to the whole process group, as a terminal sends it) with exit code 0', async () => {
    // Prepare
    const { child, exit } = await follow();

    // Act
    process.kill(-(child.pid as number), 'SIGINT');

    // Assess
    expect(await exit).toEqual([0, null]);
  });

  it('passes a SIGINT sent to the greco process alone (kill -INT <pid>) on as an interrupt: exit code 0', async () => {
    // Prepare
    const { child, exit } = await follow();

    // Act
    child.kill('SIGINT');

    // Assess
    expect(await exit).toEqual([0, null]);
  });

  it('passes SIGTERM on to the Node.js 24 process and ends by the same signal', async () => {
    // Prepare
    const { child, exit } = await follow();

    // Act
    child.kill('SIGTERM');

    // Assess
    expect(await exit).toEqual([null, 'SIGTERM']);
  });

  it("says in one line that the repository's Node.js 24 is missing, when it is", async () => {
    // Prepare: the bin alone, in a folder without node_modules.
    const fake = join(root, 'fake-repository', 'cli');
    await mkdir(fake, { recursive: true });
    await cp(join(projectDir, 'cli', 'greco.mjs'), join(fake, 'greco.mjs'));

    // Act
    const result = await run(systemNode as string, [join(fake, 'greco.mjs'), '--help'], {
      env: userEnv(),
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^greco: Node\.js 24 or newer is needed \(this is v\d+\.\d+\.\d+\) and the repository's own is missing \(.*fake-repository\/node_modules\/node\/bin\/node\): run npm ci in .*fake-repository$/,
      ),
    ]);
  });
});
