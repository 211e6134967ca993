import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import {
  ConflictError,
  type GrecoError,
  NotFoundError,
  PreconditionFailedError,
  ServiceUnavailableError,
  ValidationError,
} from '../errors.ts';
import { type FunctionSpec, Limits } from '../spec.ts';
import { type BatchRequest, type BatchWriteOptions, batchWriteAll } from './batch.ts';
import { translateUnavailable } from './errors.ts';
import {
  auditPk,
  draftSk,
  draftSkPrefix,
  functionSk,
  functionSkPrefix,
  garbageSk,
  garbageSkPrefix,
  liveSk,
  overlayEditSk,
  overlayEditSkPrefix,
  overlayPk,
  pendingSk,
  pendingSkPrefix,
  snapshotPk,
  workspacePk,
} from './keys.ts';
import { queryAllByPrefix } from './query.ts';
import type {
  Actor,
  AuditAction,
  AuditPage,
  AuditRecord,
  ChangeContext,
  Draft,
  DraftState,
  DraftSummary,
  ExpectedVersion,
  LiveModel,
} from './types.ts';

/** Options of {@link ConfigStore}. */
export interface ConfigStoreOptions {
  /** Client of the config table; build it with `createConfigTableClient()`. */
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Clock. @default - the system clock */
  readonly now?: () => Date;
  /** Source of draft, snapshot and overlay ids. @default - `crypto.randomUUID()` */
  readonly newId?: () => string;
  /** Tuning of the bulk writes of snapshot partitions. @default - {@link batchWriteAll}'s defaults */
  readonly batchWrite?: BatchWriteOptions;
}

/** Options of {@link ConfigStore.collectGarbage}. */
export interface CollectGarbageOptions {
  /**
   * Age after which a partition still marked pending is an orphan of a crashed write, in
   * milliseconds. @default 1800000 (30 minutes: twice Lambda's 900-second maximum timeout, so no
   * running writer can still own it)
   */
  readonly pendingGraceMs?: number;
}

/** What {@link ConfigStore.collectGarbage} removed. */
export interface GarbageCollected {
  readonly partitions: number;
  readonly items: number;
}

/** Ids (draft ids, function names) that can appear in a key: anything else cannot exist. */
const keySafeId = /^[A-Za-z0-9_-]{1,128}$/;

/** Bounded retries when a read sees the head move, or a transaction meets a concurrent one. */
const maxConsistencyRetries = 5;

/** The live head item (`WS#<ws>`, `LIVE`). */
interface LiveHeadItem {
  readonly epoch: number;
  readonly snapshotId: string;
  readonly functionCount: number;
  readonly updatedAt: string;
}

/** A draft head item (`WS#<ws>`, `DRAFT#<id>`). */
interface DraftHeadItem {
  readonly draftId: string;
  readonly version: number;
  readonly state: DraftState;
  /** The deployment that froze or deployed the draft; absent while open. */
  readonly deploymentId?: string;
  readonly baseSnapshotId?: string;
  /** True when the base snapshot was written for this draft (it is garbage once superseded). */
  readonly baseOwned: boolean;
  readonly baseEpoch: number;
  readonly overlayId: string;
  readonly functionCount: number;
  readonly createdAt: string;
  readonly createdBy: Actor;
  readonly updatedAt: string;
  readonly updatedBy: Actor;
}

/** One item of a snapshot or overlay partition. */
interface FunctionItem {
  readonly name: string;
  /** Overlay items only: the draft version this edit made. */
  readonly version?: number;
  /** The spec as JSON text, so it round-trips exactly. Absent on a tombstone. */
  readonly spec?: string;
  /** Overlay tombstone: the function is removed from the draft. */
  readonly deleted?: boolean;
}

/** A snapshot partition written but not yet referenced by a head. */
interface WrittenSnapshot {
  readonly snapshotId: string;
  readonly partition: string;
}

/** One item of a TransactWriteItems call (document-client shape), as the builders below return them. */
export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/**
 * greco's config store on one DynamoDB table: live models, drafts and the audit log of every
 * workspace, in the layout described in `keys.ts`.
 *
 * A model is a partition of one item per function; which partition is visible is switched by a
 * head item (copy-on-write), so a 5,000-function model (more than DynamoDB's 400 KB item quota)
 * changes atomically although DynamoDB transactions take at most 100 items:
 * - whole-model writes write a new snapshot partition first (marked by a `PENDING#` record), then
 *   swing the head in one transaction with the audit record; superseded partitions get a
 *   `GARBAGE#` record and are deleted afterwards, best effort ({@link collectGarbage} finishes);
 * - single-function edits write one overlay item, the head and the audit record in one transaction;
 * - every read is consistent, re-reads the head and retries if it moved, so it never mixes versions.
 *
 * SDK errors are translated here: a stale version → {@link PreconditionFailedError}, a missing
 * draft → {@link NotFoundError}, a frozen draft → {@link ConflictError}, an unreachable or
 * throttled table → {@link ServiceUnavailableError}.
 *
 * @example
 * const store = new ConfigStore({ client: createConfigTableClient(), tableName });
 * const draft = await store.createDraft('acme', { actor: { sub: 'u1' }, requestId: 'r1' });
 */
export class ConfigStore {
  readonly tableName: string;
  readonly #doc: DynamoDBDocumentClient;
  readonly #now: () => Date;
  readonly #newId: () => string;
  readonly #batchWrite: BatchWriteOptions;
  #lastAuditAt = '';
  #auditSequence = 0;

