import { createHash } from 'node:crypto';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadZipMaxBytes } from '../../core/artifacts.ts';
import { functionInput, sampleZip } from '../../support/fixtures.ts';
import { type ManagementApiHarness, startManagementApi } from '../support/management-api.ts';

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

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A zip no other test uses: its entries are `files` with `seed` in their text. */
function zipOf(files: readonly string[], seed = crypto.randomUUID()): Uint8Array {
  const entries: Record<string, Uint8Array> = {};
  for (const file of files)
    entries[file] = new TextEncoder().encode(`// ${seed}\nexport const handler = async () => 1;\n`);
  return zipSync(entries, { mtime: new Date('2026-01-01T00:00:00Z') });
}

async function requestUpload(workspace: string, bytes: Uint8Array) {
  return api.call({
    routeKey: 'POST /v1/artifacts',
    caller: { workspace },
    body: { sha256: sha256(bytes), sizeBytes: bytes.byteLength },
  });
}

async function put(
  upload: { url: string; headers: Record<string, string> },
  bytes: Uint8Array,
  url = upload.url,
) {
  const { 'content-length': _length, ...headers } = upload.headers;
  return fetch(url, { method: 'PUT', headers, body: bytes });
}

async function createDraftWith(workspace: string, fn: Record<string, unknown>) {
  return api.call({ routeKey: 'POST /v1/drafts', caller: { workspace }, body: { functions: [fn] } });
}

describe('POST /v1/artifacts', () => {
  it('presigns an upload that S3 accepts and a spec may then use by sha256', async () => {
    // Prepare
    const workspace = newWorkspace();
    const bytes = zipOf(['app/main.js']);

    // Act
    const answer = await requestUpload(workspace, bytes);
    const uploaded = await put(answer.body.upload, bytes);
    const draft = await createDraftWith(
      workspace,
      functionInput('big', { handler: 'app/main.handler', code: { sha256: sha256(bytes) } }),
    );

    // Assess
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    expect(answer.body.upload).toMatchObject({
      method: 'PUT',
      headers: { 'content-length': String(bytes.byteLength) },
    });
    expect(answer.body.upload.url).toContain('X-Amz-Signature=');
    expect(new URL(answer.body.upload.url).searchParams.get('X-Amz-SignedHeaders')).toBe(
      'content-length;content-type;host;x-amz-checksum-sha256',
    );
    expect(uploaded.status, await uploaded.text()).toBe(200);
    expect(draft.status, JSON.stringify(draft.body)).toBe(201);
    const keys = await api.listArtifacts();
    expect(keys).toContain(`code/${sha256(bytes)}.zip`);
    expect(keys).not.toContain(`uploads/${workspace}/${sha256(bytes)}.zip`);
  });

  it('answers 200 with no upload when the bucket already holds the zip', async () => {
    // Prepare
    const workspace = newWorkspace();
    const bytes = sampleZip(crypto.randomUUID());
    await api.artifacts.putZip(bytes);

    // Act
    const answer = await requestUpload(workspace, bytes);

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ sha256: sha256(bytes), sizeBytes: bytes.byteLength });
  });

  it.each([
    ['a sha256 that is not 64 hex', { sha256: 'abc', sizeBytes: 10 }, 'sha256'],
    ['a size of 0', { sha256: 'a'.repeat(64), sizeBytes: 0 }, 'sizeBytes'],
    ['a size above 50 MB', { sha256: 'a'.repeat(64), sizeBytes: uploadZipMaxBytes + 1 }, 'sizeBytes'],
    ['an unknown field', { sha256: 'a'.repeat(64), sizeBytes: 10, name: 'x' }, 'name'],
  ])('refuses %s with 400 naming the field', async (_case, body, field) => {
    // Act
    const answer = await api.call({
      routeKey: 'POST /v1/artifacts',
      caller: { workspace: newWorkspace() },
      body,
    });

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.headers['content-type']).toContain('application/problem+json');
    expect(answer.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
  });

  it('refuses a viewer with 403', async () => {
    // Act
    const answer = await api.call({
      routeKey: 'POST /v1/artifacts',
      caller: { workspace: newWorkspace(), roles: ['viewer'] },
      body: { sha256: 'a'.repeat(64), sizeBytes: 10 },
    });

    // Assess
    expect(answer.status).toBe(403);
  });
});

