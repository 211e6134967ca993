/**
 * The rules of the management API's path parameters, each from the module that owns the fact:
 * function names (domain/names.ts), draft ids (the config store's key-safe ids) and deployment
 * ids (core/deployments/ids.ts). Route declarations name them in `params`; the router
 * (./router.ts `dispatch`) checks every value before the handler runs.
 *
 * @module
 */
import { lambdaFunctionNameMaxLength, modelFunctionNamePattern } from '../../domain/names.ts';
import { deploymentIdPattern } from '../deployments/ids.ts';
import { keySafeId } from '../store/keys.ts';
import type { PathParam } from './types.ts';

/**
 * `{name}`: a model function name. Its workspace's exact bound is checked where the name is
 * written (core/spec.ts); in a path, anything longer than a Lambda function name cannot exist.
 */
export const functionNameParam: PathParam = {
  pattern: modelFunctionNamePattern,
  description: `a function name: 1 to ${lambdaFunctionNameMaxLength} letters, digits, - or _`,
};

/** `{id}` of a draft: an id `POST /v1/drafts` returned (the config store's key-safe ids). */
export const draftIdParam: PathParam = {
  pattern: keySafeId,
  description: 'a draft id as POST /v1/drafts returns it (letters, digits, - or _)',
};

/** `{id}` of a deployment: an id `POST /v1/drafts/{id}/deployments` returned. */
export const deploymentIdParam: PathParam = {
  pattern: deploymentIdPattern,
  description: 'a deployment id as POST /v1/drafts/{id}/deployments returns it (dep-…)',
};
