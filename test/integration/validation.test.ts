import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionInput, sampleZipBase64 } from '../../support/fixtures.ts';
import type { HttpApiEventInit } from '../support/http-api-event.ts';
import { type ManagementApiHarness, startManagementApi } from '../support/management-api.ts';

let api: ManagementApiHarness;
let draftId: string;
const workspace = 'checks';
beforeAll(async () => {
  api = await startManagementApi();
  const created = await api.call({
    routeKey: 'POST /v1/drafts',
    caller: { workspace },
    body: { functions: [functionInput('existing')] },
  });
  draftId = created.body.draftId;
});
afterAll(async () => {
  await api?.close();
});

type Target = 'create' | 'replace' | 'function';

/** The request for `target` carrying `functions` (or, for `function`, the one function). */
function requestFor(target: Target, body: unknown, extra: Partial<HttpApiEventInit> = {}): HttpApiEventInit {
  const init: HttpApiEventInit =
    target === 'create'
      ? { routeKey: 'POST /v1/drafts', body }
      : target === 'replace'
        ? {
            routeKey: 'PUT /v1/drafts/{id}',
            pathParameters: { id: draftId },
            headers: { 'if-match': '"1"' },
            body,
          }
        : {
            routeKey: 'PUT /v1/drafts/{id}/functions/{name}',
            pathParameters: { id: draftId, name: 'edited' },
            headers: { 'if-match': '"1"' },
            body,
          };
  return { ...init, ...extra, headers: { ...init.headers, ...extra.headers }, caller: { workspace } };
}

/** A model body for create/replace, or the single function for `function`. */
function bodyWith(target: Target, fn: Record<string, unknown>): unknown {
  return target === 'function' ? { ...fn, name: undefined } : { functions: [fn] };
}

/** The field path of a function field for `target`. */
function fieldOf(target: Target, field: string): string {
  return target === 'function' ? field : `functions[0].${field}`;
}

const notAZip = Buffer.from('this is not a zip file at all, just text').toString('base64');
const randomBytes = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37) % 256)).toString('base64');
const missingSha = 'a'.repeat(64);

/** The probe's zip: one deflated 1 MB entry that all 262 central-directory entries point at. */
function sharedEntryZipBase64(): string {
  const zip = Buffer.from(zipSync({ 'a.js': new Uint8Array(1_000_000) }));
  const centralAt = zip.readUInt32LE(zip.length - 22 + 16);
  const central = zip.subarray(centralAt, zip.length - 22);
  const end = Buffer.from(zip.subarray(zip.length - 22));
  end.writeUInt16LE(262, 8);
  end.writeUInt16LE(262, 10);
  end.writeUInt32LE(central.length * 262, 12);
  const copies = Array.from({ length: 262 }, () => central);
  return Buffer.concat([zip.subarray(0, centralAt), ...copies, end]).toString('base64');
}

