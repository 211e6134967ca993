/**
 * The hot path end to end in the local cloud: the data-plane controller deployed from its stack
 * behind its local function URL, called over HTTP with tokens of the local issuer, acting on
 * managed functions in the Lambda emulator created as the Lambda conductor creates them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import { waitFor } from '../../local/net.ts';
import { HotPathDriver } from '../../support/hotpath-driver.ts';

let workDir: string;
let cloud: LocalCloud;
let driver: HotPathDriver;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'greco-hotpath-'));
  cloud = await startLocalCloud({ ports: 'ephemeral', workDir });
  driver = new HotPathDriver(cloud, workDir);
});

afterAll(async () => {
  driver?.close();
  await cloud?.close();
  await rm(workDir, { recursive: true, force: true });
});

describe('start and suspend through the local cloud', () => {
  it('suspends a function (invocations of it and its live alias get 429) and starts it again', async () => {
    const functionName = await driver.createManagedFunction('hp-cycle', 'resize', { reservedConcurrency: 7 });
    const token = await driver.token('hp-cycle');
    expect(await driver.invoke(functionName)).toBe('ok');
    expect(await driver.invoke(functionName, 'live')).toBe('ok');

    const suspended = await driver.verb(token, 'resize', 'suspend');

    expect(suspended.status, JSON.stringify(suspended.body)).toBe(200);
    expect(suspended.body).toEqual({
      name: 'resize',
      functionName,
      state: 'suspended',
      reservedConcurrency: 7,
      currentConcurrency: 0,
    });
    expect(await driver.invoke(functionName)).toBe('throttled');
    expect(await driver.invoke(functionName, 'live')).toBe('throttled');
    expect((await driver.verb(token, 'resize', 'state')).body).toMatchObject({ state: 'suspended' });

    const started = await driver.verb(token, 'resize', 'start');

    expect(started.status, JSON.stringify(started.body)).toBe(200);
    expect(started.body).toEqual({
      name: 'resize',
      functionName,
      state: 'running',
      reservedConcurrency: 7,
      currentConcurrency: 7,
    });
    expect(await driver.invoke(functionName)).toBe('ok');
    expect(await driver.invoke(functionName, 'live')).toBe('ok');
  });

  it('starts an unreserved function by removing its limit', async () => {
    const functionName = await driver.createManagedFunction('hp-unreserved', 'free', {
      reservedConcurrency: undefined,
    });
    const token = await driver.token('hp-unreserved');

    const suspended = await driver.verb(token, 'free', 'suspend');
    expect(suspended.body).toMatchObject({
      state: 'suspended',
      reservedConcurrency: null,
      currentConcurrency: 0,
    });
    expect(await driver.invoke(functionName, 'live')).toBe('throttled');
    const started = await driver.verb(token, 'free', 'start');

    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({
      state: 'running',
      reservedConcurrency: null,
      currentConcurrency: null,
    });
    expect(await driver.invoke(functionName, 'live')).toBe('ok');
  });

  it('answers repeated verbs 200 without any mutating Lambda call', async () => {
    await driver.createManagedFunction('hp-repeat', 'again', { reservedConcurrency: 3 });
    const token = await driver.token('hp-repeat');

    // A running function: start again changes nothing.
    let before = await driver.operationCounts();
    const startRunning = await driver.verb(token, 'again', 'start');
    let after = await driver.operationCounts();
    expect(startRunning.status).toBe(200);
    expect(startRunning.body).toMatchObject({ state: 'running', currentConcurrency: 3 });
    expect(HotPathDriver.mutatingCallsBetween(before, after)).toBe(0);
    expect((after.GetFunction ?? 0) - (before.GetFunction ?? 0)).toBeGreaterThan(0);

    // The first suspend writes (tag + concurrency); the second writes nothing.
    before = await driver.operationCounts();
    expect((await driver.verb(token, 'again', 'suspend')).status).toBe(200);
    after = await driver.operationCounts();
    expect((after.TagResource ?? 0) - (before.TagResource ?? 0)).toBe(1);
    expect((after.PutFunctionConcurrency ?? 0) - (before.PutFunctionConcurrency ?? 0)).toBe(1);

    before = await driver.operationCounts();
    const again = await driver.verb(token, 'again', 'suspend');
    after = await driver.operationCounts();
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ state: 'suspended', currentConcurrency: 0 });
    expect(HotPathDriver.mutatingCallsBetween(before, after)).toBe(0);

    // Start, then start again: only the first writes.
    expect((await driver.verb(token, 'again', 'start')).status).toBe(200);
    before = await driver.operationCounts();
    const startAgain = await driver.verb(token, 'again', 'start');
    after = await driver.operationCounts();
    expect(startAgain.status).toBe(200);
    expect(startAgain.body).toMatchObject({ state: 'running', currentConcurrency: 3 });
    expect(HotPathDriver.mutatingCallsBetween(before, after)).toBe(0);
  });
});

describe('who may use the hot path', () => {
  it.each([
    ['viewer', ['viewer']],
    ['editor', ['editor']],
    ['approver', ['approver']],
    ['viewer, editor and approver together', ['viewer', 'editor', 'approver']],
  ])('refuses a %s token with 403 and changes nothing', async (_label, roles) => {
    const functionName = await driver.createManagedFunction('hp-roles', `r-${roles.join('-')}`);
    const name = functionName.slice('greco-hp-roles-'.length);
    const token = await driver.token('hp-roles', roles);

    const before = await driver.operationCounts();
    const answers = await Promise.all([
      driver.verb(token, name, 'suspend'),
      driver.verb(token, name, 'start'),
      driver.verb(token, name, 'state'),
    ]);
    const after = await driver.operationCounts();

    for (const answer of answers) {
      expect(answer.status).toBe(403);
      expect(answer.headers.get('content-type')).toBe('application/problem+json');
      expect(answer.body).toMatchObject({ status: 403 });
    }
    expect(HotPathDriver.mutatingCallsBetween(before, after)).toBe(0);
    expect(await driver.invoke(functionName, 'live')).toBe('ok');
  });

  it('lets an operator suspend', async () => {
    await driver.createManagedFunction('hp-roles', 'by-operator');
    const answer = await driver.verb(
      await driver.token('hp-roles', ['viewer', 'operator']),
      'by-operator',
      'suspend',
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ state: 'suspended' });
  });

  it('answers 401 without a token or with a token of another issuer', async () => {
    await driver.createManagedFunction('hp-anon', 'guarded');
    const missing = await driver.verb(undefined, 'guarded', 'suspend');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toContain('invalid_token');
    const forged = await driver.verb('not.a.jwt', 'guarded', 'suspend');
    expect(forged.status).toBe(401);
  });

  it('answers 404 the same way for another workspace, an unmanaged and a missing function', async () => {
    const theirs = await driver.createManagedFunction('hp-other', 'shared-name');
    // Same Lambda name pattern as a function of hp-mine, but created without greco's tags.
    const unmanaged = await driver.createManagedFunction('hp-mine', 'unmanaged', { managed: false });
    const token = await driver.token('hp-mine');

    const cases: [string, 'suspend' | 'start' | 'state'][] = [
      // Another workspace's function, addressed by its model name in the caller's workspace.
      ['shared-name', 'suspend'],
      // Another workspace's function, addressed by its full Lambda name.
      [theirs, 'suspend'],
      ['unmanaged', 'suspend'],
      ['unmanaged', 'start'],
      ['missing', 'suspend'],
      ['unmanaged', 'state'],
    ];

    const before = await driver.operationCounts();
    const answers = [];
    for (const [name, verb] of cases) answers.push({ name, answer: await driver.verb(token, name, verb) });
    const after = await driver.operationCounts();

    // The same answer in every case: nothing tells another workspace's or an unmanaged function apart.
    for (const { name, answer } of answers) {
      expect(answer.status).toBe(404);
      expect(answer.headers.get('content-type')).toBe('application/problem+json');
      expect({ ...answer.body, requestId: undefined, instance: undefined }).toEqual({
        type: answers[0]?.answer.body.type,
        title: 'Not found',
        status: 404,
        detail: `function ${name} not found`,
        requestId: undefined,
        instance: undefined,
      });
    }
    expect(HotPathDriver.mutatingCallsBetween(before, after)).toBe(0);
    expect(await driver.invoke(theirs, 'live')).toBe('ok');
    expect(await driver.invoke(unmanaged, 'live')).toBe('ok');
  });

  it('answers 400 for a name Lambda cannot hold and 405 for a wrong method', async () => {
    const token = await driver.token('hp-bad');
    const bad = await driver.verb(token, 'no.dots', 'suspend');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ errors: [expect.objectContaining({ field: 'name' })] });
    const wrong = await fetch(`${driver.controllerUrl}v1/functions/x/suspend`, {
      method: 'GET',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
  });
});

describe('events', () => {
  it('puts Function Suspended and Function Started on the greco bus, once per change', async () => {
    const functionName = await driver.createManagedFunction('hp-events', 'noisy', { reservedConcurrency: 2 });
    const token = await driver.cloud.mintToken({
      workspace: 'hp-events',
      roles: ['operator'],
      subject: 'op-1',
    });

    for (const verb of ['suspend', 'suspend', 'start', 'start'] as const) {
      expect((await driver.verb(token, 'noisy', verb)).status).toBe(200);
    }

    const mine = async () =>
      (await driver.hotPathEvents()).filter((event) => event.detail.functionName === functionName);
    const events = await waitFor(
      async () => {
        const found = await mine();
        return found.length >= 2 ? found : undefined;
      },
      { timeoutMs: 10_000, what: 'two hot-path events in events.jsonl' },
    );
    expect(events.map((event) => event['detail-type'])).toEqual(['Function Suspended', 'Function Started']);
    expect(events[0]).toMatchObject({
      source: 'greco.hotpath',
      resources: [expect.stringContaining(`:function:${functionName}`)],
      detail: {
        workspace: 'hp-events',
        name: 'noisy',
        functionName,
        state: 'suspended',
        reservedConcurrency: 2,
        currentConcurrency: 0,
        actor: 'op-1',
        requestId: expect.any(String),
      },
    });
    expect(events[1]?.detail).toMatchObject({ state: 'running', currentConcurrency: 2, actor: 'op-1' });
  });
});
