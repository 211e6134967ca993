import type { AddressInfo, Socket } from 'node:net';
import { createServer } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { apiHandler } from '../../core/http/api-handler.ts';
import { draftsRoutes } from '../../core/http/routes/drafts.ts';
import type { HttpEvent, HttpResponse } from '../../core/http/types.ts';
import { createConfigTableClient, createConfigTableDocumentClient } from '../../core/store/client.ts';
import { DraftStore } from '../../core/store/drafts.ts';
import { LiveModels } from '../../core/store/snapshots.ts';
import { EnvNames } from '../../domain/env.ts';
import { localCredentials, localRegion, type PortReservation, reservePort } from '../../local/net.ts';
import { functionInput, sampleZip } from '../../support/fixtures.ts';
import { functionName, functionSpec } from '../support/fixtures.ts';
import { type HttpApiEventInit, httpApiEvent, lambdaContext } from '../support/http-api-event.ts';
import { answerOf, type ManagementApiHarness, startManagementApi } from '../support/management-api.ts';

let api: ManagementApiHarness;
beforeAll(async () => {
  api = await startManagementApi();
});
afterAll(async () => {
  await api?.close();
});

const system = { actor: { sub: 'test-setup' }, requestId: 'setup' };

/** An error like the one the SDK raises when the connection to the table is refused. */
function connectionRefused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1 (injected)'), { code: 'ECONNREFUSED' });
}

/**
 * A real client of the test's DynamoDB Local, with an SDK middleware that makes every
 * BatchWriteItem after the first `okBatchWrites` fail, and, once that happened, when
 * `tableDown` is set, every other call too: the table going away in the middle of a bulk write.
 */
function failingClient(
  okBatchWrites: number,
  tableDown: boolean,
): { client: DynamoDBClient; batchWrites: () => number } {
  const client = new DynamoDBClient({
    endpoint: api.dynamodbEndpoint,
    region: localRegion,
    credentials: localCredentials,
    maxAttempts: 1,
  });
  let batchWrites = 0;
  let down = false;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'BatchWriteItemCommand') {
        batchWrites++;
        if (batchWrites > okBatchWrites) {
          down = tableDown;
          throw connectionRefused();
        }
      } else if (down) {
        throw connectionRefused();
      }
      return next(args);
    },
    { step: 'initialize', name: 'injectTableFailure' },
  );
  return { client, batchWrites: () => batchWrites };
}

describe('a bulk write that fails midway', () => {
  it.each([
    { title: 'BatchWriteItem starts failing', tableDown: false },
    { title: 'the whole table goes away', tableDown: true },
  ])(
    'leaves the draft exactly as before when $title, and collectGarbage removes the orphan',
    async ({ tableDown }) => {
      const workspace = tableDown ? 'bulk-down' : 'bulk-fail';
      const original = Array.from({ length: 30 }, (_, i) => functionSpec(functionName(i)));
      const draft = await api.drafts.createDraft(workspace, system, original);
      await api.drafts.putDraftFunction(workspace, draft.draftId, functionSpec('overlay-edit'), 1, system);
      const before = await api.scanTable();

      const { client, batchWrites } = failingClient(3, tableDown);
      const table = { doc: createConfigTableDocumentClient(client), tableName: api.tableName };
      const handler = apiHandler(
        draftsRoutes({
          drafts: new DraftStore(table),
          live: new LiveModels(table),
          artifacts: api.artifacts,
          managedPrefix: 'greco',
        }),
      );
      const shared = (await api.artifacts.putZip(sampleZip('shared'))).sha256;
      const replacement = Array.from({ length: 200 }, (_, i) =>
        functionInput(`new-${i}`, { code: { sha256: shared } }),
      );
      const answer = answerOf(
        await handler(
          httpApiEvent({
            routeKey: 'PUT /v1/drafts/{id}',
            pathParameters: { id: draft.draftId },
            headers: { 'if-match': '"2"' },
            caller: { workspace },
            body: { functions: replacement },
          }),
          lambdaContext(),
        ),
      );
      client.destroy();

      expect(answer.status, JSON.stringify(answer.body)).toBe(503);
      expect(answer.headers['retry-after']).toMatch(/^\d+$/);
      expect(answer.headers['content-type']).toBe('application/problem+json');
      expect(batchWrites()).toBeGreaterThan(3);

      const read = await api.drafts.getDraft(workspace, draft.draftId);
      expect(read.version).toBe(2);
      expect(read.functions.map((f) => f.name)).toEqual([...original.map((f) => f.name), 'overlay-edit']);
      const audit = await api.audit.listAudit(workspace);
      expect(audit.records.map((r) => r.action)).toEqual(['draft.function.put', 'draft.create']);

      // Three BatchWriteItem calls of 25 items went through before the failure; the best-effort
      // clean-up could not finish (its deletes are BatchWriteItem calls too), so the partition is
      // left marked pending. Collecting it restores the table exactly.
      const collected = await api.garbage.collectGarbage(workspace, { pendingGraceMs: 0 });
      expect(collected).toEqual({ partitions: 1, items: 75 });
      expect(await api.scanTable()).toEqual(before);
    },
  );

  it('leaves pending partitions of writes still in flight alone', async () => {
    const workspace = 'bulk-young';
    const { client } = failingClient(1, true);
    const drafts = new DraftStore({ doc: createConfigTableDocumentClient(client), tableName: api.tableName });
    await expect(
      drafts.createDraft(
        workspace,
        system,
        Array.from({ length: 60 }, (_, i) => functionSpec(functionName(i))),
      ),
    ).rejects.toMatchObject({ name: 'ServiceUnavailableError', status: 503 });
    client.destroy();
    expect(await api.drafts.listDrafts(workspace)).toEqual([]);
    expect(await api.garbage.collectGarbage(workspace)).toEqual({ partitions: 0, items: 0 });
    expect(await api.garbage.collectGarbage(workspace, { pendingGraceMs: 0 })).toEqual({
      partitions: 1,
      items: 25,
    });
  });
});