/** One bad function per rule; `field` is the path reported, `message` part of the message. */
const functionRules: { rule: string; fn: Record<string, unknown>; field: string; message: RegExp }[] = [
  {
    rule: 'an unknown field',
    fn: functionInput('f1', { memory: 256 }),
    field: 'memory',
    message: /not a known field/,
  },
  {
    rule: 'a wrong type',
    fn: functionInput('f1', { memoryMiB: 'big' }),
    field: 'memoryMiB',
    message: /integer/,
  },
  {
    rule: 'memory above 10240',
    fn: functionInput('f1', { memoryMiB: 10241 }),
    field: 'memoryMiB',
    message: /128 and 10240/,
  },
  {
    rule: 'memory below 128',
    fn: functionInput('f1', { memoryMiB: 127 }),
    field: 'memoryMiB',
    message: /128 and 10240/,
  },
  {
    rule: 'a timeout above 900',
    fn: functionInput('f1', { timeoutSeconds: 901 }),
    field: 'timeoutSeconds',
    message: /1 and 900/,
  },
  {
    rule: 'ephemeral storage below 512',
    fn: functionInput('f1', { ephemeralStorageMiB: 511 }),
    field: 'ephemeralStorageMiB',
    message: /512 and 10240/,
  },
  {
    rule: 'negative reserved concurrency',
    fn: functionInput('f1', { reservedConcurrency: -1 }),
    field: 'reservedConcurrency',
    message: /at least 0/,
  },
  {
    rule: 'reserved concurrency above the account quota minus the 100 Lambda keeps unreserved',
    fn: functionInput('f1', { reservedConcurrency: 10_000_000 }),
    field: 'reservedConcurrency',
    message: /at most 900/,
  },
  {
    rule: 'reserved concurrency of 2^53 − 1',
    fn: functionInput('f1', { reservedConcurrency: Number.MAX_SAFE_INTEGER }),
    field: 'reservedConcurrency',
    message: /at most 900/,
  },
  {
    rule: 'a handler with a NUL byte',
    fn: functionInput('f1', { handler: 'index\u0000.handler' }),
    field: 'handler',
    message: /control characters/,
  },
  {
    rule: 'NODE_OPTIONS, which changes the runtime itself',
    fn: functionInput('f1', { environment: { NODE_OPTIONS: '--require /tmp/x.js' } }),
    field: 'environment.NODE_OPTIONS',
    message: /changes the runtime itself/,
  },
  {
    rule: 'LD_PRELOAD, which changes the runtime itself',
    fn: functionInput('f1', { environment: { LD_PRELOAD: '/tmp/x.so' } }),
    field: 'environment.LD_PRELOAD',
    message: /changes the runtime itself/,
  },
  {
    rule: 'AWS_LAMBDA_EXEC_WRAPPER, which changes the runtime itself',
    fn: functionInput('f1', { environment: { AWS_LAMBDA_EXEC_WRAPPER: '/opt/wrap' } }),
    field: 'environment.AWS_LAMBDA_EXEC_WRAPPER',
    message: /changes the runtime itself/,
  },
  {
    rule: 'an unknown architecture',
    fn: functionInput('f1', { architecture: 'sparc' }),
    field: 'architecture',
    message: /x86_64/,
  },
  {
    rule: 'a deprecated runtime',
    fn: functionInput('f1', { runtime: 'nodejs18.x' }),
    field: 'runtime',
    message: /2025-09-01/,
  },
  {
    rule: 'an unknown runtime',
    fn: functionInput('f1', { runtime: 'cobol85' }),
    field: 'runtime',
    message: /unknown runtime/,
  },
  {
    rule: 'a handler with spaces',
    fn: functionInput('f1', { handler: 'index handler' }),
    field: 'handler',
    message: /whitespace/,
  },
  {
    rule: 'a reserved environment key',
    fn: functionInput('f1', { environment: { AWS_REGION: 'eu-west-1' } }),
    field: 'environment.AWS_REGION',
    message: /reserved/,
  },
  {
    rule: 'an environment over 4 KB',
    fn: functionInput('f1', { environment: { BIG: 'x'.repeat(4100) } }),
    field: 'environment',
    message: /4096/,
  },
  {
    rule: 'an aws: tag',
    fn: functionInput('f1', { tags: { 'aws:owner': 'me' } }),
    field: 'tags["aws:owner"]',
    message: /aws:/,
  },
  {
    rule: 'code that is not a zip',
    fn: functionInput('f1', { code: { zipBase64: notAZip } }),
    field: 'code.zipBase64',
    message: /not a valid zip/,
  },
  {
    rule: 'random bytes as code',
    fn: functionInput('f1', { code: { zipBase64: randomBytes } }),
    field: 'code.zipBase64',
    message: /not a valid zip/,
  },
  {
    rule: 'a zip whose 262 entries all point at one deflated 1 MB entry',
    fn: functionInput('f1', { code: { zipBase64: sharedEntryZipBase64() } }),
    field: 'code.zipBase64',
    message: /share the local header at offset 0/,
  },
  {
    rule: 'a zip with a backslash in an entry name',
    fn: functionInput('f1', {
      code: { zipBase64: Buffer.from(zipSync({ 'lib\\x.js': new Uint8Array(1) })).toString('base64') },
    }),
    field: 'code.zipBase64',
    message: /backslash/,
  },
  {
    rule: 'code that is not base64',
    fn: functionInput('f1', { code: { zipBase64: '%%%%' } }),
    field: 'code.zipBase64',
    message: /base64/,
  },
  {
    rule: 'code given twice',
    fn: functionInput('f1', { code: { zipBase64: sampleZipBase64('x'), sha256: missingSha } }),
    field: 'code',
    message: /exactly one/,
  },
  {
    rule: 'a reference to code never uploaded',
    fn: functionInput('f1', { code: { sha256: missingSha } }),
    field: 'code.sha256',
    message: /no zip with this SHA-256/,
  },
];

