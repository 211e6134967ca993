/**
 * The deployments aggregate in the config table (see docs/deployments.md, "Records"): the
 * deployment record and its log entry, the workspace lock, the change set (`CHANGE#`), the
 * conductors' results (`RESULT#`) and the epoch items, with the transaction items they contribute.
 * Transactions that also touch drafts, the live head or the audit log are composed in
 * `transactions.ts`.
 *
 * @module
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  decodeCursor,
  encodeCursor,
  getItem,
  guardTable,
  queryPage,
  queryPrefix,
  withoutKeys,
} from '../store/access.ts';
import { type BatchRequest, type BatchWriteOptions, batchWriteAll } from '../store/batch.ts';
import type { ConfigTableOptions } from '../store/client.ts';
import { discardPending, markPending, pendingClearedItem } from '../store/garbage.ts';
import { isConditionFailed, type TransactItem } from '../store/transact.ts';
import {
  changeSk,
  changeSkPrefix,
  deploymentLogSk,
  deploymentLogSkPrefix,
  deploymentPk,
  deploymentSk,
  epochSk,
  lockSk,
  resultSkPrefix,
  workspacePk,
} from './keys.ts';
import type { ChangeItem, Deployment, DeploymentLock, EpochItem, ResultItem } from './types.ts';

/** Keys of the events a deployment publishes, recorded once published (see {@link StoredDeployment}). */
export type PublishedEventKey =
  | 'started'
  | 'vetoed'
  | 'aborted'
  | 'committed'
  | 'epochActivated'
  | 'commitIncomplete';

/** A deployment record as stored: the record plus which events were published, and when. */
export interface StoredDeployment extends Deployment {
  readonly events?: Readonly<Partial<Record<PublishedEventKey, string>>>;
}

/** One page of deployments, newest first. */
export interface DeploymentPage {
  readonly deployments: readonly StoredDeployment[];
  /** Opaque; pass back as `cursor` for the next page. Absent on the last page. */
  readonly nextCursor?: string;
}

/** Options of {@link DeploymentStore}. */
export interface DeploymentStoreOptions extends ConfigTableOptions {
  /** Tuning of the bulk writes of change items. @default - {@link batchWriteAll}'s defaults */
  readonly batchWrite?: BatchWriteOptions;
}

/** A conditional update, as {@link DeploymentStore.update} takes it. */
export interface RecordUpdate {
  /** `SET …` / `REMOVE …` expression. */
  readonly update: string;
  readonly condition: string;
  readonly names?: Readonly<Record<string, string>>;
  readonly values?: Readonly<Record<string, unknown>>;
}

/**
 * Reads and writes the deployments aggregate. Every read is consistent. SDK errors that mean the
 * table is unavailable become `ServiceUnavailableError` (503); a failed condition of
 * {@link update} is answered `false`, for the caller to re-read and decide.
 *
 * @example
 * const deployments = new DeploymentStore({ doc: createConfigTableDocumentClient(), tableName });
 * const record = await deployments.get('acme', deploymentId);
 */
export class DeploymentStore {
  readonly #table: ConfigTableOptions;
  readonly #batchWrite: BatchWriteOptions;

  constructor(options: DeploymentStoreOptions) {
    this.#table = { doc: options.doc, tableName: options.tableName };
    this.#batchWrite = options.batchWrite ?? {};
  }

  /** The deployment record, `undefined` when `ws` has no such deployment. */
  async get(ws: string, deploymentId: string): Promise<StoredDeployment | undefined> {
    return this.#get<StoredDeployment>(workspacePk(ws), deploymentSk(deploymentId));
  }

  /** The workspace's deployment lock, `undefined` when free. */
  async getLock(ws: string): Promise<DeploymentLock | undefined> {
    return this.#get<DeploymentLock>(workspacePk(ws), lockSk);
  }

  /** An epoch item, `undefined` when `ws` has no such epoch (e.g. a model set without a deployment). */
  async getEpoch(ws: string, epoch: number): Promise<EpochItem | undefined> {
    return this.#get<EpochItem>(workspacePk(ws), epochSk(epoch));
  }

