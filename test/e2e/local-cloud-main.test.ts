/**
 * `npm start` (`node local/main.ts`) as a user runs it: flags, the one-line errors for a taken
 * port and a missing Java, and a full start with the real app that prints the endpoints and a
 * working token command, then stops on SIGTERM with exit code 0 and nothing left behind.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStateDocument } from '../../contracts/local-state.ts';
import { defaultProjectDir, descendantProcesses, findFreePortBlock, portOffsets } from '../../local/cloud.ts';
import { waitFor } from '../../local/net.ts';

const run = promisify(execFile);
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'greco-local-main-'));
});

afterAll(async () => {
  // A test that failed half way leaves npm start running: SIGTERM makes it stop what it started.
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  await rm(dir, { recursive: true, force: true });
});

/** Runs `node local/main.ts <args>` to its end. */
async function main(args: string[], env: NodeJS.ProcessEnv = process.env) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['local/main.ts', ...args], {
      cwd: defaultProjectDir,
      env,
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('npm start', () => {
  it('prints its usage with --help', async () => {
    const result = await main(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--persist');
    expect(result.stdout).toContain('--port-base N');
    expect(result.stdout).toContain('--no-example');
    expect(result.stdout).toContain('--verbose');
  });

  it('refuses an unknown flag or a bad port base with exit code 2', async () => {
    expect((await main(['--nope'])).code).toBe(2);
    const bad = await main(['--port-base', '80']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--port-base must be an integer between 1024 and 65515, got "80"');
  });

  it('says in one line which port is taken, and starts nothing', async () => {
    const base = await findFreePortBlock();
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(base + portOffsets.dynamodb, '127.0.0.1', resolve));
    try {
      const result = await main(['--port-base', String(base), '--work-dir', join(dir, 'taken')]);
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe(
        `greco: port ${base + portOffsets.dynamodb} (dynamodb) is already in use: stop what holds it, or choose another block with --port-base`,
      );
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('says in one line what to install when Java is missing', async () => {
    const base = await findFreePortBlock();
    const path = (process.env.PATH ?? '')
      .split(delimiter)
      .filter((folder) => folder !== '' && !existsSync(join(folder, 'java')))
      .join(delimiter);
    const result = await main(['--port-base', String(base), '--work-dir', join(dir, 'nojava')], {
      ...process.env,
      PATH: path,
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^greco: java was not found on PATH: .*apt-get install -y openjdk-17-jre-headless/,
      ),
    ]);
  });

  it('starts the real app, prints the endpoints and a working token command, applies the example fleet for a logged-in CLI, keeps function output in CloudWatch Logs, and stops on SIGTERM', async () => {
    // Prepare
    const base = await findFreePortBlock();
    const workDir = join(dir, 'full');
    // The user-level state folder, here a temporary one: npm start writes local.json and the login there too.
    const stateDir = join(dir, 'user-state');
    const child = spawn(
      process.execPath,
      ['local/main.ts', '--port-base', String(base), '--work-dir', workDir],
      {
        cwd: defaultProjectDir,
        env: { ...process.env, GRECO_STATE_DIR: stateDir },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(child);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });

    // Act
    const outcome = await waitFor(
      () => (child.exitCode !== null ? 'exited' : stdout.includes('Ctrl-C stops everything.') && 'ready'),
      { timeoutMs: 150_000, intervalMs: 100, what: 'npm start to be ready' },
    );
    if (outcome === 'exited') throw new Error(`local/main.ts exited with ${child.exitCode}: ${stderr}`);

    // Assess: what it printed
    const apiUrl = `http://127.0.0.1:${base + portOffsets.api}/`;
    expect(stdout).toMatch(/^ready in \d/m);
    expect(stdout).toContain(`API:   ${apiUrl}`);
    for (const service of [
      'dynamodb',
      's3',
      'lambda',
      'stepfunctions',
      'eventbridge',
      'issuer',
      'logs',
    ] as const) {
      expect(stdout).toContain(`http://127.0.0.1:${base + portOffsets[service]}`);
    }
    expect(stdout).toContain(
      `aws --endpoint-url http://127.0.0.1:${base + portOffsets.lambda} lambda list-functions`,
    );
    const state = JSON.parse(await readFile(join(workDir, 'local.json'), 'utf8')) as LocalStateDocument;
    expect(state.apiUrl).toBe(apiUrl);
    expect(state.pid).toBe(child.pid);

    // The printed token command works, and the token opens the API.
    const tokenLine = stdout.split('\n').find((line) => line.trim().startsWith('TOKEN=$(')) ?? '';
    const command = tokenLine.trim().slice('TOKEN=$('.length, -1);
    const { stdout: token } = await run('sh', ['-c', command]);
    const response = await fetch(`${apiUrl}v1/functions`, {
      headers: { authorization: `Bearer ${token.trim()}` },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ epoch: 1 });

    // The example fleet was applied through greco apply, and the CLI needs no greco login.
    expect(stdout).toContain('Logged in to the local cloud as workspace demo');
    expect(stdout).toMatch(/^Committed dep-[a-z2-7]+: epoch 1 is live\.$/m);
    expect(stdout).toContain('What to try next');
    expect(stdout).toContain(`npx greco --work-dir ${workDir} invoke greeter --payload '{"name":"Ada"}'`);
    const { stdout: answer } = await run(
      process.execPath,
      ['cli/greco.mjs', '--work-dir', workDir, 'invoke', 'greeter', '--payload', '{"name":"Ada"}'],
      { cwd: defaultProjectDir },
    );
    expect(JSON.parse(answer)).toEqual({ message: 'Hello, Ada!' });

    // Function output is in CloudWatch Logs (greco logs), not on npm start's terminal.
    const { stdout: logs } = await run(
      process.execPath,
      ['cli/greco.mjs', '--work-dir', workDir, 'logs', 'greeter'],
      { cwd: defaultProjectDir },
    );
    expect(logs).toMatch(/ START RequestId: [0-9a-f-]{36} Version: 1$/m);
    expect(stdout + stderr).not.toMatch(/\[greco-demo-[a-z-]+:(\$LATEST|\d+)\]/);
    expect(stdout).toContain(`logs tail /aws/lambda/<function name> --follow`);

    // The user-level state folder has the running cloud and the login: greco works from any folder.
    const userState = JSON.parse(await readFile(join(stateDir, 'local.json'), 'utf8')) as LocalStateDocument;
    expect(userState.pid).toBe(child.pid);
    expect(userState.endpoints.logs).toBe(`http://127.0.0.1:${base + portOffsets.logs}`);
    expect(JSON.parse(await readFile(join(stateDir, 'credentials.json'), 'utf8'))).toMatchObject({
      kind: 'local',
      workspace: 'demo',
    });

    // SIGTERM stops everything and exits 0.
    const pids = await descendantProcesses(child.pid as number);
    expect(pids.length).toBeGreaterThan(0);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toContain('stopped');
    await waitFor(
      async () => (await descendantProcesses()).filter((pid) => pids.includes(pid)).length === 0,
      {
        timeoutMs: 15_000,
        what: 'every process of the local cloud to exit',
      },
    );
    expect(existsSync(join(workDir, 'local.json'))).toBe(false);
    expect(existsSync(join(stateDir, 'local.json'))).toBe(false);
  }, 240_000);
});
