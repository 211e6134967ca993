/**
 * What the API returns, it takes back: a function as `GET` answers it (read-only `code.sizeBytes`
 * and `code.s3Key` included) is accepted unchanged by `PUT /v1/drafts/{id}/functions/{name}`,
 * as `kubectl get -o yaml | kubectl apply` works; read-only fields that disagree are refused by name.
 */
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGrecoFile } from '../../cli/config.ts';
import { packageFunction } from '../../cli/package.ts';
import type { FunctionSpec } from '../../core/spec.ts';
import { sampleZip } from '../../support/fixtures.ts';
import { functionSpec } from '../support/fixtures.ts';
import { type ManagementApiHarness, startManagementApi } from '../support/management-api.ts';

const fleetFile = resolve(import.meta.dirname, '../../examples/fleet/greco.yaml');

let api: ManagementApiHarness;
beforeAll(async () => {
  api = await startManagementApi();
});
afterAll(async () => {
  await api?.close();
});

function newWorkspace(): string {
  return `ws-${crypto.randomUUID().slice(0, 8)}`;
}

/** The example fleet as a client sends it: greco.yaml's functions, each packaged as the CLI does. */
async function exampleFleetInputs(): Promise<Record<string, unknown>[]> {
  const file = await loadGrecoFile(fleetFile);
  return Promise.all(
    file.functions.map(async ({ codeDir, name, ...fields }) => {
      const pkg = await packageFunction(codeDir, fields.handler);
      return { name, ...fields, code: { zipBase64: Buffer.from(pkg.zip).toString('base64') } };
    }),
  );
}

/** The test fixtures' stored specs, one per kind of optional field. */
function fixtureSpecs(): FunctionSpec[] {
  return [
    functionSpec('plain'),
    functionSpec('reserved', { reservedConcurrency: 5 }),
    functionSpec('zero-reserved', { reservedConcurrency: 0 }),
    functionSpec('configured', {
      memoryMiB: 1024,
      timeoutSeconds: 900,
      ephemeralStorageMiB: 10_240,
      architecture: 'arm64',
      environment: { GREETING: 'hello', EMPTY: '' },
      tags: { team: 'shop', 'cost:center': '42' },
    }),
  ];
}

async function getDraft(workspace: string, id: string) {
  const answer = await api.call({
    routeKey: 'GET /v1/drafts/{id}',
    pathParameters: { id },
    caller: { workspace },
  });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer;
}

async function putFunction(workspace: string, id: string, etag: string, body: unknown, name: string) {
  return api.call({
    routeKey: 'PUT /v1/drafts/{id}/functions/{name}',
    pathParameters: { id, name },
    headers: { 'if-match': etag },
    caller: { workspace },
    body,
  });
}

describe('a function as GET answers it, PUT takes back unchanged', () => {
  it('accepts every example function of examples/fleet as the draft GET answers it', async () => {
    // Prepare: a draft of the example fleet, read back.
    const workspace = newWorkspace();
    const created = await api.call({
      routeKey: 'POST /v1/drafts',
      caller: { workspace },
      body: { functions: await exampleFleetInputs() },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.draftId as string;
    const before = await getDraft(workspace, id);
    expect(before.body.functions).toHaveLength(3);

    // Act: PUT each function exactly as GET answered it.
    let etag = before.headers.etag as string;
    for (const fn of before.body.functions as FunctionSpec[]) {
      expect(fn.code).toMatchObject({ sizeBytes: expect.any(Number), s3Key: `code/${fn.code.sha256}.zip` });
      const put = await putFunction(workspace, id, etag, fn, fn.name);
      // Assess: accepted, nothing created, the stored function unchanged.
      expect(put.status, JSON.stringify(put.body)).toBe(200);
      expect(put.body).toMatchObject({ created: false, function: fn });
      etag = put.headers.etag as string;
    }
    const after = await getDraft(workspace, id);
    expect(after.body.functions).toEqual(before.body.functions);
  });

  it('accepts every fixture function as GET /v1/functions/{name} answers it', async () => {
    // Prepare: the fixtures live, their zip in the artifacts bucket, and an empty draft.
    const workspace = newWorkspace();
    await api.artifacts.putZip(sampleZip('shared'));
    await api.snapshots.setLiveModel(workspace, fixtureSpecs(), { expectedEpoch: 0 });
    const created = await api.call({
      routeKey: 'POST /v1/drafts',
      caller: { workspace },
      body: { functions: [] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.draftId as string;
    let etag = created.headers.etag as string;

    for (const spec of fixtureSpecs()) {
      const got = await api.call({
        routeKey: 'GET /v1/functions/{name}',
        pathParameters: { name: spec.name },
        caller: { workspace },
      });
      expect(got.status, JSON.stringify(got.body)).toBe(200);

      // Act
      const put = await putFunction(workspace, id, etag, got.body.function, spec.name);

      // Assess
      expect(put.status, JSON.stringify(put.body)).toBe(200);
      expect(put.body).toMatchObject({ created: true, function: spec });
      etag = put.headers.etag as string;
    }
    const draft = await getDraft(workspace, id);
    expect(draft.body.functions).toEqual(fixtureSpecs().sort((a, b) => a.name.localeCompare(b.name)));
  });
});

describe('read-only fields that disagree', () => {
  async function liveFixture() {
    const workspace = newWorkspace();
    await api.artifacts.putZip(sampleZip('shared'));
    await api.snapshots.setLiveModel(workspace, [functionSpec('billing')], { expectedEpoch: 0 });
    const created = await api.call({ routeKey: 'POST /v1/drafts', caller: { workspace } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const got = await api.call({
      routeKey: 'GET /v1/functions/{name}',
      pathParameters: { name: 'billing' },
      caller: { workspace },
    });
    return {
      workspace,
      id: created.body.draftId as string,
      etag: created.headers.etag as string,
      fn: got.body.function as FunctionSpec,
    };
  }

  it.each([
    [
      'code.sizeBytes',
      (fn: FunctionSpec) => ({ ...fn.code, sizeBytes: fn.code.sizeBytes + 1 }),
      /is read-only: the zip of this sha256 is \d+ bytes, got \d+/,
    ],
    [
      'code.s3Key',
      (fn: FunctionSpec) => ({ ...fn.code, s3Key: 'code/elsewhere.zip' }),
      /is read-only: the zip of this sha256 is "code\/[0-9a-f]{64}\.zip"/,
    ],
    ['code.sizeBytes', (fn: FunctionSpec) => ({ ...fn.code, sizeBytes: -1 }), /is read-only/],
    [
      'code.s3Key',
      (fn: FunctionSpec) => ({
        zipBase64: Buffer.from(sampleZip('x')).toString('base64'),
        s3Key: fn.code.s3Key,
      }),
      /only beside sha256/,
    ],
  ])('refuses a %s that disagrees, by name, and changes nothing', async (field, code, message) => {
    // Prepare
    const { workspace, id, etag, fn } = await liveFixture();
    const tableBefore = await api.scanTable();

    // Act
    const put = await putFunction(workspace, id, etag, { ...fn, code: code(fn) }, fn.name);

    // Assess
    expect(put.status, JSON.stringify(put.body)).toBe(400);
    expect(put.body.errors).toEqual([{ field, message: expect.stringMatching(message) }]);
    expect(await api.scanTable()).toEqual(tableBefore);
  });
});
