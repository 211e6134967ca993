/**
 * Drafts: speculative, editable next models of a workspace. A draft is a head item
 * (`WS#<ws>`, `DRAFT#<draftId>`: version, state, base snapshot, overlay) over a base snapshot
 * (`snapshots.ts`: the live model's, or one written for the draft) and an overlay partition of
 * single-function edits (`OVL#<ws>#<draftId>#<overlayId>`), so that:
 * - whole-model writes write a new snapshot partition first (marked pending), then swing the
 *   head in one transaction with the audit record; superseded partitions are marked garbage
 *   and deleted afterwards, best effort (`garbage.ts` finishes);
 * - single-function edits write one overlay item, the head and the audit record in one transaction;
 * - every read is consistent, re-reads the head and retries if it moved, so it never mixes versions.
 *
 * A deployment freezes a draft and ends its freeze with the items {@link DraftStore.freezeDraftItem}
 * and {@link DraftStore.releaseDraftItem} (composed by `core/deployments/transactions.ts`).
 *
 * @module
 */
import {
  ConflictError,
  NotFoundError,
  PreconditionFailedError,
  ServiceUnavailableError,
} from '../../domain/errors.ts';
import { mergeModels, RebaseConflictError } from '../merge.ts';
import { type FunctionSpec, Limits } from '../spec.ts';
import { getItem, maxConsistencyRetries, queryPage, queryPrefix } from './access.ts';
import { AuditLog } from './audit.ts';
import type { BatchWriteOptions } from './batch.ts';
import type { ConfigTableOptions } from './client.ts';
import { collectPartitions, garbageItem } from './garbage.ts';
import { compareCodeUnits, keySafeId, workspacePk } from './keys.ts';
import { LiveModels, readSnapshotItems, type SnapshotItem, SnapshotStore, snapshotPk } from './snapshots.ts';
import { type TransactItem, transactWrite } from './transact.ts';
import type { ChangeContext, Draft, DraftState, DraftSummary, ExpectedVersion } from './types.ts';

/** Sort key of a draft head. */
export const draftSk = (draftId: string): string => `DRAFT#${draftId}`;
/** Prefix of every draft head's sort key. */
export const draftSkPrefix = 'DRAFT#';
/** Partition of one draft overlay. */
export const overlayPk = (ws: string, draftId: string, overlayId: string): string =>
  `OVL#${ws}#${draftId}#${overlayId}`;
/**
 * Sort key of one overlay edit: the function's name and the draft version the edit made,
 * zero-padded so that a function's edits sort by version. Edits are never overwritten, so a
 * reader can rebuild the draft at any version the overlay has seen.
 */
export const overlayEditSk = (name: string, version: number): string =>
  `FN#${name}#${String(version).padStart(10, '0')}`;
/** Prefix of the sort keys of every edit of one function in an overlay. */
export const overlayEditSkPrefix = (name: string): string => `FN#${name}#`;
/** Prefix of every overlay edit's sort key. */
const overlayEditsPrefix = 'FN#';

/**
 * Whether a draft at `version` matches what a writer read: `'*'` matches any version, a list
 * any of its versions (an empty list none).
 */
export function versionMatches(version: number, expected: ExpectedVersion): boolean {
  if (expected === '*') return true;
  return typeof expected === 'number' ? version === expected : expected.includes(version);
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
  /** The live epoch the draft was based on; absent on heads written before it was recorded (unknown). */
  readonly baseEpoch?: number;
  /**
   * The snapshot partition of the base epoch's model (the live head's `snapshotId` when the draft
   * was created or rebased), the "base" of a rebase's three-way merge; absent for epoch 0 (no
   * functions) and on heads written before it was recorded.
   */
  readonly baseEpochSnapshotId?: string;
  readonly overlayId: string;
  readonly functionCount: number;
  readonly createdAt: string;
  readonly createdBy: ChangeContext['actor'];
  readonly updatedAt: string;
  readonly updatedBy: ChangeContext['actor'];
}

