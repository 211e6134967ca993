/**
 * Errors of the conductors, and which of them mean "not now". A conductor call that throws fails
 * its state-machine task: the task's Retry and Catch decide what follows (abort before the
 * decision, CommitIncomplete after it). Transient trouble (throttling, 5xx, a waiter out of time)
 * never throws out of a call: the change stays pending and the call answers `done: false`.
 *
 * None of these reach an HTTP client; they carry the domain base's 500 so that a handler that
 * rendered one would leak nothing.
 *
 * @module
 */
import { GrecoError, ServiceUnavailableError } from '../../../domain/errors.ts';
import type { Reason } from '../../deployments/types.ts';

/** Base class of conductor errors (500: the failure is greco's or the data plane's, not the caller's). */
export class ConductorError extends GrecoError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { status: 500, title: 'Internal error', slug: 'internal' }, options);
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
 * A change could not progress now (throttled past the client's retry deadline, a 5xx, a waiter out
 * of time). Thrown by an adapter; the kit leaves the change as it is and answers `done: false`.
 */
export class TransientChangeError extends ConductorError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TransientChangeError';
  }
}

/**
 * A change the runtime cannot take: thrown by an adapter's `stage`, recorded by the kit as
 * `vetoed` with {@link reasons} (and what was staged before, so that abort removes it).
 */
export class ChangeVetoError extends ConductorError {
  /** Every reason, at least one. */
  readonly reasons: readonly Reason[];
  constructor(reason: Reason | readonly Reason[], options?: ErrorOptions) {
    const reasons: readonly Reason[] = Array.isArray(reason) ? reason : [reason as Reason];
    super(reasons.map((r) => r.message).join('; '), options);
    this.name = 'ChangeVetoError';
    this.reasons = reasons;
  }
}

/**
 * Whether an error means "not now" whatever the service: a {@link TransientChangeError}, the
 * domain's {@link ServiceUnavailableError} (503, e.g. `domain/concurrency` out of retries), or an
 * AWS SDK error with no HTTP answer, a 429 or a 5xx. Adapters add their service's own names
 * (`Conductor.isTransient`).
 */
export function isTransientError(error: unknown): boolean {
  if (error instanceof TransientChangeError || error instanceof ServiceUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  const metadata = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
  if (metadata === undefined) return false;
  const status = metadata.httpStatusCode;
  return status === undefined || status === 429 || status >= 500;
}

/** `Name: message` of an error, for messages and logs. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
