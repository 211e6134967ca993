/**
 * Waiting for Lambda to settle a function between two writes (a function being updated is
 * `Pending` / `LastUpdateStatus=InProgress`: never UpdateFunctionCode and
 * UpdateFunctionConfiguration back to back), with the SDK's waiters paced by the call's budget.
 *
 * @module
 */
import {
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
  waitUntilPublishedVersionActive,
} from '@aws-sdk/client-lambda';
import type { ChangeItem } from '../../deployments/types.ts';
import { ChangeVetoError, TransientChangeError } from '../kit/errors.ts';
import { errorName, failureReason } from './errors.ts';
import type { LambdaSettings } from './settings.ts';

/**
 * Seconds a waiter may run past the call's deadline: the handler keeps a larger margin
 * (`kit/budget.ts` `budgetMarginMs`).
 */
export const waiterGraceSeconds = 10;

/** Waiter timing: polls between the configured delays, until a little past the call's deadline. */
function waiterConfig(settings: LambdaSettings, deadline: number) {
  const secondsLeft = Math.ceil((deadline - Date.now()) / 1000) + waiterGraceSeconds;
  return {
    client: settings.lambda,
    minDelay: settings.waiterMinDelaySeconds,
    maxDelay: settings.waiterMaxDelaySeconds,
    maxWaitTime: Math.max(settings.waiterMinDelaySeconds + 1, secondsLeft),
  };
}

/**
 * Runs one waiter. Out of time is transient; the waiter's FAILURE state (Lambda could not bring
 * the function up) vetoes the change with LAMBDA_REJECTED; anything else is rethrown.
 *
 * @throws TransientChangeError when the waiter ran out of time
 * @throws ChangeVetoError when Lambda could not make the function ready
 */
async function wait(waiter: string, change: ChangeItem, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (errorName(error) === 'TimeoutError' || errorName(error) === 'AbortError') {
      throw new TransientChangeError(`waiter ${waiter} ran out of time for ${change.managedName}`, {
        cause: error,
      });
    }
    // Anything but the waiter's FAILURE state (Lambda could not bring the function up) is ours.
    if (!(error instanceof Error) || !error.message.startsWith('{"state":"FAILURE"')) throw error;
    throw new ChangeVetoError({
      code: 'LAMBDA_REJECTED',
      function: change.name,
      message: `Lambda could not make ${change.managedName} ready (${waiter}): ${failureReason(error)}`,
    });
  }
}

/** Waits until the function is Active and no update is in progress. */
export async function waitSettled(
  settings: LambdaSettings,
  deadline: number,
  change: ChangeItem,
): Promise<void> {
  const functionName = change.managedName;
  await wait('FunctionActiveV2', change, () =>
    waitUntilFunctionActiveV2(waiterConfig(settings, deadline), { FunctionName: functionName }),
  );
  await wait('FunctionUpdatedV2', change, () =>
    waitUntilFunctionUpdatedV2(waiterConfig(settings, deadline), { FunctionName: functionName }),
  );
}

/** Waits until a published version is Active. */
export async function waitPublished(
  settings: LambdaSettings,
  deadline: number,
  change: ChangeItem,
  version: string,
): Promise<void> {
  await wait('PublishedVersionActive', change, () =>
    waitUntilPublishedVersionActive(waiterConfig(settings, deadline), {
      FunctionName: change.managedName,
      Qualifier: version,
    }),
  );
}
