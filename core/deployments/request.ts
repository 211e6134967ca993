/**
 * "Make it so": the deployments API's POST, as plain code over the stores and Step Functions.
 *
 * @module
 */
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ConflictError, PreconditionFailedError, ServiceUnavailableError } from '../errors.ts';
import { planChanges } from '../plan.ts';
import type { ConfigStore } from '../store/config-store.ts';
import type { ChangeContext, ExpectedVersion } from '../store/types.ts';
import { DeploymentInProgressError, DeploymentNotStartedError, NothingToDeployError } from './errors.ts';
import { deploymentIdFor, newDeploymentId } from './ids.ts';
import type { DeploymentStore, StoredDeployment } from './store.ts';
import type { Deployment } from './types.ts';

/** What {@link requestDeployment} needs. */
export interface DeploymentRequestDeps {
  readonly store: ConfigStore;
  readonly deployments: DeploymentStore;
  readonly sfn: SFNClient;
  /** ARN of the deployment state machine. */
  readonly stateMachineArn: string;
  /** Clock. @default - the system clock */
  readonly now?: () => Date;
}

/** One deploy request. */
export interface DeploymentRequest {
  readonly workspace: string;
  readonly draftId: string;
  /** The `Idempotency-Key` header: the deployment id is derived from it, the workspace and the draft. */
  readonly idempotencyKey?: string;
  /** The draft version `If-Match` names, when sent. */
  readonly expected?: ExpectedVersion;
  readonly context: ChangeContext;
}

/**
 * Requests a deployment of a draft: checks it (exists, open, at `expected`, has changes, the
 * workspace lock is free), then, in one TransactWriteItems, freezes the draft, takes the
 * lock, puts the deployment record (`Requested`) and its log entry and the audit record
 * `deployment.start`; then starts the execution named by the deployment id with input
 * `{ workspace, deploymentId }`.
 *
 * Idempotent: with an `idempotencyKey`, a repeated request finds the same record and starts
 * nothing new; any request for a draft whose deployment is still `Requested` (its execution
 * never started) starts that deployment's execution again (StartExecution is idempotent by
 * name and input) and answers it.
 *
 * @returns the deployment record
 * @throws NotFoundError (404) no such draft; PreconditionFailedError (412) `If-Match` stale;
 *   DeploymentInProgressError (409) another deployment holds the lock or froze the draft;
 *   ConflictError (409) the draft was already deployed or changed meanwhile;
 *   NothingToDeployError (409) no changes; DeploymentNotStartedError (503, Retry-After) the
 *   record is written but StartExecution failed; ServiceUnavailableError (503)
 */
