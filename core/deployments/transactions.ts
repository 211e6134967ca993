/**
 * Every state transition of a deployment, each one write to the config table, composed here and
 * nowhere else: which aggregates' items go together (the deployment record and lock, the draft,
 * the live head, the audit log), their conditions, and what a failed condition means
 * (`TransactionCanceledException` becomes a domain error here, or "already done" for a re-run).
 *
 * | transition | writes | by |
 * |---|---|---|
 * | {@link recordRequest} | draft open → frozen, lock, record `Requested`, log entry, change set recorded, audit `deployment.start` | the API |
 * | {@link beginPreparing} | record `Requested` → `Preparing` | `begin` |
 * | {@link recordDecision} | the decision record (COMMIT → `Committing`) | `decide` |
 * | {@link activateEpoch} | live head → epoch N, `EPOCH#N` | `write-epoch` |
 * | {@link finishCommit} | record `Committed`, draft → deployed, lock released, audit `deployment.commit` | `finish-committed` |
 * | {@link finishAbort} | record `Vetoed`/`Aborted`, draft → open, lock released, snapshot garbage, audit `deployment.abort` | `finish-aborted` |
 * | {@link recordCommitIncomplete} | record `Committing` → `CommitIncomplete` | `finish-commit-incomplete` |
 *
 * @module
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConflictError, PreconditionFailedError, ServiceUnavailableError } from '../../domain/errors.ts';
import { AuditLog } from '../store/audit.ts';
import type { BatchWriteOptions } from '../store/batch.ts';
import type { ConfigTableOptions } from '../store/client.ts';
import { DraftStore } from '../store/drafts.ts';
import { LiveModels, SnapshotStore } from '../store/snapshots.ts';
import { transactWrite } from '../store/transact.ts';
import type { Actor, ChangeContext, ExpectedVersion } from '../store/types.ts';
import { DeploymentInProgressError, DeploymentStateError } from './errors.ts';
import { vetoReasons } from './events.ts';
import { DeploymentStore } from './store.ts';
import type { Decision, Deployment, DeploymentStatus, Vote } from './types.ts';

/** The aggregates a deployment touches, all on one config table. */
export interface DeploymentStores {
  /** The table's document client: it runs the transactions composed here. */
  readonly doc: DynamoDBDocumentClient;
  readonly deployments: DeploymentStore;
  readonly drafts: DraftStore;
  readonly snapshots: SnapshotStore;
  readonly live: LiveModels;
  readonly audit: AuditLog;
}

/** Options of {@link createDeploymentStores}. */
export interface DeploymentStoresOptions extends ConfigTableOptions {
  /** Clock of the stores that stamp what they write. @default - the system clock */
  readonly now?: () => Date;
  /** Tuning of bulk writes (change sets, snapshots). @default - `batchWriteAll`'s defaults */
  readonly batchWrite?: BatchWriteOptions;
}

/**
 * The deployment's aggregates over one table and one client.
 *
 * @example
 * const stores = createDeploymentStores({ doc: createConfigTableDocumentClient(), tableName });
 */
export function createDeploymentStores(options: DeploymentStoresOptions): DeploymentStores {
  return {
    doc: options.doc,
    deployments: new DeploymentStore(options),
    drafts: new DraftStore(options),
    snapshots: new SnapshotStore(options),
    live: new LiveModels(options),
    audit: new AuditLog(options),
  };
}

/** A `{ error, cause }` as a deployment record keeps it. */
type RecordedError = NonNullable<Deployment['error']>;

/**
 * Records a requested deployment, in one transaction: freezes the draft at `record.draftVersion`,
 * takes the workspace lock, puts the record (`Requested`) and its log entry, marks the change set
 * written beforehand as recorded, and appends the audit record `deployment.start`.
 *
 * A lost race is answered as if this request had lost cleanly: nothing is thrown when the same
 * deployment id was recorded meanwhile (a concurrent request with the same `Idempotency-Key`).
 *
 * @param expected the draft version the caller named (`If-Match`), when it named one
 * @param lastEditor the draft's last editor: the audit record names them beside the approver
 *   (the record's actor), for the two-person rule
 * @throws DeploymentInProgressError (409) another deployment holds the lock or froze the draft;
 *   ConflictError (409) the draft is no longer open, or changed (no `If-Match`);
 *   PreconditionFailedError (412) it changed (with `If-Match`); ServiceUnavailableError (503)
 */