/** One item of an overlay partition: a spec, or a tombstone, at the draft version that made it. */
interface OverlayEdit extends SnapshotItem {
  /** The draft version this edit made. */
  readonly version: number;
  /** Tombstone: the function is removed from the draft. */
  readonly deleted?: boolean;
}

/** What one draft edit writes: the head it leaves, the partitions it supersedes, its transaction. */
interface DraftEdit {
  readonly head: DraftHeadItem;
  readonly garbage: string[];
  readonly items: TransactItem[];
}

/** Options of {@link DraftStore}. */
export interface DraftStoreOptions extends ConfigTableOptions {
  /** Clock. @default - the system clock */
  readonly now?: () => Date;
  /** Source of draft, snapshot and overlay ids. @default - `crypto.randomUUID()` */
  readonly newId?: () => string;
  /** Tuning of the bulk writes of snapshot partitions. @default - `batchWriteAll`'s defaults */
  readonly batchWrite?: BatchWriteOptions;
}

/**
 * The drafts of every workspace: reads, edits (each with its audit record, in one
 * transaction), and the freeze items of deployments.
 *
 * SDK errors are translated here: a stale version → PreconditionFailedError (412), a missing
 * draft → NotFoundError (404), a frozen or deployed draft → ConflictError (409), an unreachable
 * or throttled table → ServiceUnavailableError (503).
 *
 * @example
 * const drafts = new DraftStore({ doc: createConfigTableDocumentClient(), tableName });
 * const draft = await drafts.createDraft('acme', { actor: { sub: 'u1' }, requestId: 'r1' });
 */
export class DraftStore {
  readonly #table: ConfigTableOptions;
  readonly #now: () => Date;
  readonly #newId: () => string;
  readonly #batchWrite: BatchWriteOptions;
  readonly #snapshots: SnapshotStore;
  readonly #live: LiveModels;
  readonly #audit: AuditLog;

  constructor(options: DraftStoreOptions) {
    this.#table = { doc: options.doc, tableName: options.tableName };
    this.#now = options.now ?? (() => new Date());
    this.#newId = options.newId ?? (() => crypto.randomUUID());
    this.#batchWrite = options.batchWrite ?? {};
    this.#snapshots = new SnapshotStore(options);
    this.#live = new LiveModels(this.#table);
    this.#audit = new AuditLog(this.#table);
  }

  // ---------------------------------------------------------------- reads

