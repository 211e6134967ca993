/**
 * Static stability of the hot path: with the control plane's config table (DynamoDB Local) and
 * state machine (the Step Functions emulator) stopped, start and suspend still work, data-plane
 * functions still answer invocations, and the management API answers 503 problem+json rather
 * than hanging. The controller depends on the Lambda API (and, on a cold start, the issuer's
 * keys) only.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import { localCredentials, localRegion } from '../../local/net.ts';
import { HotPathDriver } from '../../support/hotpath-driver.ts';

/** Upper bound for one management API answer while its table is down: far below a hang (API Gateway's 30 s). */
const managementAnswerBoundMs = 25_000;

let workDir: string;
let cloud: LocalCloud;
let driver: HotPathDriver;
let steady: string;
let toggled: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'greco-hotpath-static-'));
  cloud = await startLocalCloud({ ports: 'ephemeral', workDir });
  driver = new HotPathDriver(cloud, workDir);
  steady = await driver.createManagedFunction('hp-static', 'steady', { reservedConcurrency: 4 });
  toggled = await driver.createManagedFunction('hp-static', 'toggled', { reservedConcurrency: 6 });
  // Both functions and the controller have run once: the test is about what keeps working.
  const token = await driver.token('hp-static');
  expect((await driver.verb(token, 'toggled', 'state')).status).toBe(200);
  expect(await driver.invoke(steady, 'live')).toBe('ok');

  await cloud.stopService('dynamodb');
  await cloud.stopService('stepfunctions');
});

afterAll(async () => {
  driver?.close();
  await cloud?.close();
  await rm(workDir, { recursive: true, force: true });
});

describe('the hot path with the control plane down', () => {
  it('has the control plane really down: the Step Functions endpoint refuses connections', async () => {
    const sfn = new SFNClient({
      region: localRegion,
      credentials: localCredentials,
      endpoint: cloud.endpoints.stepfunctions,
      maxAttempts: 1,
    });
    try {
      await expect(sfn.send(new ListStateMachinesCommand({}))).rejects.toMatchObject({
        code: 'ECONNREFUSED',
      });
    } finally {
      sfn.destroy();
    }
  });

  it('answers 503 problem+json from the management API, with Retry-After, not a hang', async () => {
    const token = await cloud.mintToken({ workspace: 'hp-static', roles: ['viewer', 'editor'] });

    const response = await fetch(`${cloud.apiUrl}v1/functions`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(managementAnswerBoundMs),
    });

    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await response.json()).toMatchObject({ status: 503 });
  });

  it('suspends and starts a function; the data plane keeps answering', async () => {
    const token = await driver.token('hp-static');

    const suspended = await driver.verb(token, 'toggled', 'suspend');
    expect(suspended.status, JSON.stringify(suspended.body)).toBe(200);
    expect(suspended.body).toMatchObject({ state: 'suspended', currentConcurrency: 0 });
    expect(await driver.invoke(toggled, 'live')).toBe('throttled');
    expect(await driver.invoke(steady, 'live')).toBe('ok');

    const started = await driver.verb(token, 'toggled', 'start');
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    expect(started.body).toMatchObject({ state: 'running', currentConcurrency: 6 });
    expect(await driver.invoke(toggled, 'live')).toBe('ok');
    expect(await driver.invoke(steady)).toBe('ok');
  });

  it('serves a cold controller container too (new function processes, keys from the issuer)', async () => {
    // A second concurrent request needs a second controller container: a cold start while the
    // control plane is down.
    const token = await driver.token('hp-static');
    const coldStartsBefore = await coldStarts();
    const answers = await Promise.all([
      driver.verb(token, 'steady', 'state'),
      driver.verb(token, 'steady', 'state'),
      driver.verb(token, 'steady', 'state'),
    ]);
    expect(await coldStarts()).toBeGreaterThan(coldStartsBefore);
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ state: 'running', currentConcurrency: 4 });
    }
  });
});

async function coldStarts(): Promise<number> {
  const response = await fetch(`${cloud.endpoints.lambda}/_greco/stats`);
  return ((await response.json()) as { invocations: { coldStarts: number } }).invocations.coldStarts;
}
