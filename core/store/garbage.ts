/**
 * Partitions that no head references: the `PENDING#` record of a partition being written
 * (copy-on-write: written first, referenced by one transaction later) and the `GARBAGE#` record of
 * a superseded one, both in the workspace partition, and {@link GarbageCollector} that deletes
 * them. A marked partition is never referenced by a head, so deleting it is always safe.
 *
 * @module
 */
import { deleteItem, putItem, queryPage, queryPrefix } from './access.ts';
import { type BatchWriteOptions, batchWriteAll } from './batch.ts';
import type { ConfigTableOptions } from './client.ts';
import { workspacePk } from './keys.ts';
import type { TransactItem } from './transact.ts';

/** Sort key of the record that marks `partition` as being written. */
export const pendingSk = (partition: string): string => `PENDING#${partition}`;
/** Prefix of every pending record's sort key. */
export const pendingSkPrefix = 'PENDING#';
/** Sort key of the record that marks `partition` as superseded. */
export const garbageSk = (partition: string): string => `GARBAGE#${partition}`;
/** Prefix of every garbage record's sort key. */
export const garbageSkPrefix = 'GARBAGE#';

/** A `PENDING#` or `GARBAGE#` record. */
interface PartitionMarker {
  readonly sk: string;
  /** The partition key of the marked partition, e.g. `SNAP#<ws>#<snapshotId>`. */
  readonly partition: string;
  /** ISO 8601 UTC. */
  readonly createdAt: string;
}

/**
 * Marks `partition` as being written, before its first item is: if the writer dies before the
 * transaction that references it (which includes {@link pendingClearedItem}), the partition is
 * an orphan that {@link GarbageCollector} removes after its grace period.
 *
 * @param at ISO 8601 UTC
 * @throws ServiceUnavailableError (503)
 */
export async function markPending(
  table: ConfigTableOptions,
  ws: string,
  partition: string,
  at: string,
): Promise<void> {
  await putItem(table, { pk: workspacePk(ws), sk: pendingSk(partition), partition, createdAt: at });
}

/** Transaction item: `partition` is referenced now, no longer pending (deletes its `PENDING#` record). */
export function pendingClearedItem(tableName: string, ws: string, partition: string): TransactItem {
  return { Delete: { TableName: tableName, Key: { pk: workspacePk(ws), sk: pendingSk(partition) } } };
}

/** Transaction item: marks `partition` as superseded, for {@link GarbageCollector}. */
export function garbageItem(tableName: string, ws: string, partition: string, at: string): TransactItem {
  return {
    Put: {
      TableName: tableName,
      Item: { pk: workspacePk(ws), sk: garbageSk(partition), partition, createdAt: at },
    },
  };
}

/**
 * Deletes every item of `partition` (BatchWriteItem, page by page).
 * @returns how many items were deleted
 * @throws ServiceUnavailableError (503)
 */
export async function deletePartition(
  table: ConfigTableOptions,
  partition: string,
  batchWrite: BatchWriteOptions = {},
): Promise<number> {
  let deleted = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await queryPage(table, {
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': partition },
      ProjectionExpression: 'pk, sk',
      ConsistentRead: true,
      ExclusiveStartKey: startKey,
    });
    const keys = (page.Items ?? []) as { pk: string; sk: string }[];
    await batchWriteAll(
      table.doc,
      table.tableName,
      keys.map((Key) => ({ DeleteRequest: { Key } })),
      batchWrite,
    );
    deleted += keys.length;
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return deleted;
}

/**
 * Best effort: deletes a pending partition no head references, then its `PENDING#` record. If
 * this fails too, the record stays and {@link GarbageCollector} finds the orphan later.
 */
export async function discardPending(
  table: ConfigTableOptions,
  ws: string,
  partition: string,
  batchWrite: BatchWriteOptions = {},
): Promise<void> {
  try {
    await deletePartition(table, partition, batchWrite);
    await deleteItem(table, workspacePk(ws), pendingSk(partition));
  } catch {
    // Left for collectGarbage: the pending record still names the partition.
  }
}

/**
 * Best effort: deletes partitions just marked garbage, each then its `GARBAGE#` record; what
 * fails stays for {@link GarbageCollector}.
 */
export async function collectPartitions(
  table: ConfigTableOptions,
  ws: string,
  partitions: readonly string[],
  batchWrite: BatchWriteOptions = {},
): Promise<void> {
  for (const partition of partitions) {
    try {
      await deletePartition(table, partition, batchWrite);
      await deleteItem(table, workspacePk(ws), garbageSk(partition));
    } catch {
      // Left for collectGarbage: the garbage record still names the partition.
    }
  }
}

/** Options of {@link GarbageCollector}. */
export interface GarbageCollectorOptions extends ConfigTableOptions {
  /** Clock. @default - the system clock */
  readonly now?: () => Date;
  /** Tuning of the bulk deletes. @default - {@link batchWriteAll}'s defaults */
  readonly batchWrite?: BatchWriteOptions;
}

/** Options of {@link GarbageCollector.collectGarbage}. */
export interface CollectGarbageOptions {
  /**
   * Age after which a partition still marked pending is an orphan of a crashed write, in
   * milliseconds. @default 1800000 (30 minutes: twice Lambda's 900-second maximum timeout, so no
   * running writer can still own it)
   */
  readonly pendingGraceMs?: number;
}

/** What {@link GarbageCollector.collectGarbage} removed. */
export interface GarbageCollected {
  readonly partitions: number;
  readonly items: number;
}

/**
 * Deletes what no head references: partitions marked garbage, and partitions still marked
 * pending after their grace period.
 *
 * @example
 * const removed = await new GarbageCollector({ doc, tableName }).collectGarbage('acme');
 */
export class GarbageCollector {
  readonly #table: ConfigTableOptions;
  readonly #now: () => Date;
  readonly #batchWrite: BatchWriteOptions;

  constructor(options: GarbageCollectorOptions) {
    this.#table = { doc: options.doc, tableName: options.tableName };
    this.#now = options.now ?? (() => new Date());
    this.#batchWrite = options.batchWrite ?? {};
  }

  /**
   * Deletes the partitions of `ws` that are marked garbage, and the partitions still marked
   * pending after `pendingGraceMs` (orphans of writes that crashed before their transaction),
   * each with its marker record. Safe to run at any time and concurrently with writes.
   *
   * @throws ServiceUnavailableError (503); what was deleted before stays deleted
   */
  async collectGarbage(ws: string, options: CollectGarbageOptions = {}): Promise<GarbageCollected> {
    const grace = options.pendingGraceMs ?? 30 * 60 * 1000;
    const cutoff = new Date(this.#now().getTime() - grace).toISOString();
    let partitions = 0;
    let items = 0;
    for (const prefix of [garbageSkPrefix, pendingSkPrefix]) {
      const markers = await queryPrefix<PartitionMarker>(this.#table, workspacePk(ws), prefix);
      for (const marker of markers) {
        if (prefix === pendingSkPrefix && marker.createdAt > cutoff) continue;
        items += await deletePartition(this.#table, marker.partition, this.#batchWrite);
        await deleteItem(this.#table, workspacePk(ws), marker.sk);
        partitions++;
      }
    }
    return { partitions, items };
  }
}