export async function recordRequest(
  stores: DeploymentStores,
  record: Deployment,
  context: ChangeContext,
  expected: ExpectedVersion | undefined,
  lastEditor?: Actor,
): Promise<void> {
  const { workspace: ws, deploymentId: id, draftId } = record;
  const { deployments, drafts, audit } = stores;
  await transactWrite(
    stores.doc,
    [
      drafts.freezeDraftItem(ws, draftId, record.draftVersion, id),
      ...deployments.requestItems(record),
      deployments.changeSetRecordedItem(ws, id),
      audit.auditItem(ws, context, record.phases.requestedAt, {
        action: 'deployment.start',
        target: `drafts/${draftId}/deployments`,
        draftId,
        detail: {
          deploymentId: id,
          draftVersion: record.draftVersion,
          baseEpoch: record.baseEpoch,
          counts: record.counts,
          ...(lastEditor === undefined ? {} : { lastEditor }),
        },
      }),
    ],
    async () => {
      // Someone else's transaction won: find out whose, and answer as if ours had lost cleanly.
      if ((await deployments.get(ws, id)) !== undefined) return undefined; // same key, concurrent
      const holder = await deployments.getLock(ws);
      if (holder !== undefined && holder.deploymentId !== id) {
        return new DeploymentInProgressError(holder.deploymentId);
      }
      const current = await drafts.getDraftSummary(ws, draftId);
      if (current.state !== 'open') {
        return current.deploymentId === undefined
          ? new ConflictError(`draft ${draftId} is ${current.state}`)
          : new DeploymentInProgressError(current.deploymentId);
      }
      if (current.version !== record.draftVersion) {
        return expected === undefined
          ? new ConflictError(
              `draft ${draftId} changed while its deployment was requested: send the request again`,
            )
          : new PreconditionFailedError(
              `draft ${draftId} is at version ${current.version}, not the version you read`,
              {
                currentETag: `"${current.version}"`,
              },
            );
      }
      return new ServiceUnavailableError('the deployment could not be recorded, try again', 1);
    },
  );
}

/**
 * Moves a deployment `Requested` → `Preparing` (its change set and snapshot are written).
 * @returns `false` when the record was not `Requested` (nothing changed)
 * @throws ServiceUnavailableError (503)
 */
export async function beginPreparing(
  stores: DeploymentStores,
  record: Deployment,
  at: string,
): Promise<boolean> {
  return stores.deployments.update(record.workspace, record.deploymentId, {
    update: 'SET #status = :preparing, #phases.#at = :now',
    condition: '#status = :requested',
    names: { '#status': 'status', '#phases': 'phases', '#at': 'preparingAt' },
    values: { ':preparing': 'Preparing', ':requested': 'Requested', ':now': at },
  });
}

/**
 * Writes the decision record, once, before any commit or abort action. COMMIT also moves the
 * status `Preparing` → `Committing`; ABORT keeps the status (the finish step sets it) and
 * records `error` when one ended prepare.
 *
 * @returns `false` when a decision was already written or the status does not allow one
 * @throws ServiceUnavailableError (503)
 */