export async function requestDeployment(
  deps: DeploymentRequestDeps,
  request: DeploymentRequest,
): Promise<StoredDeployment> {
  const { store, deployments } = deps;
  const { workspace: ws, draftId } = request;
  const keyedId =
    request.idempotencyKey === undefined ? undefined : deploymentIdFor(ws, draftId, request.idempotencyKey);
  if (keyedId !== undefined) {
    const existing = await deployments.get(ws, keyedId);
    if (existing !== undefined) return ensureStarted(deps, existing);
  }

  const draft = await store.getDraft(ws, draftId);
  if (draft.state === 'frozen' && draft.deploymentId !== undefined) {
    const holder = await deployments.get(ws, draft.deploymentId);
    if (holder?.status === 'Requested' && (keyedId === undefined || keyedId === holder.deploymentId)) {
      return ensureStarted(deps, holder);
    }
    throw new DeploymentInProgressError(draft.deploymentId);
  }
  if (draft.state === 'deployed') {
    throw new ConflictError(
      `draft ${draftId} was deployed by ${draft.deploymentId ?? 'a deployment'}: create a new draft to deploy again`,
      {
        state: draft.state,
        ...(draft.deploymentId === undefined ? {} : { deploymentId: draft.deploymentId }),
      },
    );
  }
  if (request.expected !== undefined && !versionMatches(draft.version, request.expected)) {
    throw new PreconditionFailedError(
      `draft ${draftId} is at version ${draft.version}, not the version you read: read it again`,
      { currentETag: `"${draft.version}"` },
    );
  }
  const lock = await deployments.getLock(ws);
  if (lock !== undefined && lock.deploymentId !== keyedId)
    throw new DeploymentInProgressError(lock.deploymentId);
  const live = await store.getLiveModel(ws);
  const plan = planChanges(live.functions, draft.functions);
  if (plan.changes.length === 0) throw new NothingToDeployError(draftId, live.epoch);

  const deploymentId = keyedId ?? newDeploymentId();
  const now = (deps.now?.() ?? new Date()).toISOString();
  const record: Deployment = {
    deploymentId,
    workspace: ws,
    draftId,
    draftVersion: draft.version,
    status: 'Requested',
    baseEpoch: live.epoch,
    targetEpoch: live.epoch + 1,
    startedBy: request.context.actor,
    phases: { requestedAt: now },
    votes: {},
    counts: { create: plan.summary.create, update: plan.summary.update, delete: plan.summary.delete },
    executionArn: executionArnOf(deps.stateMachineArn, deploymentId),
  };
  await store.transactWrite(
    [
      store.freezeDraftItem(ws, draftId, draft.version, deploymentId),
      ...deployments.requestItems(record),
      store.auditItem(ws, request.context, now, {
        action: 'deployment.start',
        target: `drafts/${draftId}/deployments`,
        draftId,
        detail: { deploymentId, draftVersion: draft.version, baseEpoch: live.epoch, counts: record.counts },
      }),
    ],
    async () => {
      // Someone else's transaction won: find out whose, and answer as if ours had lost cleanly.
      if ((await deployments.get(ws, deploymentId)) !== undefined) return undefined; // same key, concurrent
      const holder = await deployments.getLock(ws);
      if (holder !== undefined && holder.deploymentId !== deploymentId) {
        return new DeploymentInProgressError(holder.deploymentId);
      }
      const current = await store.getDraftSummary(ws, draftId);
      if (current.state !== 'open') {
        return current.deploymentId === undefined
          ? new ConflictError(`draft ${draftId} is ${current.state}`)
          : new DeploymentInProgressError(current.deploymentId);
      }
      if (current.version !== draft.version) {
        return request.expected === undefined
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
  const stored = await deployments.get(ws, deploymentId);
  if (stored === undefined)
    throw new ServiceUnavailableError('the deployment record could not be read back', 1);
  return ensureStarted(deps, stored);
}

/**
 * Starts the execution of a `Requested` deployment (name = deployment id, input
 * `{ workspace, deploymentId }`); any other status is returned as is. An execution that
 * already exists under that name counts as started.
 *
 * @throws DeploymentNotStartedError (503) when StartExecution fails
 */
export async function ensureStarted(
  deps: DeploymentRequestDeps,
  record: StoredDeployment,
): Promise<StoredDeployment> {
  if (record.status !== 'Requested') return record;
  try {
    await deps.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: deps.stateMachineArn,
        name: record.deploymentId,
        input: JSON.stringify({ workspace: record.workspace, deploymentId: record.deploymentId }),
      }),
    );
  } catch (error) {
    if ((error as { name?: string }).name === 'ExecutionAlreadyExists') return record;
    throw new DeploymentNotStartedError(record.deploymentId, 5, { cause: error });
  }
  return record;
}

/**
 * The ARN Step Functions gives the execution `name` of a state machine:
 * `arn:<partition>:states:<region>:<account>:execution:<stateMachine>:<name>`.
 */
export function executionArnOf(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

function versionMatches(version: number, expected: ExpectedVersion): boolean {
  if (expected === '*') return true;
  return typeof expected === 'number' ? version === expected : expected.includes(version);
}
