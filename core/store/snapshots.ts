/**
 * Snapshots and the live head. A snapshot is an immutable partition `SNAP#<ws>#<snapshotId>` of
 * one item per function (a 5,000-function model does not fit in one 400 KB item); the live
 * head (`WS#<ws>`, `LIVE`) names the snapshot of the live epoch, so switching the whole model is
 * one conditional write (copy-on-write).
 *
 * - {@link LiveModels} reads the live model and builds the live head's transaction items: all a
 *   read-only handler needs.
 * - {@link SnapshotStore} writes and reads snapshot partitions.
 *
 * @module
 */
import { ConflictError, ServiceUnavailableError } from '../../domain/errors.ts';
import type { FunctionSpec } from '../spec.ts';
import { getItem, maxConsistencyRetries, queryPrefix } from './access.ts';
import { AuditLog } from './audit.ts';
import { type BatchRequest, type BatchWriteOptions, batchWriteAll } from './batch.ts';
import type { ConfigTableOptions } from './client.ts';
import { discardPending, garbageItem, markPending, pendingClearedItem } from './garbage.ts';
import { compareCodeUnits, keySafeId, workspacePk } from './keys.ts';
import { type TransactItem, transactWrite } from './transact.ts';
import type { ChangeContext, LiveModel } from './types.ts';

/** Sort key of the live head. */
export const liveSk = 'LIVE';
/** Partition of one immutable snapshot. */
export const snapshotPk = (ws: string, snapshotId: string): string => `SNAP#${ws}#${snapshotId}`;
/** Sort key of one function in a snapshot (and the start of an overlay edit's). */
export const functionSk = (name: string): string => `FN#${name}`;
/** Prefix of every function's sort key. */
export const functionSkPrefix = 'FN#';

/** One item of a snapshot partition: a function, its spec as JSON text so that it round-trips exactly. */
export interface SnapshotItem {
  readonly name: string;
  /** Absent only on a draft overlay's tombstone (`drafts.ts`), never in a snapshot. */
  readonly spec?: string;
}

/** The live head without its functions: epoch 0 (no `snapshotId`) before any commit. */
export interface LiveHead {
  readonly epoch: number;
  readonly snapshotId?: string;
  readonly functionCount: number;
}

/** The live head item (`WS#<ws>`, `LIVE`). */
interface LiveHeadItem {
  readonly epoch: number;
  readonly snapshotId: string;
  readonly functionCount: number;
  /** ISO 8601 UTC. */
  readonly updatedAt: string;
}

/** The items of snapshot `snapshotId` of `ws`, by name (consistent read, all pages). @throws ServiceUnavailableError (503) */
export async function readSnapshotItems(
  table: ConfigTableOptions,
  ws: string,
  snapshotId: string,
): Promise<SnapshotItem[]> {
  return queryPrefix<SnapshotItem>(table, snapshotPk(ws, snapshotId), functionSkPrefix);
}

/** The specs of snapshot items, sorted by name (code-unit order). */
export function specsOf(items: readonly SnapshotItem[]): FunctionSpec[] {
  return items
    .filter((item) => item.spec !== undefined)
    .sort((a, b) => compareCodeUnits(a.name, b.name))
    .map((item) => JSON.parse(item.spec as string) as FunctionSpec);
}

/** The batch write requests that put `functions` into snapshot partition `partition`. */
function snapshotPuts(partition: string, functions: readonly FunctionSpec[]): BatchRequest[] {
  return functions.map((spec) => ({
    PutRequest: {
      Item: { pk: partition, sk: functionSk(spec.name), name: spec.name, spec: JSON.stringify(spec) },
    },
  }));
}

/**
 * The live model of each workspace, read consistently: the head, then the snapshot it names,
 * then the head again (a head that moved meanwhile means the read starts over). Also builds the
 * live head's transaction items.
 *
 * @example
 * const live = await new LiveModels({ doc, tableName }).getLiveModel('acme');
 */
export class LiveModels {
  readonly #table: ConfigTableOptions;

  constructor(options: ConfigTableOptions) {
    this.#table = { doc: options.doc, tableName: options.tableName };
  }

  /** The live head of `ws` without its functions: epoch 0 before any commit. One consistent read. */
  async getLiveHead(ws: string): Promise<LiveHead> {
    const head = await this.#head(ws);
    return head === undefined
      ? { epoch: 0, functionCount: 0 }
      : { epoch: head.epoch, snapshotId: head.snapshotId, functionCount: head.functionCount };
  }

