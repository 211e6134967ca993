/**
 * Errors of deployments. The API's errors carry their HTTP status (problem+json); the
 * deployment steps' errors are named so that the state machine can tell them apart by
 * `Error` (Lambda's `errorType` is the error's `name`).
 *
 * @module
 */
import { GrecoError } from '../../domain/errors.ts';
import type { Plan } from '../plan.ts';

/** 409: the workspace already has a deployment in flight (it holds the deployment lock). */
export class DeploymentInProgressError extends GrecoError {
  readonly deploymentId: string;
  constructor(deploymentId: string, options?: ErrorOptions) {
    super(
      `deployment ${deploymentId} is in flight in this workspace: wait for it to end (GET /v1/deployments/${deploymentId})`,
      {
        status: 409,
        title: 'Deployment in progress',
        slug: 'deployment-in-progress',
        extensions: { deploymentId },
      },
      options,
    );
    this.name = 'DeploymentInProgressError';
    this.deploymentId = deploymentId;
  }
}

/** 409: the draft equals the live model; a deployment would change nothing. */
export class NothingToDeployError extends GrecoError {
  constructor(draftId: string, liveEpoch: number, options?: ErrorOptions) {
    super(
      `draft ${draftId} has no changes against the live model (epoch ${liveEpoch}): nothing to deploy`,
      { status: 409, title: 'Nothing to deploy', slug: 'nothing-to-deploy', extensions: { liveEpoch } },
      options,
    );
    this.name = 'NothingToDeployError';
  }
}

/**
 * 503: the deployment is recorded (status `Requested`, lock taken, draft frozen) but its
 * execution could not be started. Retrying the same request (same `Idempotency-Key`, or any
 * deploy request for the same draft) starts it: StartExecution is idempotent by name and input.
 */
export class DeploymentNotStartedError extends GrecoError {
  constructor(deploymentId: string, retryAfterSeconds = 5, options?: ErrorOptions) {
    super(
      `deployment ${deploymentId} is recorded but its execution could not be started: send the same request again to start it`,
      {
        status: 503,
        title: 'Service unavailable',
        slug: 'service-unavailable',
        headers: { 'Retry-After': String(retryAfterSeconds), location: `/v1/deployments/${deploymentId}` },
        extensions: { deploymentId },
      },
      options,
    );
    this.name = 'DeploymentNotStartedError';
  }
}

/** Base of the deployment steps' own errors. */
export class DeploymentStepError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DeploymentStepError';
  }
}

/** A step's input is malformed (a state machine bug): retrying cannot help. */
export class InvalidStepInputError extends DeploymentStepError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidStepInputError';
  }
}

/**
 * The deployment's records are not in a state this step can act on (no such deployment, the
 * draft is not frozen by it, no COMMIT decision before write-epoch, the live epoch moved
 * under the lock...). Nothing was changed.
 */
export class DeploymentStateError extends DeploymentStepError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DeploymentStateError';
  }
}

/** EventBridge refused or failed an event; the step's transition is written and a re-run publishes it. */
export class EventPublishError extends DeploymentStepError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EventPublishError';
  }
}

/** At most this many changes are listed in a `stale-draft` answer (greco's choice: the answer stays small). */
export const staleDraftMaxChanges = 50;

/**
 * 409 `stale-draft`: the draft was based on an epoch that is no longer live; deploying it would
 * silently revert what the deployments since then changed. Carries the plan against the live
 * epoch, bounded: `summary` counts every change, `changes` lists the first
 * {@link staleDraftMaxChanges}, `truncated` says whether there are more. `baseEpoch` is `null` for
 * a draft whose base epoch is unknown. Rebase the draft (`POST /v1/drafts/{id}/rebase`) and review
 * the plan again.
 */
export class StaleDraftError extends GrecoError {
  constructor(
    draftId: string,
    baseEpoch: number | undefined,
    liveEpoch: number,
    plan: Plan,
    options?: ErrorOptions,
  ) {
    super(
      `draft ${draftId} is based on epoch ${baseEpoch ?? 'unknown'}, but epoch ${liveEpoch} is live: rebase it (POST /v1/drafts/${draftId}/rebase) and review its plan again`,
      {
        status: 409,
        title: 'Stale draft',
        slug: 'stale-draft',
        extensions: {
          baseEpoch: baseEpoch ?? null,
          liveEpoch,
          plan: {
            summary: plan.summary,
            changes: plan.changes.slice(0, staleDraftMaxChanges),
            truncated: plan.changes.length > staleDraftMaxChanges,
          },
        },
      },
      options,
    );
    this.name = 'StaleDraftError';
  }
}

/**
 * 412 `plan-changed`: the deployment request carried a `planHash` that is not the hash of the
 * draft's plan now (the draft or the live model moved since the plan was read). Nothing starts.
 */
export class PlanChangedError extends GrecoError {
  constructor(expected: string, current: string, options?: ErrorOptions) {
    super(
      `the plan you reviewed (${expected}) is not the plan now (${current}): read the plan again (GET .../plan) and review it`,
      {
        status: 412,
        title: 'Plan changed',
        slug: 'plan-changed',
        extensions: { planHash: current },
      },
      options,
    );
    this.name = 'PlanChangedError';
  }
}

/**
 * 403 `two-person-rule`: the workspace runs under the two-person rule (`greco:twoPersonRule`) and
 * the approver deploying is the draft's last editor.
 */
export class TwoPersonRuleError extends GrecoError {
  constructor(draftId: string, options?: ErrorOptions) {
    super(
      `the two-person rule (greco:twoPersonRule) is on: draft ${draftId} was last edited by you, another approver must deploy it`,
      { status: 403, title: 'Forbidden', slug: 'two-person-rule', extensions: { rule: 'two-person-rule' } },
      options,
    );
    this.name = 'TwoPersonRuleError';
  }
}
