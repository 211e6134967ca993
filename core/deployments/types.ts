/**
 * Shapes of deployments, shared by the deployments API, the deployment steps, the conductors
 * and the state machine. See docs/deployments.md for the flow and the contract.
 *
 * @module
 */
import type { ChangeAction } from '../plan.ts';
import type { FunctionSpec } from '../spec.ts';
import type { Actor } from '../store/types.ts';

/** A deployment's status; see docs/deployments.md for the transitions. */
export type DeploymentStatus =
  | 'Requested'
  | 'Preparing'
  | 'Committing'
  | 'Committed'
  | 'Vetoed'
  | 'Aborted'
  | 'CommitIncomplete';

/** Machine-readable veto reason codes; the table in docs/deployments.md says when each applies. */
export type ReasonCode =
  | 'RUNTIME_DEPRECATED'
  | 'RUNTIME_UNSUPPORTED'
  | 'OUT_OF_BOUNDS'
  | 'CONCURRENCY_UNAVAILABLE'
  | 'NAME_NOT_MANAGED'
  | 'NAME_OTHER_WORKSPACE'
  | 'LAMBDA_REJECTED'
  | 'CODE_MISSING';

/** Why a conductor vetoed: a code for machines, a message for people, the function concerned. */
export interface Reason {
  readonly code: ReasonCode;
  /** The function's name in the model, when the reason concerns one. */
  readonly function?: string;
  readonly message: string;
}

/** A conductor's vote in prepare. */
export interface Vote {
  readonly vote: 'accept' | 'veto';
  readonly reasons: readonly Reason[];
}

/** What the state machine sends a conductor. */
export interface ConductorRequest {
  readonly action: 'prepare' | 'commit' | 'abort';
  readonly workspace: string;
  readonly deploymentId: string;
  /** The epoch this deployment makes live if it commits. */
  readonly targetEpoch: number;
}

/** What a conductor answers; `vote`/`reasons` only for prepare, and only when `done`. */
export interface ConductorResponse {
  /** `false`: the time budget ran out; call again with the same request. */
  readonly done: boolean;
  readonly vote?: Vote['vote'];
  readonly reasons?: readonly Reason[];
  readonly counts: { readonly done: number; readonly remaining: number };
}

/** One entry of the conductor registry: a name and the Lambda function that implements it. */
export interface ConductorRegistration {
  /** Short name, `[a-z][a-z0-9-]*`, e.g. `lambda`. */
  readonly name: string;
  /** ARN (or name) of the conductor's Lambda function. */
  readonly functionArn: string;
}

/** One change of a deployment's change set (item `CHANGE#<name>`). */
export interface ChangeItem {
  readonly name: string;
  readonly action: ChangeAction;
  /** `<prefix>-<workspace>-<name>`. */
  readonly managedName: string;
  /** The spec to stage; absent for deletes. */
  readonly spec?: FunctionSpec;
  /** The version `live` pointed at in the base epoch; absent for creates. */
  readonly previousVersion?: string;
}

/** Phase of a conductor's work on one change. */
export type ResultPhase = 'prepare' | 'commit' | 'abort';

/** A conductor's progress on one change (item `RESULT#<conductor>#<name>`). */
export interface ResultItem {
  readonly conductor: string;
  readonly name: string;
  readonly phase: ResultPhase;
  /** `pending` while in progress; `staged`/`vetoed` after prepare; `committed`; `aborted`. */
  readonly status: 'pending' | 'staged' | 'vetoed' | 'committed' | 'aborted';
  /** The version prepare published, e.g. `"3"`. */
  readonly version?: string;
  /** Whether prepare created the function (abort deletes it then). */
  readonly created?: boolean;
  /**
   * Whether prepare published `version` itself (abort deletes it then). `false` when Lambda
   * answered PublishVersion with an existing version because `$LATEST` had not changed.
   */
  readonly published?: boolean;
  readonly reasons?: readonly Reason[];
  readonly attempts: number;
  /** ISO 8601 UTC. */
  readonly updatedAt: string;
}

/** The decision record: written once, before any commit or abort action. */
export interface Decision {
  readonly outcome: 'COMMIT' | 'ABORT';
  /** The epoch made live, for COMMIT. */
  readonly epoch?: number;
  /** ISO 8601 UTC. */
  readonly at: string;
}

/** A deployment record (item `DEPLOY#<deploymentId>` in the workspace partition). */
export interface Deployment {
  readonly deploymentId: string;
  readonly workspace: string;
  readonly draftId: string;
  readonly draftVersion: number;
  readonly status: DeploymentStatus;
  readonly baseEpoch: number;
  readonly targetEpoch: number;
  readonly startedBy: Actor;
  readonly phases: {
    readonly requestedAt: string;
    readonly preparingAt?: string;
    readonly decidedAt?: string;
    readonly committingAt?: string;
    readonly endedAt?: string;
  };
  readonly decision?: Decision;
  readonly votes: Readonly<Record<string, Vote>>;
  readonly counts: { readonly create: number; readonly update: number; readonly delete: number };
  readonly error?: { readonly error: string; readonly cause: string };
  readonly executionArn: string;
}

/** One function of an epoch's routing table: the published version its `live` alias serves. */
export interface Route {
  readonly functionName: string;
  readonly version: string;
}