  constructor(options: ConfigStoreOptions) {
    this.tableName = options.tableName;
    this.#doc = DynamoDBDocumentClient.from(options.client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.#now = options.now ?? (() => new Date());
    this.#newId = options.newId ?? (() => crypto.randomUUID());
    this.#batchWrite = options.batchWrite ?? {};
  }

  // ---------------------------------------------------------------- live model

  /** The live model of `ws`: epoch 0 and no functions until a deployment commits. */
  async getLiveModel(ws: string): Promise<LiveModel> {
    for (let attempt = 0; attempt < maxConsistencyRetries; attempt++) {
      const head = await this.#getLiveHead(ws);
      if (head === undefined) return { epoch: 0, functions: [] };
      const items = await this.#queryFunctions(snapshotPk(ws, head.snapshotId));
      // Snapshots are immutable once referenced; the re-read only guards against a head that
      // moved to a new epoch while the partition was read.
      const again = await this.#getLiveHead(ws);
      if (again?.snapshotId === head.snapshotId) {
        return { epoch: head.epoch, snapshotId: head.snapshotId, functions: specsOf(items) };
      }
    }
    throw new ServiceUnavailableError('the live model is changing too fast to be read consistently', 1);
  }

  /** The live epoch of `ws` and one of its functions (`undefined` when the model has none by that name). */
  async getLiveFunction(ws: string, name: string): Promise<{ epoch: number; function?: FunctionSpec }> {
    const head = await this.#getLiveHead(ws);
    if (head === undefined || !keySafeId.test(name)) return { epoch: head?.epoch ?? 0 };
    const item = await this.#get<FunctionItem>(snapshotPk(ws, head.snapshotId), functionSk(name));
    return item?.spec === undefined
      ? { epoch: head.epoch }
      : { epoch: head.epoch, function: JSON.parse(item.spec) as FunctionSpec };
  }

