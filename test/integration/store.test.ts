import { DynamoDBClient, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AuditLog } from '../../core/store/audit.ts';
import { createConfigTableDocumentClient } from '../../core/store/client.ts';
import { DraftStore } from '../../core/store/drafts.ts';
import { GarbageCollector } from '../../core/store/garbage.ts';
import { LiveModels, SnapshotStore } from '../../core/store/snapshots.ts';
import { createConfigTable, deleteConfigTable } from '../../core/store/table.ts';
import { localCredentials, localRegion } from '../../local/net.ts';
import { functionName, functionSpec } from '../support/fixtures.ts';

const client = new DynamoDBClient({
  endpoint: inject('dynamodbEndpoint'),
  region: localRegion,
  credentials: localCredentials,
});
const tableName = `greco-store-${crypto.randomUUID().slice(0, 8)}`;
const table = { doc: createConfigTableDocumentClient(client), tableName };
const drafts = new DraftStore(table);
const snapshots = new SnapshotStore(table);
const live = new LiveModels(table);
const audit = new AuditLog(table);
const garbage = new GarbageCollector(table);
const context = { actor: { sub: 'u-1', username: 'ursula' }, requestId: 'r-1' };

beforeAll(async () => {
  await createConfigTable(client, tableName);
});
afterAll(async () => {
  await deleteConfigTable(client, tableName);
  client.destroy();
});

/** Number of items in a partition-key family, e.g. every `SNAP#<ws>#…` partition. */
async function countItems(pkPrefix: string): Promise<number> {
  let count = 0;
  let ExclusiveStartKey: Record<string, never> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        ConsistentRead: true,
        FilterExpression: 'begins_with(pk, :p)',
        ExpressionAttributeValues: { ':p': { S: pkPrefix } },
        ExclusiveStartKey,
      }),
    );
    count += page.Count ?? 0;
    ExclusiveStartKey = page.LastEvaluatedKey as Record<string, never> | undefined;
  } while (ExclusiveStartKey !== undefined);
  return count;
}

