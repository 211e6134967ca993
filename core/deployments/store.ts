/**
 * The deployments' records in the config table (see docs/deployments.md, "Records"): the
 * deployment record and its log entry, the workspace lock, change and result items, epoch
 * items. Transactions that also touch drafts, the live head or the audit log are built from
 * these items and {@link ConfigStore}'s builders and run with `ConfigStore.transactWrite`.
 *
 * @module
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ValidationError } from '../errors.ts';
import { type BatchRequest, type BatchWriteOptions, batchWriteAll } from '../store/batch.ts';
import type { TransactItem } from '../store/config-store.ts';
import { translateUnavailable } from '../store/errors.ts';
import { queryAllByPrefix } from '../store/query.ts';
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
export interface DeploymentStoreOptions {
  /** A document client of the config table (`removeUndefinedValues: true`). */
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
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
 * Reads and writes deployment records. Every read is consistent. SDK errors that mean the
 * table is unavailable become `ServiceUnavailableError`; a failed condition of
 * {@link update} is answered `false`, for the caller to re-read and decide.
 */
export class DeploymentStore {
  readonly tableName: string;
  readonly #doc: DynamoDBDocumentClient;
  readonly #batchWrite: BatchWriteOptions;

  constructor(options: DeploymentStoreOptions) {
    this.tableName = options.tableName;
    this.#doc = options.doc;
    this.#batchWrite = options.batchWrite ?? {};
  }

  /** The deployment record, `undefined` when `ws` has no such deployment. */
  async get(ws: string, deploymentId: string): Promise<StoredDeployment | undefined> {
    const item = await this.#get(workspacePk(ws), deploymentSk(deploymentId));
    return item === undefined ? undefined : (strip(item) as unknown as StoredDeployment);
  }

  /** The workspace's deployment lock, `undefined` when free. */
  async getLock(ws: string): Promise<DeploymentLock | undefined> {
    const item = await this.#get(workspacePk(ws), lockSk);
    return item === undefined ? undefined : (strip(item) as unknown as DeploymentLock);
  }

  /** An epoch item, `undefined` when `ws` has no such epoch (e.g. a model set without a deployment). */
  async getEpoch(ws: string, epoch: number): Promise<EpochItem | undefined> {
    const item = await this.#get(workspacePk(ws), epochSk(epoch));
    return item === undefined ? undefined : (strip(item) as unknown as EpochItem);
  }

  /**
   * One page of the workspace's deployments, newest first (by request time).
   * @param options.limit records per page, 1–100 (checked by the caller) @default 25
   * @throws ValidationError (400, field `cursor`) for a cursor this store did not produce
   */
  async list(ws: string, options: { limit?: number; cursor?: string } = {}): Promise<DeploymentPage> {
    const startSk = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    const page = await this.#query({
      TableName: this.tableName,
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
    const items = await this.#queryAll(deploymentPk(ws, deploymentId), changeSkPrefix);
    return items.map(strip) as unknown as ChangeItem[];
  }

  /** Every result item of a deployment (all conductors, or one), by conductor then name. */
  async listResults(ws: string, deploymentId: string, conductor?: string): Promise<ResultItem[]> {
    const prefix = conductor === undefined ? 'RESULT#' : resultSkPrefix(conductor);
    const items = await this.#queryAll(deploymentPk(ws, deploymentId), prefix);
    // `conductor` and `name` are in the sort key (`RESULT#<conductor>#<name>`) whatever the item holds.
    return items.map((item) => {
      const [, conductor = '', ...name] = String(item.sk).split('#');
      return { ...strip(item), conductor, name: name.join('#') } as unknown as ResultItem;
    });
  }

  /**
   * Writes a deployment's change items (batch writes). Idempotent: the same changes write the
   * same items, so a crashed `begin` may simply run again.
   */
  async putChanges(ws: string, deploymentId: string, changes: readonly ChangeItem[]): Promise<void> {
    const pk = deploymentPk(ws, deploymentId);
    const requests: BatchRequest[] = changes.map((change) => ({
      PutRequest: { Item: { pk, sk: changeSk(change.name), ...change } },
    }));
    await batchWriteAll(this.#doc, this.tableName, requests, this.#batchWrite);
  }

  /**
   * Applies a conditional update to a deployment record.
   * @returns `false` when the condition failed (nothing changed)
   */
  async update(ws: string, deploymentId: string, change: RecordUpdate): Promise<boolean> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: workspacePk(ws), sk: deploymentSk(deploymentId) },
          UpdateExpression: change.update,
          ConditionExpression: change.condition,
          ...(change.names === undefined ? {} : { ExpressionAttributeNames: { ...change.names } }),
          ...(change.values === undefined ? {} : { ExpressionAttributeValues: { ...change.values } }),
        }),
      );
      return true;
    } catch (error) {
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw translateUnavailable(error, 'the config table');
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
          TableName: this.tableName,
          Item: { pk, sk: deploymentSk(record.deploymentId), ...stored },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      {
        Put: {
          TableName: this.tableName,
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
          TableName: this.tableName,
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
    return {
      Update: {
        TableName: this.tableName,
        Key: { pk: workspacePk(ws), sk: deploymentSk(deploymentId) },
        UpdateExpression: change.update,
        ConditionExpression: change.condition,
        ...(change.names === undefined ? {} : { ExpressionAttributeNames: { ...change.names } }),
        ...(change.values === undefined ? {} : { ExpressionAttributeValues: { ...change.values } }),
      },
    };
  }

  /** Transaction item: releases the workspace lock, conditional on `deploymentId` holding it. */
  releaseLockItem(ws: string, deploymentId: string): TransactItem {
    return {
      Delete: {
        TableName: this.tableName,
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
        TableName: this.tableName,
        Item: { pk: workspacePk(ws), sk: epochSk(epoch.epoch), ...epoch },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  /** Transaction item: checks that the live head is at `epoch` with snapshot `snapshotId`. */
  liveIsCheck(ws: string, epoch: number, snapshotId: string): TransactItem {
    return {
      ConditionCheck: {
        TableName: this.tableName,
        Key: { pk: workspacePk(ws), sk: 'LIVE' },
        ConditionExpression: '#e = :epoch AND #s = :snapshot',
        ExpressionAttributeNames: { '#e': 'epoch', '#s': 'snapshotId' },
        ExpressionAttributeValues: { ':epoch': epoch, ':snapshot': snapshotId },
      },
    };
  }

  // ------------------------------------------------------------ internals

  async #get(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
    try {
      const { Item } = await this.#doc.send(
        new GetCommand({ TableName: this.tableName, Key: { pk, sk }, ConsistentRead: true }),
      );
      return Item;
    } catch (error) {
      throw translateUnavailable(error, 'the config table');
    }
  }

  async #query(input: QueryCommandInput) {
    try {
      return await this.#doc.send(new QueryCommand(input));
    } catch (error) {
      throw translateUnavailable(error, 'the config table');
    }
  }

  async #queryAll(pk: string, prefix: string): Promise<Record<string, unknown>[]> {
    return queryAllByPrefix((input) => this.#query(input), this.tableName, pk, prefix);
  }
}

function strip(item: Record<string, unknown>): Record<string, unknown> {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest;
}

function encodeCursor(sk: string): string {
  return Buffer.from(JSON.stringify({ sk }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { sk?: unknown };
    if (typeof parsed.sk === 'string' && parsed.sk.startsWith(deploymentLogSkPrefix)) return parsed.sk;
  } catch {
    // falls through to the error below
  }
  throw new ValidationError([
    { field: 'cursor', message: 'is not a cursor from a previous page of this list' },
  ]);
}