const nameRules: { rule: string; name: string; message: RegExp }[] = [
  { rule: 'a name with a space', name: 'bad name', message: /letters, digits/ },
  { rule: 'a name with a hash', name: 'bad#name', message: /letters, digits/ },
  {
    rule: 'a name too long for the managed Lambda name',
    name: 'n'.repeat(60),
    message: /at most 51 characters/,
  },
];

async function expectRejectedAndNothingWritten(
  init: HttpApiEventInit,
  status: number,
  field: string,
  message: RegExp,
) {
  const table = await api.scanTable();
  const artifacts = await api.listArtifacts();
  const audit = await api.call({ routeKey: 'GET /v1/audit', caller: { workspace } });

  const answer = await api.call(init);

  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.headers['content-type']).toBe('application/problem+json');
  expect(answer.body.status).toBe(status);
  const errors = answer.body.errors as { field: string; message: string }[];
  expect(errors.map((e) => e.field)).toContain(field);
  expect(errors.find((e) => e.field === field)?.message).toMatch(message);
  expect(await api.scanTable()).toEqual(table);
  expect(await api.listArtifacts()).toEqual(artifacts);
  expect((await api.call({ routeKey: 'GET /v1/audit', caller: { workspace } })).body).toEqual(audit.body);
  const draft = await api.call({
    routeKey: 'GET /v1/drafts/{id}',
    pathParameters: { id: draftId },
    caller: { workspace },
  });
  expect(draft.headers.etag).toBe('"1"');
  expect(draft.body.functions.map((f: { name: string }) => f.name)).toEqual(['existing']);
}

describe.each(['create', 'replace', 'function'] as const)('a bad function sent to %s', (target) => {
  it.each(functionRules)(
    'is refused for $rule, naming the field, writing nothing',
    async ({ fn, field, message }) => {
      await expectRejectedAndNothingWritten(
        requestFor(target, bodyWith(target, fn)),
        400,
        fieldOf(target, field),
        message,
      );
    },
  );

  it.each(nameRules)('is refused for $rule', async ({ name, message }) => {
    const init =
      target === 'function'
        ? { ...requestFor(target, functionInput(name)), pathParameters: { id: draftId, name } }
        : requestFor(target, { functions: [functionInput(name)] });
    await expectRejectedAndNothingWritten(init, 400, fieldOf(target, 'name'), message);
  });
});