  /**
   * Makes `functions` the live model of `ws` at epoch `expectedEpoch + 1`: writes a snapshot,
   * then moves the live head, conditional on the epoch still being `expectedEpoch`. Used by
   * tests to seed live models and by the deployment's commit.
   *
   * @param options.expectedEpoch the epoch the caller read (0 when there is no live model yet)
   * @param options.context when given, an audit record `live.set` is written with the change
   * @throws ConflictError (409) when the live epoch is no longer `expectedEpoch`; nothing becomes live
   */
  async setLiveModel(
    ws: string,
    functions: readonly FunctionSpec[],
    options: { expectedEpoch: number; context?: ChangeContext },
  ): Promise<{ epoch: number; snapshotId: string }> {
    const snapshot = await this.#writeSnapshot(ws, functions);
    const epoch = options.expectedEpoch + 1;
    const now = this.#now().toISOString();
    const head: LiveHeadItem = {
      epoch,
      snapshotId: snapshot.snapshotId,
      functionCount: functions.length,
      updatedAt: now,
    };
    const items: TransactItem[] = [
      {
        Put: {
          TableName: this.tableName,
          Item: { pk: workspacePk(ws), sk: liveSk, ...head },
          ...(options.expectedEpoch === 0
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: '#epoch = :expected',
                ExpressionAttributeNames: { '#epoch': 'epoch' },
                ExpressionAttributeValues: { ':expected': options.expectedEpoch },
              }),
        },
      },
      this.#deleteItem(workspacePk(ws), pendingSk(snapshot.partition)),
    ];
    if (options.context !== undefined) {
      items.push(
        this.#auditPut(ws, options.context, now, {
          action: 'live.set',
          target: 'functions',
          detail: { epoch, functionCount: functions.length },
        }),
      );
    }
    try {
      await this.#transact(items, async () => {
        const current = await this.#getLiveHead(ws);
        return new ConflictError(
          `the live epoch of workspace ${ws} is ${current?.epoch ?? 0}, not ${options.expectedEpoch}`,
          { currentEpoch: current?.epoch ?? 0 },
        );
      });
    } catch (error) {
      await this.#discardSnapshot(ws, snapshot);
      throw error;
    }
    return { epoch, snapshotId: snapshot.snapshotId };
  }

  // ---------------------------------------------------------------- drafts: reads

  /** Every draft of `ws` (metadata only), oldest first. */
  async listDrafts(ws: string): Promise<DraftSummary[]> {
    const heads: DraftHeadItem[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#query({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': workspacePk(ws), ':prefix': draftSkPrefix },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      });
      heads.push(...((page.Items ?? []) as DraftHeadItem[]));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return heads
      .map(summaryOf)
      .sort((a, b) => compare(a.createdAt, b.createdAt) || compare(a.draftId, b.draftId));
  }

  /**
   * A draft's metadata. @throws NotFoundError (404) when `ws` has no such draft (drafts of other
   * workspaces included: they are simply not there)
   */
  async getDraftSummary(ws: string, draftId: string): Promise<DraftSummary> {
    return summaryOf(await this.#requireDraftHead(ws, draftId));
  }

  /**
   * A draft with its whole model (base snapshot ⊕ overlay), all read at one version.
   * @throws NotFoundError (404) when `ws` has no such draft
   */
  async getDraft(ws: string, draftId: string): Promise<Draft> {
    for (let attempt = 0; attempt < maxConsistencyRetries; attempt++) {
      const head = await this.#requireDraftHead(ws, draftId);
      const [base, overlay] = await Promise.all([
        head.baseSnapshotId === undefined
          ? Promise.resolve([])
          : this.#queryFunctions(snapshotPk(ws, head.baseSnapshotId)),
        this.#queryFunctions(overlayPk(ws, draftId, head.overlayId)),
      ]);
      // Edits newer than `head` are skipped by version, so single-function edits made during the
      // read are harmless; only a whole-model write (new base and overlay, the old ones deleted)
      // can spoil it, and then the read starts over.
      const again = await this.#requireDraftHead(ws, draftId);
      if (again.overlayId === head.overlayId && again.baseSnapshotId === head.baseSnapshotId) {
        return { ...summaryOf(head), functions: mergeModel(base, overlay, head.version) };
      }
    }
    throw new ServiceUnavailableError(`draft ${draftId} is changing too fast to be read consistently`, 1);
  }

  /**
   * Checks, without writing, that a draft exists, is open and is at `expected`: lets a handler
   * fail fast before costly work (uploading code). The write itself checks again, atomically.
   * @throws NotFoundError (404), ConflictError (409, frozen), PreconditionFailedError (412)
   */
  async assertEditable(ws: string, draftId: string, expected: ExpectedVersion): Promise<DraftSummary> {
    const head = await this.#requireDraftHead(ws, draftId);
    this.#checkEditable(head, expected);
    return summaryOf(head);
  }

  // ---------------------------------------------------------------- drafts: writes

  /**
   * Creates a draft of `ws`: a copy of the live model when `functions` is undefined (O(1): the
   * draft is based on the live snapshot, nothing is copied), else exactly `functions` (validated
   * by the caller, names unique). Records `draft.create`.
   */
  async createDraft(
    ws: string,
    context: ChangeContext,
    functions?: readonly FunctionSpec[],
  ): Promise<DraftSummary> {
    const live = await this.#getLiveHead(ws);
    const snapshot = functions === undefined ? undefined : await this.#writeSnapshot(ws, functions);
    const now = this.#now().toISOString();
    const draftId = this.#newId();
    const head: DraftHeadItem = {
      draftId,
      version: 1,
      state: 'open',
      baseSnapshotId: snapshot?.snapshotId ?? live?.snapshotId,
      baseOwned: snapshot !== undefined,
      baseEpoch: live?.epoch ?? 0,
      overlayId: this.#newId(),
      functionCount: functions?.length ?? live?.functionCount ?? 0,
      createdAt: now,
      createdBy: context.actor,
      updatedAt: now,
      updatedBy: context.actor,
    };
    const items: TransactItem[] = [
      {
        Put: {
          TableName: this.tableName,
          Item: { pk: workspacePk(ws), sk: draftSk(draftId), ...head },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      this.#auditPut(ws, context, now, {
        action: 'draft.create',
        target: `drafts/${draftId}`,
        draftId,
        detail: {
          version: 1,
          functionCount: head.functionCount,
          baseEpoch: head.baseEpoch,
          source: functions === undefined ? 'live' : 'body',
        },
      }),
    ];
    if (snapshot !== undefined) items.push(this.#deleteItem(workspacePk(ws), pendingSk(snapshot.partition)));
    try {
      await this.#transact(items, async () => new ConflictError(`draft id ${draftId} is already taken`));
    } catch (error) {
      if (snapshot !== undefined) await this.#discardSnapshot(ws, snapshot);
      throw error;
    }
    return summaryOf(head);
  }

  /**
   * Replaces a draft's whole model with `functions`, if the draft is still at `expected`
   * (`'*'`: any version). Writes a new snapshot, then swings the head to it with a fresh empty
   * overlay in one transaction; a failure anywhere leaves the draft exactly as it was. Records
   * `draft.replace`.
   *
   * @throws NotFoundError (404) no such draft; PreconditionFailedError (412) the draft moved past
   *   `expected`; ConflictError (409) the draft is frozen; ServiceUnavailableError (503)
   */
  async replaceDraft(
    ws: string,
    draftId: string,
    functions: readonly FunctionSpec[],
    expected: ExpectedVersion,
    context: ChangeContext,
  ): Promise<DraftSummary> {
    this.#checkEditable(await this.#requireDraftHead(ws, draftId), expected);
    const snapshot = await this.#writeSnapshot(ws, functions);
    let edited: { head: DraftHeadItem; garbage: string[] };
    try {
      edited = await this.#editDraft(ws, draftId, expected, async (current, now) => {
        const next: DraftHeadItem = {
          ...current,
          version: current.version + 1,
          baseSnapshotId: snapshot.snapshotId,
          baseOwned: true,
          overlayId: this.#newId(),
          functionCount: functions.length,
          updatedAt: now,
          updatedBy: context.actor,
        };
        const garbage = ownedPartitions(ws, current);
        return {
          head: next,
          garbage,
          items: [
            this.#putHead(ws, next, current.version),
            this.#deleteItem(workspacePk(ws), pendingSk(snapshot.partition)),
            ...garbage.map((partition) => this.#garbagePut(ws, partition, now)),
            this.#auditPut(ws, context, now, {
              action: 'draft.replace',
              target: `drafts/${draftId}`,
              draftId,
              detail: { version: next.version, functionCount: functions.length },
            }),
          ],
        };
      });
    } catch (error) {
      await this.#discardSnapshot(ws, snapshot);
      throw error;
    }
    await this.#collectPartitions(ws, edited.garbage);
    return summaryOf(edited.head);
  }

  /**
   * Sets one function of a draft (creates or replaces it), if the draft is still at `expected`.
   * One transaction: overlay item, head, audit record `draft.function.put`.
   *
   * @returns the draft's new metadata, and whether the function is new to the draft
   * @throws NotFoundError, PreconditionFailedError, ConflictError (frozen, or the model would
   *   exceed {@link Limits.maxFunctionsPerWorkspace}), ServiceUnavailableError
   */
  async putDraftFunction(
    ws: string,
    draftId: string,
    spec: FunctionSpec,
    expected: ExpectedVersion,
    context: ChangeContext,
  ): Promise<{ draft: DraftSummary; created: boolean }> {
    let created = false;
    const { head } = await this.#editDraft(ws, draftId, expected, async (current, now) => {
      const exists = await this.#draftHasFunction(ws, current, spec.name);
      created = !exists;
      const functionCount = current.functionCount + (exists ? 0 : 1);
      if (functionCount > Limits.maxFunctionsPerWorkspace) {
        throw new ConflictError(
          `draft ${draftId} already has ${current.functionCount} functions, the most a workspace may have`,
          { limit: Limits.maxFunctionsPerWorkspace },
        );
      }
      const next: DraftHeadItem = {
        ...current,
        version: current.version + 1,
        functionCount,
        updatedAt: now,
        updatedBy: context.actor,
      };
      const item: FunctionItem = { name: spec.name, version: next.version, spec: JSON.stringify(spec) };
      return {
        head: next,
        garbage: [],
        items: [
          this.#putHead(ws, next, current.version),
          this.#putOverlayEdit(ws, draftId, current.overlayId, next.version, item),
          this.#auditPut(ws, context, now, {
            action: 'draft.function.put',
            target: `drafts/${draftId}/functions/${spec.name}`,
            draftId,
            detail: { version: next.version, created: !exists },
          }),
        ],
      };
    });
    return { draft: summaryOf(head), created };
  }

  /**
   * Removes one function from a draft (an overlay tombstone), if the draft is still at
   * `expected`. One transaction: tombstone, head, audit record `draft.function.delete`.
   *
   * @throws NotFoundError (no such draft, or no such function in it), PreconditionFailedError,
   *   ConflictError (frozen), ServiceUnavailableError
   */
  async deleteDraftFunction(
    ws: string,
    draftId: string,
    name: string,
    expected: ExpectedVersion,
    context: ChangeContext,
  ): Promise<DraftSummary> {
    const { head } = await this.#editDraft(ws, draftId, expected, async (current, now) => {
      if (!(await this.#draftHasFunction(ws, current, name))) {
        throw new NotFoundError(`draft ${draftId} has no function named ${name}`);
      }
      const next: DraftHeadItem = {
        ...current,
        version: current.version + 1,
        functionCount: current.functionCount - 1,
        updatedAt: now,
        updatedBy: context.actor,
      };
      const tombstone: FunctionItem = { name, version: next.version, deleted: true };
      return {
        head: next,
        garbage: [],
        items: [
          this.#putHead(ws, next, current.version),
          this.#putOverlayEdit(ws, draftId, current.overlayId, next.version, tombstone),
          this.#auditPut(ws, context, now, {
            action: 'draft.function.delete',
            target: `drafts/${draftId}/functions/${name}`,
            draftId,
            detail: { version: next.version },
          }),
        ],
      };
    });
    return summaryOf(head);
  }

  /**
   * Discards a draft: deletes its head, marks its own partitions as garbage and records
   * `draft.delete`, in one transaction; then deletes the partitions, best effort.
   *
   * @param expected the version the caller read, or `'*'`/`undefined` for any
   * @throws NotFoundError, PreconditionFailedError, ConflictError (frozen), ServiceUnavailableError
   */
  async deleteDraft(
    ws: string,
    draftId: string,
    expected: ExpectedVersion | undefined,
    context: ChangeContext,
  ): Promise<void> {
    const { garbage } = await this.#editDraft(ws, draftId, expected ?? '*', async (current, now) => {
      const garbage = ownedPartitions(ws, current);
      return {
        head: current,
        garbage,
        items: [
          {
            Delete: {
              TableName: this.tableName,
              Key: { pk: workspacePk(ws), sk: draftSk(draftId) },
              ConditionExpression: '#v = :expected AND #s = :open',
              ExpressionAttributeNames: { '#v': 'version', '#s': 'state' },
              ExpressionAttributeValues: { ':expected': current.version, ':open': 'open' },
            },
          },
          ...garbage.map((partition) => this.#garbagePut(ws, partition, now)),
          this.#auditPut(ws, context, now, {
            action: 'draft.delete',
            target: `drafts/${draftId}`,
            draftId,
            detail: { version: current.version, functionCount: current.functionCount },
          }),
        ],
      };
    });
    await this.#collectPartitions(ws, garbage);
  }

  // ---------------------------------------------------------------- audit

  /**
   * One page of the audit log of `ws`, newest first.
   *
   * @param options.limit records per page, 1–1000 (checked by the caller) @default 50
   * @param options.cursor `nextCursor` of the previous page
   * @throws ValidationError (field `cursor`) for a cursor this store did not produce
   */
  async listAudit(ws: string, options: { limit?: number; cursor?: string } = {}): Promise<AuditPage> {
    const startSk = options.cursor === undefined ? undefined : decodeAuditCursor(options.cursor);
    const page = await this.#query({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': auditPk(ws) },
      ScanIndexForward: false,
      ConsistentRead: true,
      Limit: options.limit ?? 50,
      // The cursor carries only the sort key: the partition is always the caller's own.
      ExclusiveStartKey: startSk === undefined ? undefined : { pk: auditPk(ws), sk: startSk },
    });
    const records = (page.Items ?? []).map(({ pk: _pk, sk: _sk, ...record }) => record as AuditRecord);
    const lastSk = page.LastEvaluatedKey?.sk;
    return typeof lastSk === 'string' ? { records, nextCursor: encodeAuditCursor(lastSk) } : { records };
  }

  // ---------------------------------------------------------------- deployments

  /**
   * The live head of `ws` without its functions: epoch 0 (no `snapshotId`) before any commit.
   * One consistent read.
   */
  async getLiveHead(ws: string): Promise<{ epoch: number; snapshotId?: string; functionCount: number }> {
    const head = await this.#getLiveHead(ws);
    return head === undefined
      ? { epoch: 0, functionCount: 0 }
      : { epoch: head.epoch, snapshotId: head.snapshotId, functionCount: head.functionCount };
  }

  /**
   * Writes `functions` into the snapshot partition `snapshotId` (batch writes, no head moves).
   * Idempotent: the same id and functions write the same items, so a crashed writer may simply
   * run again. Used by deployments, whose snapshot id is the deployment id; nothing references
   * the partition until the deployment's epoch is written ({@link liveHeadItem}), and an aborted
   * deployment marks it garbage ({@link snapshotGarbageItem}).
   */
  async writeSnapshotPartition(
    ws: string,
    snapshotId: string,
    functions: readonly FunctionSpec[],
  ): Promise<void> {
    const partition = snapshotPk(ws, snapshotId);
    const requests: BatchRequest[] = functions.map((spec) => ({
      PutRequest: {
        Item: { pk: partition, sk: functionSk(spec.name), name: spec.name, spec: JSON.stringify(spec) },
      },
    }));
    await batchWriteAll(this.#doc, this.tableName, requests, this.#batchWrite);
  }

  /** The functions of snapshot partition `snapshotId`, sorted by name (consistent read, all pages). */
  async readSnapshotPartition(ws: string, snapshotId: string): Promise<FunctionSpec[]> {
    return specsOf(await this.#queryFunctions(snapshotPk(ws, snapshotId)));
  }

  /**
   * Transaction item: freezes an open draft at `version` for `deploymentId` (state open →
   * frozen). The draft's version does not change: freezing is not an edit of the model.
   * Fails its condition when the draft is gone, not open, or not at `version`.
   */
  freezeDraftItem(ws: string, draftId: string, version: number, deploymentId: string): TransactItem {
    return {
      Update: {
        TableName: this.tableName,
        Key: { pk: workspacePk(ws), sk: draftSk(draftId) },
        UpdateExpression: 'SET #s = :frozen, #d = :deployment',
        ConditionExpression: '#v = :version AND #s = :open',
        ExpressionAttributeNames: { '#s': 'state', '#d': 'deploymentId', '#v': 'version' },
        ExpressionAttributeValues: {
          ':frozen': 'frozen',
          ':open': 'open',
          ':deployment': deploymentId,
          ':version': version,
        },
      },
    };
  }

  /**
   * Transaction item: ends a draft's deployment: frozen → `deployed` (committed; the draft
   * stays tied to `deploymentId`) or → `open` (aborted or vetoed; edits are accepted again).
   * Fails its condition unless the draft is frozen by `deploymentId`.
   */
  releaseDraftItem(ws: string, draftId: string, deploymentId: string, to: 'open' | 'deployed'): TransactItem {
    return {
      Update: {
        TableName: this.tableName,
        Key: { pk: workspacePk(ws), sk: draftSk(draftId) },
        UpdateExpression: to === 'open' ? 'SET #s = :to REMOVE #d' : 'SET #s = :to',
        ConditionExpression: '#s = :frozen AND #d = :deployment',
        ExpressionAttributeNames: { '#s': 'state', '#d': 'deploymentId' },
        ExpressionAttributeValues: { ':to': to, ':frozen': 'frozen', ':deployment': deploymentId },
      },
    };
  }

  /**
   * Transaction item: moves the live head of `ws` to `epoch` and `snapshotId`, conditional on
   * the live epoch being `epoch - 1` (no live head at all for epoch 1).
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
        TableName: this.tableName,
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

  /** Transaction item: marks snapshot partition `snapshotId` as garbage, for {@link collectGarbage}. */
  snapshotGarbageItem(ws: string, snapshotId: string, at: string): TransactItem {
    return this.#garbagePut(ws, snapshotPk(ws, snapshotId), at);
  }

  /** Transaction item: an append-only audit record of `ws` (it can never overwrite one). */
  auditItem(
    ws: string,
    context: ChangeContext,
    at: string,
    entry: Pick<AuditRecord, 'action' | 'target' | 'detail'> & { draftId?: string },
  ): TransactItem {
    return this.#auditPut(ws, context, at, entry);
  }

  /**
   * Runs one TransactWriteItems of items built by this store's builders (and the caller's own
   * items on the same table). A condition failure calls `onCondition` for the error to throw
   * (`undefined`: the transaction's effect is already there, nothing is thrown); concurrent
   * transactions are retried a few times; an unavailable table throws ServiceUnavailableError.
   */
  async transactWrite(
    items: readonly TransactItem[],
    onCondition: () => Promise<Error | undefined>,
  ): Promise<void> {
    let failure: Error | undefined;
    await this.#transact([...items], async () => {
      failure = await onCondition();
      return undefined;
    });
    if (failure !== undefined) throw failure;
  }

  // ---------------------------------------------------------------- garbage

  /**
   * Deletes the partitions of `ws` that are marked garbage, and the partitions still marked
   * pending after `pendingGraceMs` (orphans of writes that crashed before their transaction),
   * each with its marker record. Safe to run at any time and concurrently with writes: a
   * marked partition is never referenced by a head.
   */
  async collectGarbage(ws: string, options: CollectGarbageOptions = {}): Promise<GarbageCollected> {
    const grace = options.pendingGraceMs ?? 30 * 60 * 1000;
    const cutoff = new Date(this.#now().getTime() - grace).toISOString();
    let partitions = 0;
    let items = 0;
    for (const prefix of [garbageSkPrefix, pendingSkPrefix]) {
      const markers = await this.#queryAll<{ sk: string; partition: string; createdAt: string }>(
        workspacePk(ws),
        prefix,
      );
      for (const marker of markers) {
        if (prefix === pendingSkPrefix && marker.createdAt > cutoff) continue;
        items += await this.#deletePartition(marker.partition);
        await this.#delete(workspacePk(ws), marker.sk);
        partitions++;
      }
    }
    return { partitions, items };
  }

  // ---------------------------------------------------------------- internals

  /** Runs one SDK call, translating transient failures into {@link ServiceUnavailableError}. */
  async #guard<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw translateUnavailable(error, 'the config table');
    }
  }

  async #query(input: QueryCommandInput): Promise<QueryCommandOutput> {
    return this.#guard(() => this.#doc.send(new QueryCommand(input)));
  }

  async #delete(pk: string, sk: string): Promise<void> {
    await this.#guard(() =>
      this.#doc.send(new DeleteCommand({ TableName: this.tableName, Key: { pk, sk } })),
    );
  }

  async #get<T>(pk: string, sk: string): Promise<T | undefined> {
    const { Item } = await this.#guard(() =>
      this.#doc.send(new GetCommand({ TableName: this.tableName, Key: { pk, sk }, ConsistentRead: true })),
    );
    return Item as T | undefined;
  }

  async #getLiveHead(ws: string): Promise<LiveHeadItem | undefined> {
    return this.#get<LiveHeadItem>(workspacePk(ws), liveSk);
  }

  async #requireDraftHead(ws: string, draftId: string): Promise<DraftHeadItem> {
    const head = keySafeId.test(draftId)
      ? await this.#get<DraftHeadItem>(workspacePk(ws), draftSk(draftId))
      : undefined;
    if (head === undefined) throw new NotFoundError(`there is no draft ${draftId} in this workspace`);
    return head;
  }

  /** Every item of a partition whose sort key starts with `prefix`, consistently read, all pages. */
  async #queryAll<T>(pk: string, prefix: string): Promise<T[]> {
    return queryAllByPrefix<T>((input) => this.#query(input), this.tableName, pk, prefix);
  }

  async #queryFunctions(pk: string): Promise<FunctionItem[]> {
    return this.#queryAll<FunctionItem>(pk, functionSkPrefix);
  }

  /** Whether the draft's model (base ⊕ overlay) has a function `name`. */
  async #draftHasFunction(ws: string, head: DraftHeadItem, name: string): Promise<boolean> {
    const [edit, base] = await Promise.all([
      this.#latestEdit(ws, head, name),
      head.baseSnapshotId === undefined
        ? Promise.resolve(undefined)
        : this.#get<FunctionItem>(snapshotPk(ws, head.baseSnapshotId), functionSk(name)),
    ]);
    if (edit !== undefined) return edit.deleted !== true;
    return base !== undefined;
  }

  /** The newest overlay edit of function `name` in the draft, if any. */
  async #latestEdit(ws: string, head: DraftHeadItem, name: string): Promise<FunctionItem | undefined> {
    const page = await this.#query({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: {
        ':pk': overlayPk(ws, head.draftId, head.overlayId),
        ':prefix': overlayEditSkPrefix(name),
      },
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    });
    return page.Items?.[0] as FunctionItem | undefined;
  }

  /** Throws the error an edit of `head` at `expected` deserves, if any. */
  #checkEditable(head: DraftHeadItem, expected: ExpectedVersion): void {
    if (head.state !== 'open') {
      const why =
        head.state === 'deployed'
          ? `deployed (by ${head.deploymentId ?? 'a deployment'}): create a new draft to change the model`
          : `frozen (being deployed by ${head.deploymentId ?? 'a deployment'})`;
      throw new ConflictError(`draft ${head.draftId} is ${why} and cannot change`, {
        state: head.state,
        ...(head.deploymentId === undefined ? {} : { deploymentId: head.deploymentId }),
      });
    }
    if (!versionMatches(head.version, expected)) {
      throw new PreconditionFailedError(
        `draft ${head.draftId} is at version ${head.version}, not the version you read: read it again`,
        { currentETag: `"${head.version}"` },
      );
    }
  }

  /**
   * The read-check-transact loop of every draft edit: reads the head, checks it against
   * `expected`, lets `build` compute the transaction from it, and runs it conditional on the
   * version read. A lost race answers 412, or, for `'*'`, starts over (bounded).
   */
  async #editDraft(
    ws: string,
    draftId: string,
    expected: ExpectedVersion,
    build: (
      current: DraftHeadItem,
      now: string,
    ) => Promise<{ head: DraftHeadItem; garbage: string[]; items: TransactItem[] }>,
  ): Promise<{ head: DraftHeadItem; garbage: string[] }> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.#requireDraftHead(ws, draftId);
      this.#checkEditable(current, expected);
      const { head, garbage, items } = await build(current, this.#now().toISOString());
      let retry = false;
      await this.#transact(items, async () => {
        const latest = await this.#requireDraftHead(ws, draftId);
        this.#checkEditable(latest, expected);
        // `expected` is '*' and the draft moved on between our read and our write: read again.
        if (attempt + 1 < maxConsistencyRetries) {
          retry = true;
          return undefined;
        }
        return new ServiceUnavailableError(`draft ${draftId} is changing too fast to edit`, 1);
      });
      if (!retry) return { head, garbage };
    }
  }

  /** A Put of a draft head, conditional on the head still being at `readVersion` and open. */
  /** One overlay edit (a spec or a tombstone), written once: edits are never overwritten. */
  #putOverlayEdit(
    ws: string,
    draftId: string,
    overlayId: string,
    version: number,
    edit: FunctionItem,
  ): TransactItem {
    return {
      Put: {
        TableName: this.tableName,
        Item: { pk: overlayPk(ws, draftId, overlayId), sk: overlayEditSk(edit.name, version), ...edit },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  #putHead(ws: string, head: DraftHeadItem, readVersion: number): TransactItem {
    return {
      Put: {
        TableName: this.tableName,
        Item: { pk: workspacePk(ws), sk: draftSk(head.draftId), ...head },
        ConditionExpression: '#v = :read AND #s = :open',
        ExpressionAttributeNames: { '#v': 'version', '#s': 'state' },
        ExpressionAttributeValues: { ':read': readVersion, ':open': 'open' },
      },
    };
  }

  #deleteItem(pk: string, sk: string): TransactItem {
    return { Delete: { TableName: this.tableName, Key: { pk, sk } } };
  }

  #garbagePut(ws: string, partition: string, now: string): TransactItem {
    return {
      Put: {
        TableName: this.tableName,
        Item: { pk: workspacePk(ws), sk: garbageSk(partition), partition, createdAt: now },
      },
    };
  }

  /** An append-only audit Put: it can never overwrite a record. */
  #auditPut(
    ws: string,
    context: ChangeContext,
    at: string,
    entry: Pick<AuditRecord, 'action' | 'target' | 'detail'> & { draftId?: string },
  ): TransactItem {
    const record: AuditRecord & { action: AuditAction } = {
      at,
      actor: context.actor,
      action: entry.action,
      target: entry.target,
      ...(entry.draftId === undefined ? {} : { draftId: entry.draftId }),
      requestId: context.requestId,
      result: 'succeeded',
      detail: entry.detail,
    };
    return {
      Put: {
        TableName: this.tableName,
        Item: { pk: auditPk(ws), sk: this.#auditSk(at), ...record },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  /**
   * Sort key of an audit record: its time, then a sequence number that keeps this store's own
   * records of one millisecond in order, then a random part that keeps concurrent writers'
   * keys apart (`attribute_not_exists` makes a collision fail rather than overwrite).
   */
  #auditSk(at: string): string {
    this.#auditSequence = at === this.#lastAuditAt ? this.#auditSequence + 1 : 0;
    this.#lastAuditAt = at;
    return `${at}#${String(this.#auditSequence).padStart(6, '0')}-${crypto.randomUUID()}`;
  }

  /**
   * Runs one TransactWriteItems. A transaction cancelled by a condition check calls `onCondition`
   * for the error to throw (`undefined`: the caller retries); one cancelled by a concurrent
   * transaction (TransactionConflict) is retried here, a few times with backoff.
   */
  async #transact(items: TransactItem[], onCondition: () => Promise<GrecoError | undefined>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#doc.send(new TransactWriteCommand({ TransactItems: items }));
        return;
      } catch (error) {
        const codes = cancellationCodes(error);
        if (codes.includes('ConditionalCheckFailed')) {
          const translated = await onCondition();
          if (translated === undefined) return;
          throw translated;
        }
        if (codes.includes('TransactionConflict') && attempt < maxConsistencyRetries) {
          await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt * Math.random()));
          continue;
        }
        if (codes.length > 0) {
          throw new ServiceUnavailableError(
            `the config table cancelled the change (${codes.filter((c) => c !== 'None').join(', ')})`,
            1,
            { cause: error },
          );
        }
        throw translateUnavailable(error, 'the config table');
      }
    }
  }

  /** Writes `functions` into a new snapshot partition, marked pending until a head references it. */
  async #writeSnapshot(ws: string, functions: readonly FunctionSpec[]): Promise<WrittenSnapshot> {
    const snapshotId = this.#newId();
    const partition = snapshotPk(ws, snapshotId);
    await this.#guard(() =>
      this.#doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: workspacePk(ws),
            sk: pendingSk(partition),
            partition,
            createdAt: this.#now().toISOString(),
          },
        }),
      ),
    );
    const requests: BatchRequest[] = functions.map((spec) => ({
      PutRequest: {
        Item: { pk: partition, sk: functionSk(spec.name), name: spec.name, spec: JSON.stringify(spec) },
      },
    }));
    try {
      await batchWriteAll(this.#doc, this.tableName, requests, this.#batchWrite);
    } catch (error) {
      await this.#discardSnapshot(ws, { snapshotId, partition });
      throw error;
    }
    return { snapshotId, partition };
  }

  /**
   * Best effort: deletes a snapshot no head references and its pending record. If this fails
   * too, the pending record stays and {@link collectGarbage} finds the orphan later.
   */
  async #discardSnapshot(ws: string, snapshot: WrittenSnapshot): Promise<void> {
    try {
      await this.#deletePartition(snapshot.partition);
      await this.#delete(workspacePk(ws), pendingSk(snapshot.partition));
    } catch {
      // Left for collectGarbage: the pending record still names the partition.
    }
  }

  /** Best effort: deletes garbage partitions and their markers; what fails stays for {@link collectGarbage}. */
  async #collectPartitions(ws: string, partitions: readonly string[]): Promise<void> {
    for (const partition of partitions) {
      try {
        await this.#deletePartition(partition);
        await this.#delete(workspacePk(ws), garbageSk(partition));
      } catch {
        // Left for collectGarbage: the garbage record still names the partition.
      }
    }
  }

  /** Deletes every item of `partition`; returns how many. */
  async #deletePartition(partition: string): Promise<number> {
    let deleted = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#query({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': partition },
        ProjectionExpression: 'pk, sk',
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      });
      const keys = (page.Items ?? []) as { pk: string; sk: string }[];
      await batchWriteAll(
        this.#doc,
        this.tableName,
        keys.map((Key) => ({ DeleteRequest: { Key } })),
        this.#batchWrite,
      );
      deleted += keys.length;
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return deleted;
  }
}