  /**
   * The live model of `ws`: epoch 0 and no functions until a deployment commits.
   * @throws ServiceUnavailableError (503) when the table is unavailable or the head keeps moving
   */
  async getLiveModel(ws: string): Promise<LiveModel> {
    for (let attempt = 0; attempt < maxConsistencyRetries; attempt++) {
      const head = await this.#head(ws);
      if (head === undefined) return { epoch: 0, functions: [] };
      const items = await readSnapshotItems(this.#table, ws, head.snapshotId);
      // Snapshots are immutable once referenced; the re-read only guards against a head that
      // moved to a new epoch while the partition was read.
      const again = await this.#head(ws);
      if (again?.snapshotId === head.snapshotId) {
        return { epoch: head.epoch, snapshotId: head.snapshotId, functions: specsOf(items) };
      }
    }
    throw new ServiceUnavailableError('the live model is changing too fast to be read consistently', 1);
  }

  /**
   * The live epoch of `ws` and one of its functions (`function` absent when the model has none
   * by that name). @throws ServiceUnavailableError (503)
   */
  async getLiveFunction(ws: string, name: string): Promise<{ epoch: number; function?: FunctionSpec }> {
    const head = await this.#head(ws);
    if (head === undefined || !keySafeId.test(name)) return { epoch: head?.epoch ?? 0 };
    const item = await getItem<SnapshotItem>(this.#table, snapshotPk(ws, head.snapshotId), functionSk(name));
    return item?.spec === undefined
      ? { epoch: head.epoch }
      : { epoch: head.epoch, function: JSON.parse(item.spec) as FunctionSpec };
  }

  /**
   * Transaction item: moves the live head of `ws` to `head.epoch` and `head.snapshotId`,
   * conditional on the live epoch being `head.epoch - 1` (no live head at all for epoch 1).
   *
   * @param at ISO 8601 UTC
   */
  liveHeadItem(
    ws: string,
    head: { epoch: number; snapshotId: string; functionCount: number },
    at: string,
  ): TransactItem {
    const item: LiveHeadItem = { ...head, updatedAt: at };
    const expected = head.epoch - 1;
    return {
      Put: {
        TableName: this.#table.tableName,
        Item: { pk: workspacePk(ws), sk: liveSk, ...item },
        ...(expected === 0
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : {
              ConditionExpression: '#epoch = :expected',
              ExpressionAttributeNames: { '#epoch': 'epoch' },
              ExpressionAttributeValues: { ':expected': expected },
            }),
      },
    };
  }

  /** Transaction item: checks that the live head of `ws` is at `epoch` with snapshot `snapshotId`. */
  liveIsCheck(ws: string, epoch: number, snapshotId: string): TransactItem {
    return {
      ConditionCheck: {
        TableName: this.#table.tableName,
        Key: { pk: workspacePk(ws), sk: liveSk },
        ConditionExpression: '#e = :epoch AND #s = :snapshot',
        ExpressionAttributeNames: { '#e': 'epoch', '#s': 'snapshotId' },
        ExpressionAttributeValues: { ':epoch': epoch, ':snapshot': snapshotId },
      },
    };
  }

  async #head(ws: string): Promise<LiveHeadItem | undefined> {
    return getItem<LiveHeadItem>(this.#table, workspacePk(ws), liveSk);
  }
}

/** Options of {@link SnapshotStore}. */
export interface SnapshotStoreOptions extends ConfigTableOptions {
  /** Clock. @default - the system clock */
  readonly now?: () => Date;
  /** Source of snapshot ids. @default - `crypto.randomUUID()` */
  readonly newId?: () => string;
  /** Tuning of the bulk writes of snapshot partitions. @default - {@link batchWriteAll}'s defaults */
  readonly batchWrite?: BatchWriteOptions;
}

/** A snapshot partition written but not yet referenced by a head: marked pending until it is. */
export interface PendingSnapshot {
  readonly snapshotId: string;
  /** Its partition key, `SNAP#<ws>#<snapshotId>`. */
  readonly partition: string;
}

/**
 * Writes and reads snapshot partitions. Writes are batch writes into partitions nothing
 * references yet; a head (live or draft) starts to reference one in a transaction that includes
 * {@link SnapshotStore.pendingClearedItem}.
 *
 * @example
 * const snapshots = new SnapshotStore({ doc, tableName });
 * await snapshots.setLiveModel('acme', functions, { expectedEpoch: 0 });
 */
export class SnapshotStore {
  readonly #table: ConfigTableOptions;
  readonly #now: () => Date;
  readonly #newId: () => string;
  readonly #batchWrite: BatchWriteOptions;
  readonly #live: LiveModels;
  readonly #audit: AuditLog;

  constructor(options: SnapshotStoreOptions) {
    this.#table = { doc: options.doc, tableName: options.tableName };
    this.#now = options.now ?? (() => new Date());
    this.#newId = options.newId ?? (() => crypto.randomUUID());
    this.#batchWrite = options.batchWrite ?? {};
    this.#live = new LiveModels(this.#table);
    this.#audit = new AuditLog(this.#table);
  }

  /** The functions of snapshot `snapshotId`, sorted by name (consistent read, all pages). @throws ServiceUnavailableError (503) */
  async readSnapshotPartition(ws: string, snapshotId: string): Promise<FunctionSpec[]> {
    return specsOf(await readSnapshotItems(this.#table, ws, snapshotId));
  }

  /** The item of function `name` in snapshot `snapshotId`, if any. @throws ServiceUnavailableError (503) */
  async readSnapshotItem(ws: string, snapshotId: string, name: string): Promise<SnapshotItem | undefined> {
    return getItem<SnapshotItem>(this.#table, snapshotPk(ws, snapshotId), functionSk(name));
  }

  /**
   * Writes `functions` into the snapshot partition `snapshotId` (batch writes, no head moves).
   * Idempotent: the same id and functions write the same items, so a crashed writer may simply
   * run again. Used by deployments, whose snapshot id is the deployment id: nothing references
   * the partition until the deployment's epoch is activated, and an aborted deployment marks it
   * garbage ({@link snapshotGarbageItem}).
   *
   * @throws ServiceUnavailableError (503); some items may be written
   */
  async writeSnapshotPartition(
    ws: string,
    snapshotId: string,
    functions: readonly FunctionSpec[],
  ): Promise<void> {
    await batchWriteAll(
      this.#table.doc,
      this.#table.tableName,
      snapshotPuts(snapshotPk(ws, snapshotId), functions),
      this.#batchWrite,
    );
  }

  /**
   * Writes `functions` into a new snapshot partition, marked pending until a head references it
   * (in a transaction with {@link pendingClearedItem}). A failed write is discarded, best effort.
   *
   * @throws ServiceUnavailableError (503)
   */
  async writePendingSnapshot(ws: string, functions: readonly FunctionSpec[]): Promise<PendingSnapshot> {
    const snapshotId = this.#newId();
    const partition = snapshotPk(ws, snapshotId);
    await markPending(this.#table, ws, partition, this.#now().toISOString());
    try {
      await batchWriteAll(
        this.#table.doc,
        this.#table.tableName,
        snapshotPuts(partition, functions),
        this.#batchWrite,
      );
    } catch (error) {
      await this.discardPendingSnapshot(ws, { snapshotId, partition });
      throw error;
    }
    return { snapshotId, partition };
  }

  /** Best effort: deletes a pending snapshot no head references, then its pending record. */
  async discardPendingSnapshot(ws: string, snapshot: PendingSnapshot): Promise<void> {
    await discardPending(this.#table, ws, snapshot.partition, this.#batchWrite);
  }

  /** Transaction item: `snapshot` is referenced by the head this transaction writes. */
  pendingClearedItem(ws: string, snapshot: PendingSnapshot): TransactItem {
    return pendingClearedItem(this.#table.tableName, ws, snapshot.partition);
  }

  /** Transaction item: marks snapshot `snapshotId` as garbage (an aborted deployment's), for `collectGarbage`. */
  snapshotGarbageItem(ws: string, snapshotId: string, at: string): TransactItem {
    return garbageItem(this.#table.tableName, ws, snapshotPk(ws, snapshotId), at);
  }

  /**
   * Makes `functions` the live model of `ws` at epoch `expectedEpoch + 1` without a deployment:
   * writes a snapshot, then moves the live head, conditional on the epoch still being
   * `expectedEpoch`. For seeding live models (tests, imports); deployments activate their epoch
   * through `core/deployments/transactions.ts`.
   *
   * @param options.expectedEpoch the epoch the caller read (0 when there is no live model yet)
   * @param options.context when given, an audit record `live.set` is written with the change
   * @throws ConflictError (409) when the live epoch is no longer `expectedEpoch`: nothing becomes
   *   live; ServiceUnavailableError (503)
   */
  async setLiveModel(
    ws: string,
    functions: readonly FunctionSpec[],
    options: { expectedEpoch: number; context?: ChangeContext },
  ): Promise<{ epoch: number; snapshotId: string }> {
    const snapshot = await this.writePendingSnapshot(ws, functions);
    const epoch = options.expectedEpoch + 1;
    const now = this.#now().toISOString();
    const items: TransactItem[] = [
      this.#live.liveHeadItem(
        ws,
        { epoch, snapshotId: snapshot.snapshotId, functionCount: functions.length },
        now,
      ),
      this.pendingClearedItem(ws, snapshot),
    ];
    if (options.context !== undefined) {
      items.push(
        this.#audit.auditItem(ws, options.context, now, {
          action: 'live.set',
          target: 'functions',
          detail: { epoch, functionCount: functions.length },
        }),
      );
    }
    try {
      await transactWrite(this.#table.doc, items, async () => {
        const current = await this.#live.getLiveHead(ws);
        return new ConflictError(
          `the live epoch of workspace ${ws} is ${current.epoch}, not ${options.expectedEpoch}`,
          { currentEpoch: current.epoch },
        );
      });
    } catch (error) {
      await this.discardPendingSnapshot(ws, snapshot);
      throw error;
    }
    return { epoch, snapshotId: snapshot.snapshotId };
  }
}