  /** Every draft of `ws` (metadata only), oldest first. @throws ServiceUnavailableError (503) */
  async listDrafts(ws: string): Promise<DraftSummary[]> {
    const heads = await queryPrefix<DraftHeadItem>(this.#table, workspacePk(ws), draftSkPrefix);
    return heads
      .map(summaryOf)
      .sort((a, b) => compareCodeUnits(a.createdAt, b.createdAt) || compareCodeUnits(a.draftId, b.draftId));
  }

  /**
   * A draft's metadata. @throws NotFoundError (404) when `ws` has no such draft (drafts of other
   * workspaces included: they are simply not there)
   */
  async getDraftSummary(ws: string, draftId: string): Promise<DraftSummary> {
    return summaryOf(await this.#requireHead(ws, draftId));
  }

  /**
   * A draft with its whole model (base snapshot ⊕ overlay), all read at one version.
   * @throws NotFoundError (404) when `ws` has no such draft; ServiceUnavailableError (503)
   */
  async getDraft(ws: string, draftId: string): Promise<Draft> {
    for (let attempt = 0; attempt < maxConsistencyRetries; attempt++) {
      const head = await this.#requireHead(ws, draftId);
      const [base, overlay] = await Promise.all([
        head.baseSnapshotId === undefined
          ? Promise.resolve([])
          : readSnapshotItems(this.#table, ws, head.baseSnapshotId),
        queryPrefix<OverlayEdit>(this.#table, overlayPk(ws, draftId, head.overlayId), overlayEditsPrefix),
      ]);
      // Edits newer than `head` are skipped by version, so single-function edits made during the
      // read are harmless; only a whole-model write (new base and overlay, the old ones deleted)
      // can spoil it, and then the read starts over.
      const again = await this.#requireHead(ws, draftId);
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
    const head = await this.#requireHead(ws, draftId);
    checkEditable(head, expected);
    return summaryOf(head);
  }

  // ---------------------------------------------------------------- writes

  /**
   * Creates a draft of `ws`: a copy of the live model when `functions` is undefined (O(1): the
   * draft is based on the live snapshot, nothing is copied), else exactly `functions` (validated
   * by the caller, names unique). Records `draft.create`.
   *
   * @throws ConflictError (409) when the new draft id is taken; ServiceUnavailableError (503)
   */
  async createDraft(
    ws: string,
    context: ChangeContext,
    functions?: readonly FunctionSpec[],
  ): Promise<DraftSummary> {
    const live = await this.#live.getLiveHead(ws);
    const snapshot =
      functions === undefined ? undefined : await this.#snapshots.writePendingSnapshot(ws, functions);
    const now = this.#now().toISOString();
    const draftId = this.#newId();
    const head: DraftHeadItem = {
      draftId,
      version: 1,
      state: 'open',
      baseSnapshotId: snapshot?.snapshotId ?? live.snapshotId,
      baseOwned: snapshot !== undefined,
      baseEpoch: live.epoch,
      ...(live.snapshotId === undefined ? {} : { baseEpochSnapshotId: live.snapshotId }),
      overlayId: this.#newId(),
      functionCount: functions?.length ?? live.functionCount,
      createdAt: now,
      createdBy: context.actor,
      updatedAt: now,
      updatedBy: context.actor,
    };
    const items: TransactItem[] = [
      {
        Put: {
          TableName: this.#table.tableName,
          Item: { pk: workspacePk(ws), sk: draftSk(draftId), ...head },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      this.#audit.auditItem(ws, context, now, {
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
    if (snapshot !== undefined) items.push(this.#snapshots.pendingClearedItem(ws, snapshot));
    try {
      await transactWrite(
        this.#table.doc,
        items,
        async () => new ConflictError(`draft id ${draftId} is already taken`),
      );
    } catch (error) {
      if (snapshot !== undefined) await this.#snapshots.discardPendingSnapshot(ws, snapshot);
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
    return this.#replaceModel(ws, draftId, functions, expected, context);
  }

  /**
   * Moves a draft onto the live epoch: a three-way merge (`mergeModels`) of the draft's base epoch
   * model (base), the draft (ours) and the live model (theirs), if the draft is still at
   * `expected`. Non-conflicting changes merge; the merged model is written like
   * {@link replaceDraft} (a new snapshot, version + 1, one transaction conditional on the live
   * epoch not having moved meanwhile) and the head's base epoch becomes the live one. Records
   * `draft.rebase` with both epochs. A draft already based on the live epoch is left as is.
   *
   * A draft whose base epoch is unknown (written before greco recorded it), or whose base epoch
   * was set without a recorded snapshot, cannot be merged: 409, create a new draft.
   *
   * @returns the draft's metadata, whether it moved, and the epoch it moved from
   * @throws RebaseConflictError (409, `conflicts`: `{ function, field, base, draft, live }`) when
   *   both sides changed a field differently: nothing is changed; ConflictError (409) frozen, or
   *   the base model is unknown; NotFoundError (404); PreconditionFailedError (412) `expected` is
   *   stale; ServiceUnavailableError (503, also when the live epoch moved during the rebase)
   */
  async rebaseDraft(
    ws: string,
    draftId: string,
    expected: ExpectedVersion,
    context: ChangeContext,
  ): Promise<{ draft: DraftSummary; rebased: boolean; fromEpoch?: number }> {
    const head = await this.#requireHead(ws, draftId);
    checkEditable(head, expected);
    const live = await this.#live.getLiveModel(ws);
    if (head.baseEpoch === live.epoch)
      return { draft: summaryOf(head), rebased: false, fromEpoch: head.baseEpoch };
    if (head.baseEpoch === undefined || (head.baseEpoch > 0 && head.baseEpochSnapshotId === undefined)) {
      throw new ConflictError(
        `draft ${draftId} does not record the model of its base epoch, so it cannot be merged onto epoch ${live.epoch}: create a new draft from the live model and make your changes again`,
        { baseEpoch: head.baseEpoch ?? null, liveEpoch: live.epoch },
      );
    }
    const [base, draft] = await Promise.all([
      head.baseEpochSnapshotId === undefined
        ? Promise.resolve([])
        : this.#snapshots.readSnapshotPartition(ws, head.baseEpochSnapshotId),
      this.getDraft(ws, draftId),
    ]);
    if (draft.version !== head.version) {
      throw new PreconditionFailedError(`draft ${draftId} changed during the rebase: read it again`, {
        currentETag: `"${draft.version}"`,
      });
    }
    const merge = mergeModels(base, draft.functions, live.functions);
    if (merge.conflicts.length > 0) throw new RebaseConflictError(draftId, live.epoch, merge.conflicts);
    const summary = await this.#replaceModel(ws, draftId, merge.functions, head.version, context, {
      epoch: live.epoch,
      ...(live.snapshotId === undefined ? {} : { snapshotId: live.snapshotId }),
    });
    return {
      draft: summary,
      rebased: true,
      ...(head.baseEpoch === undefined ? {} : { fromEpoch: head.baseEpoch }),
    };
  }

  async #replaceModel(
    ws: string,
    draftId: string,
    functions: readonly FunctionSpec[],
    expected: ExpectedVersion,
    context: ChangeContext,
    rebaseTo?: { epoch: number; snapshotId?: string },
  ): Promise<DraftSummary> {
    checkEditable(await this.#requireHead(ws, draftId), expected);
    const snapshot = await this.#snapshots.writePendingSnapshot(ws, functions);
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
          ...(rebaseTo === undefined ? {} : { baseEpoch: rebaseTo.epoch }),
          ...(rebaseTo?.snapshotId === undefined ? {} : { baseEpochSnapshotId: rebaseTo.snapshotId }),
          updatedAt: now,
          updatedBy: context.actor,
        };
        const garbage = ownedPartitions(ws, current);
        return {
          head: next,
          garbage,
          items: [
            this.#putHead(ws, next, current.version),
            this.#snapshots.pendingClearedItem(ws, snapshot),
            ...(rebaseTo?.snapshotId === undefined
              ? []
              : [this.#live.liveIsCheck(ws, rebaseTo.epoch, rebaseTo.snapshotId)]),
            ...garbage.map((partition) => garbageItem(this.#table.tableName, ws, partition, now)),
            this.#audit.auditItem(ws, context, now, {
              action: rebaseTo === undefined ? 'draft.replace' : 'draft.rebase',
              target: `drafts/${draftId}`,
              draftId,
              detail: {
                version: next.version,
                functionCount: functions.length,
                ...(rebaseTo === undefined
                  ? {}
                  : { fromEpoch: current.baseEpoch ?? null, baseEpoch: rebaseTo.epoch }),
              },
            }),
          ],
        };
      });
    } catch (error) {
      await this.#snapshots.discardPendingSnapshot(ws, snapshot);
      throw error;
    }
    await collectPartitions(this.#table, ws, edited.garbage, this.#batchWrite);
    return summaryOf(edited.head);
  }

  /**
   * Sets one function of a draft (creates or replaces it), if the draft is still at `expected`.
   * One transaction: overlay item, head, audit record `draft.function.put`.
   *
   * @returns the draft's new metadata, and whether the function is new to the draft
   * @throws NotFoundError (404), PreconditionFailedError (412), ConflictError (409: frozen, or the
   *   model would exceed {@link Limits.maxFunctionsPerWorkspace}), ServiceUnavailableError (503)
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
      const exists = await this.#hasFunction(ws, current, spec.name);
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
      const edit: OverlayEdit = { name: spec.name, version: next.version, spec: JSON.stringify(spec) };
      return {
        head: next,
        garbage: [],
        items: [
          this.#putHead(ws, next, current.version),
          this.#putOverlayEdit(ws, draftId, current.overlayId, edit),
          this.#audit.auditItem(ws, context, now, {
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
   * @throws NotFoundError (404: no such draft, or no such function in it), PreconditionFailedError
   *   (412), ConflictError (409, frozen), ServiceUnavailableError (503)
   */
  async deleteDraftFunction(
    ws: string,
    draftId: string,
    name: string,
    expected: ExpectedVersion,
    context: ChangeContext,
  ): Promise<DraftSummary> {
    const { head } = await this.#editDraft(ws, draftId, expected, async (current, now) => {
      if (!(await this.#hasFunction(ws, current, name))) {
        throw new NotFoundError(`draft ${draftId} has no function named ${name}`);
      }
      const next: DraftHeadItem = {
        ...current,
        version: current.version + 1,
        functionCount: current.functionCount - 1,
        updatedAt: now,
        updatedBy: context.actor,
      };
      const tombstone: OverlayEdit = { name, version: next.version, deleted: true };
      return {
        head: next,
        garbage: [],
        items: [
          this.#putHead(ws, next, current.version),
          this.#putOverlayEdit(ws, draftId, current.overlayId, tombstone),
          this.#audit.auditItem(ws, context, now, {
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
   * @throws NotFoundError (404), PreconditionFailedError (412), ConflictError (409, frozen),
   *   ServiceUnavailableError (503)
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
              TableName: this.#table.tableName,
              Key: { pk: workspacePk(ws), sk: draftSk(draftId) },
              ConditionExpression: '#v = :expected AND #s = :open',
              ExpressionAttributeNames: { '#v': 'version', '#s': 'state' },
              ExpressionAttributeValues: { ':expected': current.version, ':open': 'open' },
            },
          },
          ...garbage.map((partition) => garbageItem(this.#table.tableName, ws, partition, now)),
          this.#audit.auditItem(ws, context, now, {
            action: 'draft.delete',
            target: `drafts/${draftId}`,
            draftId,
            detail: { version: current.version, functionCount: current.functionCount },
          }),
        ],
      };
    });
    await collectPartitions(this.#table, ws, garbage, this.#batchWrite);
  }

  // ---------------------------------------------------------------- deployments' items

  /**
   * Transaction item: freezes an open draft at `version` for `deploymentId` (state open →
   * frozen). The draft's version does not change: freezing is not an edit of the model.
   * Fails its condition when the draft is gone, not open, or not at `version`.
   */
  freezeDraftItem(ws: string, draftId: string, version: number, deploymentId: string): TransactItem {
    return {
      Update: {
        TableName: this.#table.tableName,
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
        TableName: this.#table.tableName,
        Key: { pk: workspacePk(ws), sk: draftSk(draftId) },
        UpdateExpression: to === 'open' ? 'SET #s = :to REMOVE #d' : 'SET #s = :to',
        ConditionExpression: '#s = :frozen AND #d = :deployment',
        ExpressionAttributeNames: { '#s': 'state', '#d': 'deploymentId' },
        ExpressionAttributeValues: { ':to': to, ':frozen': 'frozen', ':deployment': deploymentId },
      },
    };
  }

  // ---------------------------------------------------------------- internals

  async #requireHead(ws: string, draftId: string): Promise<DraftHeadItem> {
    const head = keySafeId.test(draftId)
      ? await getItem<DraftHeadItem>(this.#table, workspacePk(ws), draftSk(draftId))
      : undefined;
    if (head === undefined) throw new NotFoundError(`there is no draft ${draftId} in this workspace`);
    return head;
  }

  /** Whether the draft's model (base ⊕ overlay) has a function `name`. */
  async #hasFunction(ws: string, head: DraftHeadItem, name: string): Promise<boolean> {
    const [edit, base] = await Promise.all([
      this.#latestEdit(ws, head, name),
      head.baseSnapshotId === undefined
        ? Promise.resolve(undefined)
        : this.#snapshots.readSnapshotItem(ws, head.baseSnapshotId, name),
    ]);
    if (edit !== undefined) return edit.deleted !== true;
    return base !== undefined;
  }

  /** The newest overlay edit of function `name` in the draft, if any. */
  async #latestEdit(ws: string, head: DraftHeadItem, name: string): Promise<OverlayEdit | undefined> {
    const page = await queryPage(this.#table, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: {
        ':pk': overlayPk(ws, head.draftId, head.overlayId),
        ':prefix': overlayEditSkPrefix(name),
      },
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    });
    return page.Items?.[0] as OverlayEdit | undefined;
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
    build: (current: DraftHeadItem, now: string) => Promise<DraftEdit>,
  ): Promise<{ head: DraftHeadItem; garbage: string[] }> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.#requireHead(ws, draftId);
      checkEditable(current, expected);
      const { head, garbage, items } = await build(current, this.#now().toISOString());
      const written = await transactWrite(this.#table.doc, items, async () => {
        const latest = await this.#requireHead(ws, draftId);
        checkEditable(latest, expected);
        // `expected` is '*' and the draft moved on between our read and our write: read again.
        if (attempt + 1 < maxConsistencyRetries) return undefined;
        return new ServiceUnavailableError(`draft ${draftId} is changing too fast to edit`, 1);
      });
      if (written) return { head, garbage };
    }
  }

  /** A Put of a draft head, conditional on the head still being at `readVersion` and open. */
  #putHead(ws: string, head: DraftHeadItem, readVersion: number): TransactItem {
    return {
      Put: {
        TableName: this.#table.tableName,
        Item: { pk: workspacePk(ws), sk: draftSk(head.draftId), ...head },
        ConditionExpression: '#v = :read AND #s = :open',
        ExpressionAttributeNames: { '#v': 'version', '#s': 'state' },
        ExpressionAttributeValues: { ':read': readVersion, ':open': 'open' },
      },
    };
  }

  /** One overlay edit (a spec or a tombstone), written once: edits are never overwritten. */
  #putOverlayEdit(ws: string, draftId: string, overlayId: string, edit: OverlayEdit): TransactItem {
    return {
      Put: {
        TableName: this.#table.tableName,
        Item: { pk: overlayPk(ws, draftId, overlayId), sk: overlayEditSk(edit.name, edit.version), ...edit },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }
}

