/**
 * commit and abort of one change on Lambda.
 *
 * - commit: `live` → the staged version (created for new functions), then the
 *   `greco:reserved-concurrency` tag and the concurrency through `applyCommittedConcurrency`
 *   (`domain/concurrency/`: a suspended function stays at 0); deleted functions lose their `live`
 *   alias only, the function and its versions stay for the retention.
 * - abort: deletes the function prepare created, else the versions it published (a version an
 *   alias serves is kept).
 *
 * @module
 */
import {
  CreateAliasCommand,
  DeleteAliasCommand,
  type LambdaClient,
  UpdateAliasCommand,
} from '@aws-sdk/client-lambda';
import { applyCommittedConcurrency } from '../../../domain/concurrency/protocol.ts';
import type { ChangeItem, ResultItem } from '../../deployments/types.ts';
import { ConductorStateError, describeError } from '../kit/errors.ts';
import { asTransient, ConductorLambdaError, errorName, isLambdaTransient } from './errors.ts';
import { deleteFunction, getFunction, versionsPublishedBy } from './functions.ts';
import { createdDescription, liveAlias } from './names.ts';

/**
 * Makes one staged change live.
 *
 * @throws TransientChangeError when Lambda does not answer usefully now (commit is repeated)
 * @throws ConductorStateError when the change was staged without a version
 * @throws ConductorLambdaError when Lambda refuses a call
 */
export async function commitFunction(
  lambda: LambdaClient,
  change: ChangeItem,
  staged: ResultItem,
): Promise<void> {
  const functionName = change.managedName;
  try {
    if (change.action === 'delete') {
      try {
        await lambda.send(new DeleteAliasCommand({ FunctionName: functionName, Name: liveAlias }));
      } catch (error) {
        if (errorName(error) !== 'ResourceNotFoundException') throw error;
      }
      return;
    }
    const version = staged.version;
    if (version === undefined) {
      throw new ConductorStateError(`function ${change.name} was staged without a version`);
    }
    await pointLive(lambda, functionName, version, change.action === 'create');
    await applyCommittedConcurrency(lambda, functionName, change.spec?.reservedConcurrency);
  } catch (error) {
    if (error instanceof ConductorStateError || isLambdaTransient(error)) throw asTransient(error);
    throw new ConductorLambdaError('commit', `commit of ${functionName} failed: ${describeError(error)}`, {
      cause: error,
    });
  }
}

/** `live` → `version`: CreateAlias for new functions, UpdateAlias otherwise, each falling back to the other. */
async function pointLive(
  lambda: LambdaClient,
  functionName: string,
  version: string,
  createFirst: boolean,
): Promise<void> {
  const create = () =>
    lambda.send(
      new CreateAliasCommand({ FunctionName: functionName, Name: liveAlias, FunctionVersion: version }),
    );
  const update = () =>
    lambda.send(
      new UpdateAliasCommand({ FunctionName: functionName, Name: liveAlias, FunctionVersion: version }),
    );
  if (createFirst) {
    try {
      await create();
    } catch (error) {
      if (errorName(error) !== 'ResourceConflictException') throw error;
      await update();
    }
    return;
  }
  try {
    await update();
  } catch (error) {
    if (errorName(error) !== 'ResourceNotFoundException') throw error;
    await create();
  }
}

/**
 * Removes what prepare staged for one recorded change. A `pending` change is re-read on the data
 * plane, since prepare may have crashed between a Lambda write and its record.
 *
 * @throws TransientChangeError when Lambda does not answer usefully now (abort is repeated)
 * @throws ConductorLambdaError when Lambda refuses a call
 */
export async function abortFunction(
  lambda: LambdaClient,
  deploymentId: string,
  change: ChangeItem,
  recorded: ResultItem,
): Promise<void> {
  const functionName = change.managedName;
  try {
    let created = recorded.created === true;
    let versions = recorded.published === true && recorded.version !== undefined ? [recorded.version] : [];
    if (recorded.status === 'pending' && change.action !== 'delete') {
      const current = await getFunction(lambda, functionName);
      if (current === undefined) return;
      if (current.Configuration?.Description === createdDescription(deploymentId)) created = true;
      if (!created) versions = await versionsPublishedBy(lambda, functionName, deploymentId);
    }
    if (created) {
      await deleteFunction(lambda, functionName, undefined);
      return;
    }
    for (const version of versions) await deleteFunction(lambda, functionName, version);
  } catch (error) {
    if (isLambdaTransient(error)) throw asTransient(error);
    throw new ConductorLambdaError('abort', `abort of ${functionName} failed: ${describeError(error)}`, {
      cause: error,
    });
  }
}
