/**
 * "Make it so": the deployments API's POST, as plain code over the stores and Step Functions.
 * The deployment is planned here, once: the change set is written with the deployment's
 * record, and the `begin` step works from it.
 *
 * @module
 */
import { ExecutionAlreadyExists, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ConflictError, PreconditionFailedError, ServiceUnavailableError } from '../../domain/errors.ts';
import { managedFunctionName } from '../../domain/names.ts';
import { type Plan, planChanges, planHash } from '../plan.ts';
import type { FunctionSpec } from '../spec.ts';
import { versionMatches } from '../store/drafts.ts';
import type { ChangeContext, ExpectedVersion } from '../store/types.ts';
import {
  DeploymentInProgressError,
  DeploymentNotStartedError,
  NothingToDeployError,
  PlanChangedError,
  StaleDraftError,
  TwoPersonRuleError,
} from './errors.ts';
import { deploymentIdFor, newDeploymentId } from './ids.ts';
import type { StoredDeployment } from './store.ts';
import { type DeploymentStores, recordRequest } from './transactions.ts';
import type { ChangeItem, Deployment } from './types.ts';

/** What {@link requestDeployment} needs. */
export interface DeploymentRequestDeps {
  /** The aggregates of the config table (`createDeploymentStores`). */
  readonly stores: DeploymentStores;
  readonly sfn: SFNClient;
  /** ARN of the deployment state machine. */
  readonly stateMachineArn: string;
  /** Prefix of managed function names (`GRECO_MANAGED_PREFIX`), for the change set's `managedName`s. */
  readonly managedPrefix: string;
  /** Clock. @default - the system clock */
  readonly now?: () => Date;
  /**
   * The two-person rule (context option `greco:twoPersonRule`, `GRECO_TWO_PERSON_RULE`): the
   * approver who deploys must not be the draft's last editor.
   * @default false
   */
  readonly twoPersonRule?: boolean;
}

/** One deploy request. */
export interface DeploymentRequest {
  readonly workspace: string;
  readonly draftId: string;
  /** The `Idempotency-Key` header: the deployment id is derived from it, the workspace and the draft. */
  readonly idempotencyKey?: string;
  /** The draft version `If-Match` names, when sent. */
  readonly expected?: ExpectedVersion;
  /** The `planHash` of the plan the caller reviewed (`GET .../plan`), when sent: 64 lowercase hex digits. */
  readonly planHash?: string;
  readonly context: ChangeContext;
}

/**
 * Requests a deployment of a draft: checks it (exists, open, at `expected`, the workspace lock is
 * free), plans it against the live model (no changes: 409), writes the change set, then records
 * the deployment in one transaction (`recordRequest`: the draft frozen, the lock, the record
 * `Requested`, the audit record `deployment.start`); then starts the execution named by the
 * deployment id with input `{ workspace, deploymentId }`.
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
 *   NothingToDeployError (409) no changes; StaleDraftError (409) the draft's base epoch is not
 *   the live epoch (or unknown); PlanChangedError (412) `planHash` is not the plan's hash now;
 *   TwoPersonRuleError (403) the rule is on and the caller last edited the draft;
 *   DeploymentNotStartedError (503, Retry-After) the
 *   record is written but StartExecution failed; ServiceUnavailableError (503)
 */
export async function requestDeployment(
  deps: DeploymentRequestDeps,
  request: DeploymentRequest,
): Promise<StoredDeployment> {
  const { drafts, deployments, live } = deps.stores;
  const { workspace: ws, draftId } = request;
  const keyedId =
    request.idempotencyKey === undefined ? undefined : deploymentIdFor(ws, draftId, request.idempotencyKey);
  if (keyedId !== undefined) {
    const existing = await deployments.get(ws, keyedId);
    if (existing !== undefined) return ensureStarted(deps, existing);
  }

  const draft = await drafts.getDraft(ws, draftId);
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
  if (deps.twoPersonRule === true && draft.updatedBy.sub === request.context.actor.sub)
    throw new TwoPersonRuleError(draftId);
  const liveModel = await live.getLiveModel(ws);
  const plan = planChanges(liveModel.functions, draft.functions);
  if (draft.baseEpoch !== liveModel.epoch)
    throw new StaleDraftError(draftId, draft.baseEpoch, liveModel.epoch, plan);
  if (plan.changes.length === 0) throw new NothingToDeployError(draftId, liveModel.epoch);
  if (request.planHash !== undefined) {
    const current = planHash(plan);
    if (current !== request.planHash) throw new PlanChangedError(request.planHash, current);
  }

  const deploymentId = keyedId ?? newDeploymentId();
  const now = (deps.now?.() ?? new Date()).toISOString();
  const record: Deployment = {
    deploymentId,
    workspace: ws,
    draftId,
    draftVersion: draft.version,
    status: 'Requested',
    baseEpoch: liveModel.epoch,
    targetEpoch: liveModel.epoch + 1,
    startedBy: request.context.actor,
    phases: { requestedAt: now },
    votes: {},
    counts: { create: plan.summary.create, update: plan.summary.update, delete: plan.summary.delete },
    executionArn: executionArnOf(deps.stateMachineArn, deploymentId),
  };
  await deployments.writeChangeSet(
    ws,
    deploymentId,
    changeSetOf(plan, draft.functions, deps.managedPrefix, ws),
    now,
  );
  try {
    await recordRequest(deps.stores, record, request.context, request.expected, draft.updatedBy);
  } catch (error) {
    // A random id's change set belongs to nobody now. A keyed one may be recorded by a
    // concurrent request with the same key: it is left for that request, or for collectGarbage.
    if (keyedId === undefined) await deployments.discardChangeSet(ws, deploymentId);
    throw error;
  }
  const stored = await deployments.get(ws, deploymentId);
  if (stored === undefined)
    throw new ServiceUnavailableError('the deployment record could not be read back', 1);
  return ensureStarted(deps, stored);
}

/**
 * The change items of a plan: one per created, updated or deleted function, with its managed
 * function name and the spec to stage (none for deletes). `previousVersion` is added by `begin`,
 * which reads the base epoch's routing table.
 */
export function changeSetOf(
  plan: Plan,
  functions: readonly FunctionSpec[],
  managedPrefix: string,
  ws: string,
): ChangeItem[] {
  const specs = new Map(functions.map((spec) => [spec.name, spec]));
  return plan.changes.map((change) => {
    const spec = specs.get(change.name);
    return {
      name: change.name,
      action: change.action,
      managedName: managedFunctionName(managedPrefix, ws, change.name),
      ...(change.action === 'delete' || spec === undefined ? {} : { spec }),
    };
  });
}

/**
 * Starts the execution of a `Requested` deployment (name = deployment id, input
 * `{ workspace, deploymentId }`); any other status is returned as is. An execution that
 * already exists under that name counts as started.
 *
 * @throws DeploymentNotStartedError (503) when StartExecution fails
 */
export async function ensureStarted(
  deps: Pick<DeploymentRequestDeps, 'sfn' | 'stateMachineArn'>,
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
    if (error instanceof ExecutionAlreadyExists) return record;
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