/** The epoch snapshot object written to the snapshots bucket at commit. */
export interface EpochSnapshot {
  readonly workspace: string;
  readonly epoch: number;
  readonly deploymentId: string;
  readonly committedAt: string;
  readonly functions: readonly FunctionSpec[];
  readonly routing: Readonly<Record<string, Route>>;
}

/** The epoch marker object: the one write that makes an epoch live for data-plane readers. */
export interface EpochMarker {
  readonly workspace: string;
  readonly epoch: number;
  readonly snapshotKey: string;
  readonly deploymentId: string;
  readonly committedAt: string;
}

/** The workspace's deployment lock (item `LOCK`): at most one deployment in flight. */
export interface DeploymentLock {
  readonly deploymentId: string;
  /** ISO 8601 UTC. */
  readonly acquiredAt: string;
}

/** One committed epoch (item `EPOCH#<epoch, 10 digits>` in the workspace partition). */
export interface EpochItem {
  readonly epoch: number;
  /** The snapshot partition of the epoch's model: the deployment id. */
  readonly snapshotId: string;
  readonly deploymentId: string;
  /** Key of the epoch snapshot object in the snapshots bucket (`snapshotObjectKey`). */
  readonly snapshotKey: string;
  /** ISO 8601 UTC: the time of the decision record. */
  readonly committedAt: string;
}

/** Name of the conductor whose published versions make an epoch's routing table. */
export const lambdaConductorName = 'lambda';

/** The deployment steps the state machine calls (`action` of the deployment-steps Lambda's input). */
export type DeploymentStepName =
  | 'begin'
  | 'decide'
  | 'write-epoch'
  | 'finish-committed'
  | 'finish-aborted'
  | 'finish-commit-incomplete';

/** An error as the state machine's Catch hands it on (`ResultPath` of a Catch: `{ Error, Cause }`). */
export interface StepError {
  readonly Error?: string;
  readonly Cause?: string;
  /** Lower-case spellings are accepted too. */
  readonly error?: string;
  readonly cause?: string;
}

/** Input of `begin`. */
export interface BeginInput {
  readonly workspace: string;
  readonly deploymentId: string;
}

/** Output of `begin` (and the start of every later step's input). */
export interface BeginOutput {
  readonly workspace: string;
  readonly deploymentId: string;
  readonly targetEpoch: number;
  readonly conductors: readonly ConductorRegistration[];
}

/**
 * One conductor's final prepare answer, as the Prepare Map collects them (registry order):
 * a whole {@link ConductorResponse}, or just `{ conductor, vote, reasons }` (`done` absent
 * counts as done).
 */
export type ConductorVote = Omit<ConductorResponse, 'done' | 'counts'> & {
  readonly done?: boolean;
  readonly counts?: ConductorResponse['counts'];
  /** The conductor's name; when absent, the entry's index in the registry names it. */
  readonly conductor?: string;
};

/** Input of `decide`: the conductors' votes, or the error that ended prepare (or begin). */
export interface DecideInput {
  readonly workspace: string;
  readonly deploymentId: string;
  readonly votes?: readonly ConductorVote[];
  readonly prepareError?: StepError;
}

/** Output of `decide`. */
export interface DecideOutput extends BeginOutput {
  readonly decision: Decision['outcome'];
}

/** Input of `write-epoch` and the `finish-*` steps. */
export interface EpochStepInput {
  readonly workspace: string;
  readonly deploymentId: string;
  /** Required by `write-epoch`; the `finish-*` steps use the record's when absent. */
  readonly targetEpoch?: number;
  /** The error that ended the commit path (`finish-commit-incomplete`) or prepare (`finish-aborted`). */
  readonly error?: StepError;
}

/** Output of `write-epoch` and the `finish-*` steps. */
export interface EpochStepOutput {
  readonly workspace: string;
  readonly deploymentId: string;
  readonly targetEpoch: number;
  readonly status: DeploymentStatus;
}

/** Detail-types of greco's deployment events (source `greco.deployments`); see docs/events.md. */
export type DeploymentEventType =
  | 'Deployment Started'
  | 'Deployment Vetoed'
  | 'Deployment Aborted'
  | 'Deployment Committed'
  | 'Epoch Activated'
  | 'Deployment CommitIncomplete';

/** The `detail` of every deployment event; which optional members appear is in docs/events.md. */
export interface DeploymentEventDetail {
  readonly workspace: string;
  readonly deploymentId: string;
  readonly draftId: string;
  readonly status: DeploymentStatus;
  readonly baseEpoch: number;
  readonly targetEpoch: number;
  /** The epoch made live (`Deployment Committed`, `Epoch Activated`). */
  readonly epoch?: number;
  /** The epoch that was live before (`Epoch Activated`). */
  readonly previousEpoch?: number;
  readonly counts: Deployment['counts'];
  /** Every conductor's veto reasons (`Deployment Vetoed`). */
  readonly reasons?: readonly (Reason & { readonly conductor: string })[];
  readonly error?: Deployment['error'];
  readonly executionArn: string;
  /** The snapshot object of the epoch (`Epoch Activated`). */
  readonly snapshotKey?: string;
}