export async function recordDecision(
  stores: DeploymentStores,
  record: Deployment,
  decided: { decision: Decision; votes: Readonly<Record<string, Vote>>; error?: RecordedError },
): Promise<boolean> {
  const { decision, votes, error } = decided;
  const commit = decision.outcome === 'COMMIT';
  const withError = !commit && error !== undefined;
  return stores.deployments.update(record.workspace, record.deploymentId, {
    update: commit
      ? 'SET #decision = :decision, #votes = :votes, #status = :committing, #phases.#decidedAt = :at, #phases.#committingAt = :at'
      : `SET #decision = :decision, #votes = :votes, #phases.#decidedAt = :at${withError ? ', #error = :error' : ''}`,
    condition: commit
      ? 'attribute_not_exists(#decision) AND #status = :preparing'
      : 'attribute_not_exists(#decision) AND #status IN (:requested, :preparing)',
    names: {
      '#decision': 'decision',
      '#votes': 'votes',
      '#status': 'status',
      '#phases': 'phases',
      '#decidedAt': 'decidedAt',
      ...(commit ? { '#committingAt': 'committingAt' } : {}),
      ...(withError ? { '#error': 'error' } : {}),
    },
    values: {
      ':decision': decision,
      ':votes': votes,
      ':at': decision.at,
      ':preparing': 'Preparing',
      ...(commit ? { ':committing': 'Committing' } : { ':requested': 'Requested' }),
      ...(withError ? { ':error': error } : {}),
    },
  });
}

/** What {@link activateEpoch} makes live. */
export interface EpochActivation {
  readonly workspace: string;
  readonly deploymentId: string;
  readonly epoch: number;
  readonly functionCount: number;
  /** Key of the epoch snapshot object already written to the snapshots bucket. */
  readonly snapshotKey: string;
  /** ISO 8601 UTC: the time of the decision record. */
  readonly committedAt: string;
  /** ISO 8601 UTC: now. */
  readonly at: string;
}

/**
 * Makes `epoch` live in the config table, in one transaction: the live head (conditional on the
 * epoch before it) → the deployment's snapshot, and the `EPOCH#` item. Idempotent: an epoch
 * already live by this deployment is left as is.
 *
 * @throws DeploymentStateError when the live epoch is neither `epoch - 1` nor this deployment's;
 *   ServiceUnavailableError (503)
 */
export async function activateEpoch(stores: DeploymentStores, activation: EpochActivation): Promise<void> {
  const { workspace: ws, deploymentId: id, epoch } = activation;
  const isLive = (head: { epoch: number; snapshotId?: string }) =>
    head.epoch === epoch && head.snapshotId === id;
  const conflict = (current: number) =>
    new DeploymentStateError(
      `the live epoch of workspace ${ws} is ${current}: epoch ${epoch} of ${id} cannot be made live`,
    );
  await transactWrite(
    stores.doc,
    [
      stores.live.liveHeadItem(
        ws,
        { epoch, snapshotId: id, functionCount: activation.functionCount },
        activation.at,
      ),
      stores.deployments.epochItem(ws, {
        epoch,
        snapshotId: id,
        deploymentId: id,
        snapshotKey: activation.snapshotKey,
        committedAt: activation.committedAt,
      }),
    ],
    async () => {
      const current = await stores.live.getLiveHead(ws);
      return isLive(current) ? undefined : conflict(current.epoch);
    },
  );
  const check = await stores.live.getLiveHead(ws);
  if (!isLive(check)) throw conflict(check.epoch);
}

/**
 * Ends a committed deployment, in one transaction conditional on its epoch being live:
 * `Committing` (or `CommitIncomplete`, re-driven) → `Committed`, the draft → deployed, the lock
 * released, audit `deployment.commit`. A deployment already `Committed` is left as is.
 *
 * @throws DeploymentStateError when the deployment cannot finish so (status, live epoch, draft
 *   or lock not held by it); ServiceUnavailableError (503)
 */
export async function finishCommit(stores: DeploymentStores, record: Deployment, at: string): Promise<void> {
  const { workspace: ws, deploymentId: id } = record;
  await transactWrite(
    stores.doc,
    [
      stores.deployments.updateItem(ws, id, {
        update: 'SET #status = :committed, #phases.#endedAt = :now REMOVE #error',
        condition: '#status IN (:committing, :incomplete)',
        names: { '#status': 'status', '#phases': 'phases', '#endedAt': 'endedAt', '#error': 'error' },
        values: {
          ':committed': 'Committed',
          ':now': at,
          ':committing': 'Committing',
          ':incomplete': 'CommitIncomplete',
        },
      }),
      stores.live.liveIsCheck(ws, record.targetEpoch, id),
      stores.drafts.releaseDraftItem(ws, record.draftId, id, 'deployed'),
      stores.deployments.releaseLockItem(ws, id),
      stores.audit.auditItem(ws, auditContext(record), at, {
        action: 'deployment.commit',
        target: `deployments/${id}`,
        draftId: record.draftId,
        detail: { deploymentId: id, status: 'Committed', epoch: record.targetEpoch, counts: record.counts },
      }),
    ],
    async () => {
      const current = await stores.deployments.get(ws, id);
      if (current?.status === 'Committed') return undefined;
      const live = await stores.live.getLiveHead(ws);
      return new DeploymentStateError(
        `deployment ${id} cannot finish as Committed: status ${current?.status ?? 'unknown'}, live epoch ${live.epoch} (${live.snapshotId ?? 'none'}), draft or lock not held by it`,
      );
    },
  );
}