describe('bad bodies', () => {
  it('lists every bad field at once', async () => {
    const answer = await api.call(
      requestFor('create', {
        functions: [
          functionInput('ok1'),
          functionInput('f2', { memoryMiB: 1, timeoutSeconds: 0 }),
          functionInput('ok1'),
        ],
      }),
    );
    expect(answer.status).toBe(400);
    expect(answer.body.errors.map((e: { field: string }) => e.field)).toEqual([
      'functions[1].memoryMiB',
      'functions[1].timeoutSeconds',
      'functions[2].name',
    ]);
  });

  it('uploads no code when one function of the model is bad', async () => {
    await expectRejectedAndNothingWritten(
      requestFor('create', {
        functions: [functionInput('fresh-code'), functionInput('f2', { code: { sha256: missingSha } })],
      }),
      400,
      'functions[1].code.sha256',
      /no zip/,
    );
  });

  it.each(['create', 'replace'] as const)('refuses duplicate names (%s)', async (target) => {
    await expectRejectedAndNothingWritten(
      requestFor(target, { functions: [functionInput('twin'), functionInput('twin')] }),
      400,
      'functions[1].name',
      /duplicate/,
    );
  });

  it.each(['create', 'replace'] as const)('refuses a model without functions (%s)', async (target) => {
    await expectRejectedAndNothingWritten(requestFor(target, { fns: [] }), 400, 'fns', /not a known field/);
  });

  it.each([
    {
      title: 'malformed JSON',
      body: '{"functions": [',
      status: 400,
      field: 'body',
      message: /not valid JSON/,
    },
    {
      title: 'JSON that is a string',
      body: '"functions"',
      status: 400,
      field: '(body)',
      message: /must be an object/,
    },
  ])('refuses $title', async ({ body, status, field, message }) => {
    await expectRejectedAndNothingWritten(requestFor('create', body), status, field, message);
  });

  it.each(['create', 'replace', 'function'] as const)(
    'refuses a body that is not application/json (%s)',
    async (target) => {
      await expectRejectedAndNothingWritten(
        requestFor(target, bodyWith(target, functionInput('f1')), {
          headers: { 'content-type': 'text/plain' },
        }),
        415,
        'headers.content-type',
        /application\/json/,
      );
    },
  );

  it('refuses JSON in a charset other than UTF-8', async () => {
    await expectRejectedAndNothingWritten(
      requestFor(
        'create',
        { functions: [] },
        { headers: { 'content-type': 'application/json; charset=latin1' } },
      ),
      415,
      'headers.content-type',
      /application\/json/,
    );
  });

  it('accepts application/json with charset=utf-8 and a base64-encoded body', async () => {
    const answer = await api.call(
      requestFor(
        'create',
        { functions: [functionInput('b64')] },
        {
          base64: true,
          headers: { 'content-type': 'application/json; charset=UTF-8' },
        },
      ),
    );
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    await api.call({
      routeKey: 'DELETE /v1/drafts/{id}',
      pathParameters: { id: answer.body.draftId },
      caller: { workspace },
    });
  });

  it.each(['create', 'replace'] as const)('refuses a body over 6 MB with 413 (%s)', async (target) => {
    const body = JSON.stringify({
      functions: [functionInput('big', { environment: { PAD: 'x'.repeat(6 * 1024 * 1024) } })],
    });
    await expectRejectedAndNothingWritten(requestFor(target, body), 413, 'body', /at most 6291456 bytes/);
  });

  it.each(['replace', 'function'] as const)('refuses an edit without a body (%s)', async (target) => {
    await expectRejectedAndNothingWritten(requestFor(target, undefined), 400, 'body', /required/);
  });

  it('refuses a function whose body names another function than the path', async () => {
    await expectRejectedAndNothingWritten(
      requestFor('function', functionInput('other')),
      400,
      'name',
      /must match the name in the path/,
    );
  });

  it('refuses a body that is not UTF-8', async () => {
    const { body: _text, ...init } = requestFor('create', 'x');
    await expectRejectedAndNothingWritten(
      { ...init, bodyBytes: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) },
      400,
      'body',
      /not UTF-8/,
    );
  });
});

describe('bad query parameters', () => {
  it.each<{ routeKey: string; query: Record<string, string>; field: string }>([
    { routeKey: 'GET /v1/audit', query: { limit: '0' }, field: 'limit' },
    { routeKey: 'GET /v1/audit', query: { limit: '1001' }, field: 'limit' },
    { routeKey: 'GET /v1/audit', query: { limit: 'ten' }, field: 'limit' },
    { routeKey: 'GET /v1/audit', query: { cursor: 'not-a-cursor' }, field: 'cursor' },
    { routeKey: 'GET /v1/functions', query: { limit: '-1' }, field: 'limit' },
    { routeKey: 'GET /v1/functions', query: { cursor: '!!' }, field: 'cursor' },
    { routeKey: 'GET /v1/drafts/{id}', query: { cursor: 'e30' }, field: 'cursor' },
  ])('$routeKey refuses $query naming $field', async ({ routeKey, query, field }) => {
    const answer = await api.call({
      routeKey,
      query,
      pathParameters: { id: draftId },
      caller: { workspace },
    });
    expect(answer.status).toBe(400);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    expect(answer.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
  });
});