function versionMatches(version: number, expected: ExpectedVersion): boolean {
  if (expected === '*') return true;
  return typeof expected === 'number' ? version === expected : expected.includes(version);
}

/** The partitions a draft owns (its overlay, and its base snapshot when written for it). */
function ownedPartitions(ws: string, head: DraftHeadItem): string[] {
  const owned = [overlayPk(ws, head.draftId, head.overlayId)];
  if (head.baseOwned && head.baseSnapshotId !== undefined) owned.push(snapshotPk(ws, head.baseSnapshotId));
  return owned;
}

function summaryOf(head: DraftHeadItem): DraftSummary {
  return {
    draftId: head.draftId,
    version: head.version,
    state: head.state,
    ...(head.deploymentId === undefined ? {} : { deploymentId: head.deploymentId }),
    baseEpoch: head.baseEpoch,
    functionCount: head.functionCount,
    createdAt: head.createdAt,
    createdBy: head.createdBy,
    updatedAt: head.updatedAt,
    updatedBy: head.updatedBy,
  };
}

function specsOf(items: readonly FunctionItem[]): FunctionSpec[] {
  return mergeModel(items, [], 0);
}

/**
 * The draft model at `version`: base snapshot ⊕ the overlay edits made up to `version` (the
 * newest per function wins; a tombstone removes the function). Sorted by name.
 */
