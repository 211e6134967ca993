/**
 * The API described, in the local cloud: `GET /v1/openapi.json` through the API Gateway emulator
 * answers the checked-in document, and openapi-fetch, typed by the openapi-typescript types
 * generated from that document (support/generated/management-api.d.ts, `npm run openapi`),
 * drives a draft edit: create, read, take a function back as GET answered it (with the `If-Match`
 * the document requires), plan.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import createClient, { type Client } from 'openapi-fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import { functionInput } from '../../support/fixtures.ts';
import type { components, paths } from '../../support/generated/management-api.d.ts';

let workDir: string;
let cloud: LocalCloud;
// biome-ignore lint/suspicious/noExplicitAny: the document is read as plain JSON
let document: any;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'greco-openapi-'));
  cloud = await startLocalCloud({ ports: 'ephemeral', workDir });
  document = JSON.parse(await readFile(resolve(import.meta.dirname, '../../docs/openapi.json'), 'utf8'));
});

afterAll(async () => {
  await cloud?.close();
  await rm(workDir, { recursive: true, force: true });
});

/** A generated client of the management API in the local cloud, calling with `token`. */
function managementClient(token: string): Client<paths> {
  if (cloud.apiUrl === undefined) throw new Error('the local cloud has no management API');
  return createClient<paths>({ baseUrl: cloud.apiUrl, headers: { authorization: `Bearer ${token}` } });
}

describe('the OpenAPI document in the local cloud', () => {
  it('is served at GET /v1/openapi.json to a viewer, as checked in', async () => {
    // Prepare
    const client = managementClient(await cloud.mintToken({ workspace: 'e2e-openapi', roles: ['viewer'] }));

    // Act
    const { data, response } = await client.GET('/v1/openapi.json');

    // Assess
    expect(response.status).toBe(200);
    expect(data).toEqual(document);
  });

  it('drives a draft edit through the generated client: PUT takes back the function GET answered, then plan', async () => {
    // Prepare: a draft with one function, read back, in a workspace with nothing live.
    const client = managementClient(
      await cloud.mintToken({ workspace: 'e2e-openapi-client', roles: ['viewer', 'editor'] }),
    );
    const created = await client.POST('/v1/drafts', {
      body: { functions: [functionInput('api') as components['schemas']['FunctionInput']] },
    });
    expect(created.response.status, JSON.stringify(created.error)).toBe(201);
    const draftId = created.data?.draftId ?? '';
    const read = await client.GET('/v1/drafts/{id}', { params: { path: { id: draftId } } });
    expect(read.response.status, JSON.stringify(read.error)).toBe(200);
    const [fn] = read.data?.functions ?? [];
    expect(fn?.code).toMatchObject({ sizeBytes: expect.any(Number), s3Key: expect.any(String) });
    if (fn === undefined) throw new Error('the draft read back has no function');

    // Act
    const put = await client.PUT('/v1/drafts/{id}/functions/{name}', {
      params: {
        path: { id: draftId, name: 'api' },
        header: { 'If-Match': read.response.headers.get('etag') ?? '' },
      },
      body: fn,
    });
    const plan = await client.GET('/v1/drafts/{id}/plan', { params: { path: { id: draftId } } });

    // Assess
    expect(put.response.status, JSON.stringify(put.error)).toBe(200);
    expect(put.data).toMatchObject({ created: false, function: fn });
    expect(plan.response.status, JSON.stringify(plan.error)).toBe(200);
    expect(plan.data).toMatchObject({ draftId, summary: { create: 1, update: 0, delete: 0, unchanged: 0 } });
  });
});