/** Throws the error an edit of `head` at `expected` deserves, if any. */
function checkEditable(head: DraftHeadItem, expected: ExpectedVersion): void {
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
    ...(head.baseEpoch === undefined ? {} : { baseEpoch: head.baseEpoch }),
    functionCount: head.functionCount,
    createdAt: head.createdAt,
    createdBy: head.createdBy,
    updatedAt: head.updatedAt,
    updatedBy: head.updatedBy,
  };
}

/**
 * The draft model at `version`: base snapshot ⊕ the overlay edits made up to `version` (the
 * newest per function wins; a tombstone removes the function). Sorted by name.
 */
function mergeModel(
  base: readonly SnapshotItem[],
  overlay: readonly OverlayEdit[],
  version: number,
): FunctionSpec[] {
  const byName = new Map<string, string>();
  for (const item of base) if (item.spec !== undefined) byName.set(item.name, item.spec);
  const latest = new Map<string, OverlayEdit>();
  for (const item of overlay) {
    if (item.version > version) continue;
    const seen = latest.get(item.name);
    if (seen === undefined || seen.version < item.version) latest.set(item.name, item);
  }
  for (const item of latest.values()) {
    if (item.deleted === true) byName.delete(item.name);
    else if (item.spec !== undefined) byName.set(item.name, item.spec);
  }
  return [...byName.keys()]
    .sort(compareCodeUnits)
    .map((name) => JSON.parse(byName.get(name) as string) as FunctionSpec);
}