function mergeModel(
  base: readonly FunctionItem[],
  overlay: readonly FunctionItem[],
  version: number,
): FunctionSpec[] {
  const byName = new Map<string, string>();
  for (const item of base) if (item.spec !== undefined) byName.set(item.name, item.spec);
  const latest = new Map<string, FunctionItem>();
  for (const item of overlay) {
    if ((item.version ?? 0) > version) continue;
    const seen = latest.get(item.name);
    if (seen === undefined || (seen.version ?? 0) < (item.version ?? 0)) latest.set(item.name, item);
  }
  for (const item of latest.values()) {
    if (item.deleted === true) byName.delete(item.name);
    else if (item.spec !== undefined) byName.set(item.name, item.spec);
  }
  return [...byName.keys()]
    .sort(compare)
    .map((name) => JSON.parse(byName.get(name) as string) as FunctionSpec);
}

/** Code-unit order, as DynamoDB sorts ASCII sort keys. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The cancellation reason codes of a TransactionCanceledException (empty for any other error). */
function cancellationCodes(error: unknown): string[] {
  if (typeof error !== 'object' || error === null) return [];
  const e = error as { name?: string; CancellationReasons?: { Code?: string }[] };
  if (e.name !== 'TransactionCanceledException') return [];
  return (e.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
}

function encodeAuditCursor(sk: string): string {
  return Buffer.from(JSON.stringify({ sk }), 'utf8').toString('base64url');
}

function decodeAuditCursor(cursor: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { sk?: unknown };
    if (typeof parsed.sk === 'string' && /^\d{4}-\d\d-\d\dT[^#]+#[0-9a-f-]+$/.test(parsed.sk))
      return parsed.sk;
  } catch {
    // falls through to the error below
  }
  throw new ValidationError([
    { field: 'cursor', message: 'is not a cursor from a previous page of this list' },
  ]);
}
