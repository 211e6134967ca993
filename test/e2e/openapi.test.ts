/**
 * The API described, in the local cloud: `GET /v1/openapi.json` through the API Gateway emulator
 * answers the checked-in document, and a client that takes its operations from that document
 * (paths, methods, the `If-Match` it requires) takes a function back as GET answered it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import { functionInput } from '../../support/fixtures.ts';

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

/** Calls the operation the document names `operationId`, filling its path parameters. */
async function callOperation(
  operationId: string,
  token: string,
  init: { params?: Record<string, string>; headers?: Record<string, string>; body?: unknown } = {},
): Promise<Response> {
  const found = Object.entries(document.paths as Record<string, Record<string, { operationId: string }>>)
    .flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })))
    .find(({ op }) => op.operationId === operationId);
  if (found === undefined) throw new Error(`docs/openapi.json has no operation ${operationId}`);
  const path = found.path.replace(/\{(\w+)\}/g, (_match, name: string) =>
    encodeURIComponent(init.params?.[name] ?? ''),
  );
  return fetch(new URL(path.slice(1), cloud.apiUrl), {
    method: found.method.toUpperCase(),
    headers: {
      authorization: `Bearer ${token}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}

describe('the OpenAPI document in the local cloud', () => {
  it('is served at GET /v1/openapi.json to a viewer, as checked in', async () => {
    // Prepare
    const token = await cloud.mintToken({ workspace: 'e2e-openapi', roles: ['viewer'] });

    // Act
    const answer = await callOperation('getOpenApiDocument', token);

    // Assess
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual(document);
  });

  it('drives a draft edit whose PUT takes back the function as GET answered it', async () => {
    // Prepare: a draft with one function, read back.
    const token = await cloud.mintToken({ workspace: 'e2e-openapi', roles: ['viewer', 'editor'] });
    const created = await callOperation('createDraft', token, {
      body: { functions: [functionInput('api')] },
    });
    expect(created.status).toBe(201);
    const { draftId } = (await created.json()) as { draftId: string };
    const read = await callOperation('getDraft', token, { params: { id: draftId } });
    const draft = (await read.json()) as { functions: { name: string; code: Record<string, unknown> }[] };
    const [fn] = draft.functions;
    expect(fn?.code).toMatchObject({ sizeBytes: expect.any(Number), s3Key: expect.any(String) });

    // Act
    const put = await callOperation('putDraftFunction', token, {
      params: { id: draftId, name: 'api' },
      headers: { 'if-match': read.headers.get('etag') ?? '' },
      body: fn,
    });

    // Assess
    expect(put.status, await put.clone().text()).toBe(200);
    expect(await put.json()).toMatchObject({ created: false, function: fn });
  });
});