describe('the S3 emulator and presigned URLs', () => {
  it('refuses bytes other than the ones presigned with BadDigest', async () => {
    // Prepare
    const workspace = newWorkspace();
    const bytes = zipOf(['index.js']);
    const other = new Uint8Array(bytes);
    other[other.length - 1] = (other[other.length - 1] as number) ^ 1;
    const answer = await requestUpload(workspace, bytes);

    // Act
    const uploaded = await put(answer.body.upload, other);

    // Assess
    expect(uploaded.status).toBe(400);
    expect(await uploaded.text()).toContain('<Code>BadDigest</Code>');
  });

  it('refuses a tampered URL with 403 SignatureDoesNotMatch', async () => {
    // Prepare
    const workspace = newWorkspace();
    const bytes = zipOf(['index.js']);
    const answer = await requestUpload(workspace, bytes);
    const tampered = answer.body.upload.url.replace(`uploads/${workspace}/`, `uploads/${newWorkspace()}/`);

    // Act
    const uploaded = await put(answer.body.upload, bytes, tampered);

    // Assess
    expect(uploaded.status).toBe(403);
    expect(await uploaded.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
  });

  it('refuses an expired URL with 403 AccessDenied "Request has expired"', async () => {
    // Prepare
    const workspace = newWorkspace();
    const bytes = zipOf(['index.js']);
    const longAgo = new Date(Date.now() - 3_600_000);
    const { upload } = await api.artifacts.createUpload(workspace, sha256(bytes), bytes.byteLength, longAgo);
    if (upload === undefined) throw new Error('expected an upload');

    // Act
    const uploaded = await put(upload, bytes);

    // Assess
    expect(uploaded.status).toBe(403);
    const text = await uploaded.text();
    expect(text).toContain('<Code>AccessDenied</Code>');
    expect(text).toContain('Request has expired');
  });
});

describe('zip inspection on use', () => {
  it('refuses a spec whose uploaded zip fails inspection, and the zip never becomes usable', async () => {
    // Prepare
    const workspace = newWorkspace();
    const bytes = new TextEncoder().encode('this is not a zip at all');
    const answer = await requestUpload(workspace, bytes);
    expect((await put(answer.body.upload, bytes)).status).toBe(200);
    const fn = functionInput('broken', { code: { sha256: sha256(bytes) } });

    // Act
    const first = await createDraftWith(workspace, fn);
    const second = await createDraftWith(workspace, fn);

    // Assess
    expect(first.status).toBe(400);
    expect(first.body.errors).toEqual([
      {
        field: 'functions[0].code.sha256',
        message: expect.stringContaining('the uploaded zip is not valid'),
      },
    ]);
    expect(second.status).toBe(400);
    expect(second.body.errors[0].message).toContain('no zip with this SHA-256');
    expect(await api.listArtifacts()).not.toContain(`code/${sha256(bytes)}.zip`);
  });

  it("refuses another workspace's upload as unknown", async () => {
    // Prepare
    const owner = newWorkspace();
    const bytes = zipOf(['index.js']);
    const answer = await requestUpload(owner, bytes);
    expect((await put(answer.body.upload, bytes)).status).toBe(200);

    // Act
    const draft = await createDraftWith(
      newWorkspace(),
      functionInput('f', { code: { sha256: sha256(bytes) } }),
    );

    // Assess
    expect(draft.status).toBe(400);
    expect(draft.body.errors[0].message).toContain('no zip with this SHA-256');
  });
});

describe('the handler must exist', () => {
  it('refuses an uploaded zip without the handler module with 400 naming the handler and the entries', async () => {
    // Prepare
    const workspace = newWorkspace();
    const bytes = zipOf(['lib/other.js', 'README.md']);
    const answer = await requestUpload(workspace, bytes);
    expect((await put(answer.body.upload, bytes)).status).toBe(200);

    // Act
    const draft = await createDraftWith(
      workspace,
      functionInput('f', { handler: 'src/app.handler', code: { sha256: sha256(bytes) } }),
    );

    // Assess
    expect(draft.status).toBe(400);
    expect(draft.body.errors).toEqual([
      {
        field: 'functions[0].handler',
        message: expect.stringMatching(
          /"src\/app\.handler" needs src\/app, .*src\/app\.cjs.*lib\/other\.js, README\.md/,
        ),
      },
    ]);
  });

  it('refuses an inline zip without the handler module, and writes nothing', async () => {
    // Prepare
    const workspace = newWorkspace();
    const bytes = zipOf(['main.mjs']);
    const before = await api.scanTable();

    // Act
    const created = await createDraftWith(
      workspace,
      functionInput('f', { code: { zipBase64: Buffer.from(bytes).toString('base64') } }),
    );

    // Assess
    expect(created.status).toBe(400);
    expect(created.body.errors).toEqual([
      {
        field: 'functions[0].handler',
        message: expect.stringContaining('"index.handler" needs index, index.js, index.mjs or index.cjs'),
      },
    ]);
    expect(await api.scanTable()).toEqual(before);
  });
});