/**
 * Ends an aborted deployment after its ABORT decision, in one transaction: status `Vetoed` or
 * `Aborted` (with `error`), the draft → open again, the lock released, the deployment's snapshot
 * marked garbage, audit `deployment.abort`. A deployment already ended so is left as is.
 *
 * @throws DeploymentStateError when the deployment cannot finish so (status, decision, draft or
 *   lock not held by it); ServiceUnavailableError (503)
 */
export async function finishAbort(
  stores: DeploymentStores,
  record: Deployment,
  ended: { status: Extract<DeploymentStatus, 'Vetoed' | 'Aborted'>; error?: RecordedError },
  at: string,
): Promise<void> {
  const { workspace: ws, deploymentId: id } = record;
  const { status, error } = ended;
  await transactWrite(
    stores.doc,
    [
      stores.deployments.updateItem(ws, id, {
        update: `SET #status = :status, #phases.#endedAt = :now${error === undefined ? '' : ', #error = :error'}`,
        condition: '#status IN (:requested, :preparing) AND #decision.#outcome = :abort',
        names: {
          '#status': 'status',
          '#phases': 'phases',
          '#endedAt': 'endedAt',
          '#decision': 'decision',
          '#outcome': 'outcome',
          ...(error === undefined ? {} : { '#error': 'error' }),
        },
        values: {
          ':status': status,
          ':now': at,
          ':requested': 'Requested',
          ':preparing': 'Preparing',
          ':abort': 'ABORT',
          ...(error === undefined ? {} : { ':error': error }),
        },
      }),
      stores.drafts.releaseDraftItem(ws, record.draftId, id, 'open'),
      stores.deployments.releaseLockItem(ws, id),
      stores.snapshots.snapshotGarbageItem(ws, id, at),
      stores.audit.auditItem(ws, auditContext(record), at, {
        action: 'deployment.abort',
        target: `deployments/${id}`,
        draftId: record.draftId,
        detail: {
          deploymentId: id,
          status,
          reasons: vetoReasons(record).length,
          ...(error === undefined ? {} : { error: error.error }),
        },
      }),
    ],
    async () => {
      const current = await stores.deployments.get(ws, id);
      if (current?.status === 'Vetoed' || current?.status === 'Aborted') return undefined;
      return new DeploymentStateError(
        `deployment ${id} cannot finish as aborted: status ${current?.status ?? 'unknown'}, draft or lock not held by it`,
      );
    },
  );
}

/**
 * Moves a deployment `Committing` → `CommitIncomplete` with the error that stopped the commit
 * path. The lock stays taken until an operator re-drives the deployment.
 *
 * @returns `false` when the record was not `Committing` (nothing changed)
 * @throws ServiceUnavailableError (503)
 */
export async function recordCommitIncomplete(
  stores: DeploymentStores,
  record: Deployment,
  error: RecordedError,
): Promise<boolean> {
  return stores.deployments.update(record.workspace, record.deploymentId, {
    update: 'SET #status = :incomplete, #error = :error',
    condition: '#status = :committing',
    names: { '#status': 'status', '#error': 'error' },
    values: { ':incomplete': 'CommitIncomplete', ':committing': 'Committing', ':error': error },
  });
}

/** Who a deployment's own audit records name: its requester, and the deployment id as request id. */
function auditContext(record: Deployment): ChangeContext {
  return { actor: record.startedBy, requestId: record.deploymentId };
}
