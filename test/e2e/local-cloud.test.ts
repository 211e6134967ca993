/**
 * The real greco app in the local cloud: synthesizes bin/greco.ts with local context, deploys it,
 * and drives the management API over HTTP with a token from the local issuer.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStateDocument } from '../../contracts/local-state.ts';
import {
  descendantProcesses,
  type LocalCloud,
  type LocalCloudProgress,
  startLocalCloud,
} from '../../local/cloud.ts';
import { waitFor } from '../../local/net.ts';

let workDir: string;
let cloud: LocalCloud;
const progress: LocalCloudProgress[] = [];
let childrenWhileRunning: number[] = [];

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'greco-local-cloud-'));
  cloud = await startLocalCloud({ ports: 'ephemeral', workDir, onProgress: (event) => progress.push(event) });
});

afterAll(async () => {
  await cloud?.close();
  await rm(workDir, { recursive: true, force: true });
});

async function call(method: string, path: string, token: string, body?: unknown): Promise<Response> {
  return fetch(`${cloud.apiUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

describe('the greco app in the local cloud', () => {
  it('deploys the control plane stack and reports every step', () => {
    expect(Object.keys(cloud.stacks)).toContain('GrecoControlPlane');
    expect(progress.map((event) => event.step)).toEqual(
      expect.arrayContaining(['emulator', 'synth', 'stack', 'ready']),
    );
    const services = progress.flatMap((event) => (event.step === 'emulator' ? [event.service] : []));
    expect(services.sort()).toEqual([
      'dynamodb',
      'eventbridge',
      'iam',
      'issuer',
      'lambda',
      'logs',
      's3',
      'stepfunctions',
    ]);
    expect(cloud.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(cloud.stacks.GrecoControlPlane?.outputs.ApiUrl).toBe(cloud.apiUrl);
  });

  it('writes local.json with the endpoints, the API URL, the issuer and the stack outputs', async () => {
    const state = JSON.parse(await readFile(join(workDir, 'local.json'), 'utf8')) as LocalStateDocument;
    expect(state.pid).toBe(process.pid);
    expect(state.endpoints).toEqual(cloud.endpoints);
    expect(state.credentials).toEqual({ accessKeyId: 'local', secretAccessKey: 'local' });
    expect(state.apiUrl).toBe(cloud.apiUrl);
    expect(state.issuer.tokenUrl).toBe(`${cloud.endpoints.issuer}/token`);
    expect(state.stacks.GrecoControlPlane?.outputs.ConfigTableName).toMatch(/^GrecoControlPlane-ConfigTable/);
  });

  it('refuses a call without a token', async () => {
    expect((await fetch(`${cloud.apiUrl}v1/functions`)).status).toBe(401);
  });

  it('answers GET /v1/functions with epoch 0 for a new workspace', async () => {
    const token = await cloud.mintToken({ workspace: 'e2e-empty', roles: ['viewer'] });
    const response = await call('GET', 'v1/functions', token);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ epoch: 0, functions: [] });
  });

  it('creates a draft and reads it back', async () => {
    const token = await cloud.mintToken({ workspace: 'e2e-drafts', roles: ['viewer', 'editor'] });
    const created = await call('POST', 'v1/drafts', token);
    expect(created.status).toBe(201);
    const draft = (await created.json()) as { draftId: string };
    expect(created.headers.get('location')).toBe(`/v1/drafts/${draft.draftId}`);

    const read = await call('GET', `v1/drafts/${draft.draftId}`, token);
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ draftId: draft.draftId, functions: [] });

    const otherWorkspace = await cloud.mintToken({ workspace: 'e2e-other', roles: ['viewer'] });
    expect((await call('GET', `v1/drafts/${draft.draftId}`, otherWorkspace)).status).toBe(404);
  });

  it('stops every child process and removes local.json on close', async () => {
    childrenWhileRunning = await descendantProcesses();
    expect(childrenWhileRunning.length).toBeGreaterThan(0);
    await cloud.close();
    await waitFor(
      async () =>
        (await descendantProcesses()).filter((pid) => childrenWhileRunning.includes(pid)).length === 0,
      { timeoutMs: 15_000, what: 'every child process to exit' },
    );
    await expect(readFile(join(workDir, 'local.json'), 'utf8')).rejects.toThrow(/ENOENT/);
  });
});