  /**
   * One page of the workspace's deployments, newest first (by request time).
   * @param options.limit records per page, 1–100 (checked by the caller) @default 25
   * @throws ValidationError (400, field `cursor`) for a cursor this store did not produce
   */
  async list(ws: string, options: { limit?: number; cursor?: string } = {}): Promise<DeploymentPage> {
    const startSk =
      options.cursor === undefined
        ? undefined
        : decodeCursor(options.cursor, (sk) => sk.startsWith(deploymentLogSkPrefix));
    const page = await queryPage(this.#table, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': workspacePk(ws), ':prefix': deploymentLogSkPrefix },
      ScanIndexForward: false,
      ConsistentRead: true,
      Limit: options.limit ?? 25,
      ExclusiveStartKey: startSk === undefined ? undefined : { pk: workspacePk(ws), sk: startSk },
    });
    const ids = (page.Items ?? []).map((item) => item.deploymentId as string);
    const records = await Promise.all(ids.map((id) => this.get(ws, id)));
    const deployments = records.filter((r): r is StoredDeployment => r !== undefined);
    const lastSk = page.LastEvaluatedKey?.sk;
    return typeof lastSk === 'string' ? { deployments, nextCursor: encodeCursor(lastSk) } : { deployments };
  }

  /** Every change of a deployment, by name. */
  async listChanges(ws: string, deploymentId: string): Promise<ChangeItem[]> {
    const items = await queryPrefix(this.#table, deploymentPk(ws, deploymentId), changeSkPrefix);
    return items.map(withoutKeys) as unknown as ChangeItem[];
  }

  /** Every result item of a deployment (all conductors, or one), by conductor then name. */
  async listResults(ws: string, deploymentId: string, conductor?: string): Promise<ResultItem[]> {
    const prefix = conductor === undefined ? 'RESULT#' : resultSkPrefix(conductor);
    const items = await queryPrefix(this.#table, deploymentPk(ws, deploymentId), prefix);
    // `conductor` and `name` are in the sort key (`RESULT#<conductor>#<name>`) whatever the item holds.
    return items.map((item) => {
      const [, conductor = '', ...name] = String(item.sk).split('#');
      return { ...withoutKeys(item), conductor, name: name.join('#') } as unknown as ResultItem;
    });
  }

  /**
   * Writes a new deployment's change set (the plan made when it was requested) into its
   * partition, marked pending until the request's transaction references it
   * ({@link changeSetRecordedItem}); if that transaction does not happen, discard it with
   * {@link discardChangeSet}, or the garbage collector will. Idempotent for one deployment id.
   *
   * @param at ISO 8601 UTC
   * @throws ServiceUnavailableError (503)
   */
  async writeChangeSet(
    ws: string,
    deploymentId: string,
    changes: readonly ChangeItem[],
    at: string,
  ): Promise<void> {
    await markPending(this.#table, ws, deploymentPk(ws, deploymentId), at);
    await this.putChanges(ws, deploymentId, changes);
  }

  /** Transaction item: the change set of `deploymentId` belongs to a recorded deployment now. */
  changeSetRecordedItem(ws: string, deploymentId: string): TransactItem {
    return pendingClearedItem(this.#table.tableName, ws, deploymentPk(ws, deploymentId));
  }

  /** Best effort: deletes the change set of a deployment that was never recorded. */
  async discardChangeSet(ws: string, deploymentId: string): Promise<void> {
    await discardPending(this.#table, ws, deploymentPk(ws, deploymentId), this.#batchWrite);
  }

  /**
   * Writes change items (batch writes), overwriting items of the same names. Idempotent: the same
   * changes write the same items, so a crashed writer may simply run again.
   */
  async putChanges(ws: string, deploymentId: string, changes: readonly ChangeItem[]): Promise<void> {
    const pk = deploymentPk(ws, deploymentId);
    const requests: BatchRequest[] = changes.map((change) => ({
      PutRequest: { Item: { pk, sk: changeSk(change.name), ...change } },
    }));
    await batchWriteAll(this.#table.doc, this.#table.tableName, requests, this.#batchWrite);
  }

  /**
   * Applies a conditional update to a deployment record.
   * @returns `false` when the condition failed (nothing changed)
   * @throws ServiceUnavailableError (503)
   */
  async update(ws: string, deploymentId: string, change: RecordUpdate): Promise<boolean> {
    try {
      await guardTable(() =>
        this.#table.doc.send(new UpdateCommand(this.#updateInput(ws, deploymentId, change))),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  /** Records that event `key` of a deployment was published at `at` (first time only). */
  async markPublished(ws: string, deploymentId: string, key: PublishedEventKey, at: string): Promise<void> {
    await this.update(ws, deploymentId, {
      update: 'SET #events.#key = if_not_exists(#events.#key, :at)',
      condition: 'attribute_exists(pk)',
      names: { '#events': 'events', '#key': key },
      values: { ':at': at },
    });
  }

  // ------------------------------------------------------------ transaction items

  /** Transaction items of a new deployment: the record (new), its log entry, and the lock. */
  requestItems(record: Deployment): TransactItem[] {
    const pk = workspacePk(record.workspace);
    const stored: StoredDeployment = { ...record, events: {} };
    return [
      {
        Put: {
          TableName: this.#table.tableName,
          Item: { pk, sk: deploymentSk(record.deploymentId), ...stored },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      {
        Put: {
          TableName: this.#table.tableName,
          Item: {
            pk,
            sk: deploymentLogSk(record.phases.requestedAt, record.deploymentId),
            deploymentId: record.deploymentId,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      {
        Put: {
          TableName: this.#table.tableName,
          Item: { pk, sk: lockSk, deploymentId: record.deploymentId, acquiredAt: record.phases.requestedAt },
          ConditionExpression: 'attribute_not_exists(pk) OR #d = :deployment',
          ExpressionAttributeNames: { '#d': 'deploymentId' },
          ExpressionAttributeValues: { ':deployment': record.deploymentId },
        },
      },
    ];
  }

  /** Transaction item: a conditional update of a deployment record. */
  updateItem(ws: string, deploymentId: string, change: RecordUpdate): TransactItem {
    return { Update: this.#updateInput(ws, deploymentId, change) };
  }

  /** Transaction item: releases the workspace lock, conditional on `deploymentId` holding it. */
  releaseLockItem(ws: string, deploymentId: string): TransactItem {
    return {
      Delete: {
        TableName: this.#table.tableName,
        Key: { pk: workspacePk(ws), sk: lockSk },
        ConditionExpression: '#d = :deployment',
        ExpressionAttributeNames: { '#d': 'deploymentId' },
        ExpressionAttributeValues: { ':deployment': deploymentId },
      },
    };
  }

  /** Transaction item: the epoch item, written once. */
  epochItem(ws: string, epoch: EpochItem): TransactItem {
    return {
      Put: {
        TableName: this.#table.tableName,
        Item: { pk: workspacePk(ws), sk: epochSk(epoch.epoch), ...epoch },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  // ------------------------------------------------------------ internals

  async #get<T>(pk: string, sk: string): Promise<T | undefined> {
    const item = await getItem<Record<string, unknown>>(this.#table, pk, sk);
    return item === undefined ? undefined : (withoutKeys(item) as T);
  }

  #updateInput(ws: string, deploymentId: string, change: RecordUpdate) {
    return {
      TableName: this.#table.tableName,
      Key: { pk: workspacePk(ws), sk: deploymentSk(deploymentId) },
      UpdateExpression: change.update,
      ConditionExpression: change.condition,
      ...(change.names === undefined ? {} : { ExpressionAttributeNames: { ...change.names } }),
      ...(change.values === undefined ? {} : { ExpressionAttributeValues: { ...change.values } }),
    };
  }
}
