/**
 * Errors of the local deployer. Every one names what it is about (stack, logical id, type or
 * intrinsic function) so that a failed `npm start` says what to change.
 */

/** Base class of every error raised while synthesizing or deploying into the local cloud. */
export class LocalDeployError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LocalDeployError';
  }
}

/** A template that CloudFormation itself would reject, or an intrinsic that cannot be resolved. */
export class TemplateError extends LocalDeployError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TemplateError';
  }
}

/**
 * A resource type (or a form of a supported type) that the local cloud cannot run. Raised for
 * the whole cloud assembly before anything is created: nothing is skipped silently.
 */
export class UnsupportedResourceError extends LocalDeployError {
  readonly stackName: string;
  readonly logicalId: string;
  readonly resourceType: string;
  constructor(stackName: string, logicalId: string, resourceType: string, reason?: string) {
    super(
      reason === undefined
        ? `${stackName}/${logicalId}: resource type ${resourceType} is not supported by the local cloud`
        : `${stackName}/${logicalId} (${resourceType}): ${reason}`,
    );
    this.name = 'UnsupportedResourceError';
    this.stackName = stackName;
    this.logicalId = logicalId;
    this.resourceType = resourceType;
  }
}

/** Resources (or stacks) that depend on each other in a circle, as CloudFormation's "Circular dependency". */
export class DependencyCycleError extends LocalDeployError {
  /** The ids on the cycle, in order, the first repeated at the end. */
  readonly cycle: readonly string[];
  constructor(what: string, cycle: readonly string[]) {
    super(`circular dependency between ${what}: ${cycle.join(' -> ')}`);
    this.name = 'DependencyCycleError';
    this.cycle = cycle;
  }
}

/** `node bin/greco.ts` (the CDK app) failed, or wrote no usable cloud assembly. */
export class SynthError extends LocalDeployError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SynthError';
  }
}

/** Creating one resource in an emulator failed; `cause` is the emulator's error. */
export class ResourceCreateError extends LocalDeployError {
  readonly stackName: string;
  readonly logicalId: string;
  readonly resourceType: string;
  constructor(stackName: string, logicalId: string, resourceType: string, options?: ErrorOptions) {
    const cause = options?.cause;
    const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(`${stackName}/${logicalId} (${resourceType}) could not be created: ${detail}`, options);
    this.name = 'ResourceCreateError';
    this.stackName = stackName;
    this.logicalId = logicalId;
    this.resourceType = resourceType;
  }
}