describe('the config table stores (drafts, snapshots, live models, audit, garbage)', () => {
  it('creates a draft of the live model without copying it', async () => {
    const ws = 'copy-free';
    await snapshots.setLiveModel(
      ws,
      Array.from({ length: 50 }, (_, i) => functionSpec(functionName(i))),
      {
        expectedEpoch: 0,
      },
    );
    const snapshotsBefore = await countItems(`SNAP#${ws}#`);
    const draft = await drafts.createDraft(ws, context);
    expect(draft).toMatchObject({ version: 1, baseEpoch: 1, functionCount: 50, state: 'open' });
    expect(await countItems(`SNAP#${ws}#`)).toBe(snapshotsBefore);
    expect(await countItems(`OVL#${ws}#`)).toBe(0);
    expect((await drafts.getDraft(ws, draft.draftId)).functions).toHaveLength(50);
  });

  it('keeps a draft based on the live model unchanged when the live model moves on', async () => {
    const ws = 'pinned-base';
    await snapshots.setLiveModel(ws, [functionSpec('a1'), functionSpec('b1')], { expectedEpoch: 0 });
    const draft = await drafts.createDraft(ws, context);
    await snapshots.setLiveModel(ws, [functionSpec('c1')], { expectedEpoch: 1 });
    expect((await drafts.getDraft(ws, draft.draftId)).functions.map((f) => f.name)).toEqual(['a1', 'b1']);
    expect((await live.getLiveModel(ws)).functions.map((f) => f.name)).toEqual(['c1']);
  });

  it('merges overlay edits over the base: replace, add, delete, re-add', async () => {
    const ws = 'overlay';
    const draft = await drafts.createDraft(ws, context, [functionSpec('a1'), functionSpec('b1')]);
    let version = draft.version;
    const put = async (name: string, memoryMiB: number) => {
      const result = await drafts.putDraftFunction(
        ws,
        draft.draftId,
        functionSpec(name, { memoryMiB }),
        version,
        context,
      );
      version = result.draft.version;
      return result;
    };
    expect((await put('a1', 256)).created).toBe(false);
    expect((await put('c1', 128)).created).toBe(true);
    version = (await drafts.deleteDraftFunction(ws, draft.draftId, 'b1', version, context)).version;
    expect((await put('b1', 512)).created).toBe(true);
    version = (await drafts.deleteDraftFunction(ws, draft.draftId, 'c1', version, context)).version;
    const read = await drafts.getDraft(ws, draft.draftId);
    expect(read.version).toBe(6);
    expect(read.functionCount).toBe(2);
    expect(read.functions.map((f) => [f.name, f.memoryMiB])).toEqual([
      ['a1', 256],
      ['b1', 512],
    ]);
  });

  it('replacing a model deletes the superseded snapshot and overlay', async () => {
    const ws = 'superseded';
    const draft = await drafts.createDraft(ws, context, [
      functionSpec('a1'),
      functionSpec('b1'),
      functionSpec('c1'),
    ]);
    await drafts.putDraftFunction(ws, draft.draftId, functionSpec('d1'), 1, context);
    await drafts.replaceDraft(ws, draft.draftId, [functionSpec('z1')], 2, context);
    expect(await countItems(`SNAP#${ws}#`)).toBe(1);
    expect(await countItems(`OVL#${ws}#`)).toBe(0);
    expect(await garbage.collectGarbage(ws, { pendingGraceMs: 0 })).toEqual({ partitions: 0, items: 0 });
  });

  it('never returns a draft read that mixes two versions while it is being edited', async () => {
    const ws = 'consistent';
    const draft = await drafts.createDraft(ws, context);
    const writes = 25;
    let writing = true;
    const writer = (async () => {
      // Version v holds exactly v - 1 functions, named after the version that added them.
      for (let v = 1; v <= writes; v++) {
        await drafts.putDraftFunction(ws, draft.draftId, functionSpec(functionName(v)), v, context);
      }
      writing = false;
    })();
    const reads: { version: number; names: string[]; count: number }[] = [];
    while (writing) {
      const read = await drafts.getDraft(ws, draft.draftId);
      reads.push({
        version: read.version,
        names: read.functions.map((f) => f.name),
        count: read.functionCount,
      });
    }
    await writer;
    expect(reads.length).toBeGreaterThan(0);
    for (const read of reads) {
      const expected = Array.from({ length: read.version - 1 }, (_, i) => functionName(i + 1));
      expect(read.names).toEqual(expected);
      expect(read.count).toBe(expected.length);
    }
  });

  it('refuses edits of a frozen draft with 409, and its deletion too', async () => {
    const ws = 'frozen';
    const draft = await drafts.createDraft(ws, context, [functionSpec('a1')]);
    await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: `WS#${ws}` }, sk: { S: `DRAFT#${draft.draftId}` } },
        UpdateExpression: 'SET #s = :frozen',
        ExpressionAttributeNames: { '#s': 'state' },
        ExpressionAttributeValues: { ':frozen': { S: 'frozen' } },
      }),
    );
    await expect(
      drafts.putDraftFunction(ws, draft.draftId, functionSpec('b1'), 1, context),
    ).rejects.toMatchObject({
      status: 409,
    });
    await expect(drafts.replaceDraft(ws, draft.draftId, [], '*', context)).rejects.toMatchObject({
      status: 409,
    });
    await expect(drafts.deleteDraft(ws, draft.draftId, undefined, context)).rejects.toMatchObject({
      status: 409,
    });
    expect((await drafts.getDraft(ws, draft.draftId)).functions.map((f) => f.name)).toEqual(['a1']);
    // The refused replace discarded the snapshot it had written.
    expect(await countItems(`SNAP#${ws}#`)).toBe(1);
  });

  it('writes each audit record once, in order, even within one millisecond', async () => {
    const ws = 'same-ms';
    const fixed = new Date('2026-11-21T10:00:00.000Z');
    const frozenClock = new DraftStore({ ...table, now: () => fixed });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await frozenClock.createDraft(ws, { ...context, requestId: `r-${i}` })).draftId);
    const page = await audit.listAudit(ws, { limit: 10 });
    expect(page.records.map((r) => r.requestId)).toEqual(['r-4', 'r-3', 'r-2', 'r-1', 'r-0']);
    expect(page.records.every((r) => r.at === fixed.toISOString())).toBe(true);
  });

  it('answers 404 for draft ids that cannot exist', async () => {
    for (const id of ['', 'a#b', 'x'.repeat(200), '../etc']) {
      await expect(drafts.getDraft('any', id)).rejects.toMatchObject({ status: 404 });
    }
  });
});
