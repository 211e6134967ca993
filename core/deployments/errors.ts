/**
 * Errors of deployments. The API's errors carry their HTTP status (problem+json); the
 * deployment steps' errors are named so that the state machine can tell them apart by
 * `Error` (Lambda's `errorType` is the error's `name`).
 *
 * @module
 */
import { GrecoError } from '../../domain/errors.ts';

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
