/**
 * Errors of the conductors. A conductor call that throws fails its state-machine task: the task's
 * Retry and Catch decide what follows (abort before the decision, CommitIncomplete after it).
 * Transient trouble (throttling, 5xx, a waiter out of time) never throws: the change stays pending
 * and the call answers `done: false`.
 */

/** Base class of conductor errors. */
export class ConductorError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConductorError';
  }
}

/** The request sent to a conductor is malformed; nothing was read or written. */
export class InvalidConductorRequestError extends ConductorError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidConductorRequestError';
  }
}

/**
 * The deployment's records contradict the contract, e.g. commit finds a change that prepare never
 * staged, or abort finds a committed one. Repeating the call does not help: an operator must look.
 */
export class ConductorStateError extends ConductorError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConductorStateError';
  }
}

/**
 * A Lambda call failed for a reason that is greco's fault or the data plane's, not the change's
 * (e.g. `AccessDeniedException`, a function deleted under the conductor during commit).
 */
export class ConductorLambdaError extends ConductorError {
  /** The Lambda API operation, e.g. `UpdateAlias`. */
  readonly operation: string;
  constructor(operation: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConductorLambdaError';
    this.operation = operation;
  }
}