describe('the config table unavailable', () => {
  type Handler = (event: HttpEvent, context: ReturnType<typeof lambdaContext>) => Promise<HttpResponse>;
  const handlers: Record<string, Handler> = {};
  const saved = { ...process.env };
  let unserved: PortReservation;

  beforeAll(async () => {
    // A port this process holds and serves nothing on: the handlers' own clients (short timeouts,
    // bounded retries) have every connection reset.
    unserved = await reservePort();
    process.env.AWS_ENDPOINT_URL_DYNAMODB = `http://127.0.0.1:${unserved.port}`;
    process.env[EnvNames.configTable] = 'greco-unreachable';
    vi.resetModules();
    handlers.functions = (await import('../../lambdas/functions-api/index.ts')).handler as unknown as Handler;
    handlers.drafts = (await import('../../lambdas/drafts-api/index.ts')).handler as unknown as Handler;
    handlers.audit = (await import('../../lambdas/audit-api/index.ts')).handler as unknown as Handler;
  });
  afterAll(async () => {
    process.env.AWS_ENDPOINT_URL_DYNAMODB = saved.AWS_ENDPOINT_URL_DYNAMODB;
    process.env[EnvNames.configTable] = saved[EnvNames.configTable];
    await unserved?.release();
  });

  it.each<HttpApiEventInit & { group: string }>([
    { group: 'functions', routeKey: 'GET /v1/functions' },
    { group: 'functions', routeKey: 'GET /v1/functions/{name}', pathParameters: { name: 'x1' } },
    { group: 'drafts', routeKey: 'POST /v1/drafts' },
    { group: 'drafts', routeKey: 'GET /v1/drafts' },
    { group: 'drafts', routeKey: 'GET /v1/drafts/{id}', pathParameters: { id: 'd1' } },
    {
      group: 'drafts',
      routeKey: 'PUT /v1/drafts/{id}/functions/{name}',
      pathParameters: { id: 'd1', name: 'x1' },
      headers: { 'if-match': '"1"' },
      body: functionInput('x1'),
    },
    { group: 'audit', routeKey: 'GET /v1/audit' },
  ])('$routeKey answers 503 with Retry-After', async ({ group, ...init }) => {
    const handler = handlers[group] as Handler;
    const answer = answerOf(
      await handler(httpApiEvent({ ...init, caller: { workspace: 'down' } }), lambdaContext()),
    );
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toMatch(/^\d+$/);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    expect(answer.body).toMatchObject({ status: 503, title: 'Service unavailable' });
    expect(answer.body.detail).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
  });

  it('builds its client with bounded attempts', async () => {
    const client = createConfigTableClient();
    expect(await client.config.maxAttempts()).toBe(3);
    client.destroy();
  });

  it('gives up on a table that accepts the connection and never answers, instead of hanging', async () => {
    // Prepare: a server that reads requests and never writes a byte back.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const client = createConfigTableClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: localRegion,
      credentials: localCredentials,
      maxAttempts: 1,
    });
    const drafts = new DraftStore({ doc: createConfigTableDocumentClient(client), tableName: 'silent' });
    try {
      // Act + Assess: the request timeout ends the call (without throwOnRequestTimeout the SDK only
      // warns and waits for ever, and this test would hit its own timeout).
      await expect(drafts.listDrafts('silent')).rejects.toMatchObject({ status: 503 });
    } finally {
      client.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  }, 30_000);
});
