/**
 * The Lambda conductor's vetting before anything is staged: what a spec earns on its own (the
 * runtime, from `core/runtimes.ts`; the bounds, by `core/spec.ts`'s own validation; the managed
 * name, by Lambda's name limit) and what the whole change set asks of the account's concurrency.
 *
 * @module
 */
import { GetAccountSettingsCommand } from '@aws-sdk/client-lambda';
import { lambdaFunctionNameMaxLength } from '../../../domain/names.ts';
import type { ChangeItem, Reason } from '../../deployments/types.ts';
import { runtimeInfo, runtimeStatus, supportedRuntimeIds } from '../../runtimes.ts';
import { type FunctionSpec, Limits, storedFunctionSpecProblems } from '../../spec.ts';
import { forEachWithinBudget } from '../kit/budget.ts';
import type { ConductorCall } from '../kit/conductor.ts';
import { describeError, TransientChangeError } from '../kit/errors.ts';
import { ConductorLambdaError, isLambdaTransient } from './errors.ts';
import { getFunction } from './functions.ts';
import { type LambdaSettings, lambdaConductorDefaults } from './settings.ts';
import { waiterGraceSeconds } from './waiters.ts';

/**
 * Integer fields whose veto message says their range ("from min to max"): the bounds are
 * {@link Limits}', the check is `core/spec.ts`'s.
 */
const integerRanges: Readonly<Record<string, readonly [number, number]>> = {
  memoryMiB: [Limits.memoryMiBMin, Limits.memoryMiBMax],
  timeoutSeconds: [Limits.timeoutSecondsMin, Limits.timeoutSecondsMax],
  ephemeralStorageMiB: [Limits.ephemeralStorageMiBMin, Limits.ephemeralStorageMiBMax],
};

/**
 * Veto reasons a spec earns on its own: RUNTIME_DEPRECATED / RUNTIME_UNSUPPORTED (`core/runtimes.ts`),
 * and OUT_OF_BOUNDS for every field `core/spec.ts` refuses ({@link storedFunctionSpecProblems}) and
 * for a managed name longer than Lambda's 64 characters.
 *
 * @param managedName `<prefix>-<workspace>-<name>`
 * @param now the moment runtime deprecation is judged at
 * @example
 * specReasons({ ...spec, memoryMiB: 64 }, 'greco-acme-f', new Date());
 * // [{ code: 'OUT_OF_BOUNDS', function: 'f', message: 'memoryMiB must be an integer from 128 to 10240, got 64' }]
 */
export function specReasons(spec: FunctionSpec, managedName: string, now: Date): Reason[] {
  const reasons: Reason[] = [];
  const fn = spec.name;
  const status = runtimeStatus(spec.runtime, now);
  if (status.status === 'deprecated') {
    reasons.push({
      code: 'RUNTIME_DEPRECATED',
      function: fn,
      message: `runtime ${spec.runtime} was deprecated by Lambda on ${status.deprecatedOn}; choose a supported ${runtimeInfo(spec.runtime)?.family ?? ''} runtime`,
    });
  } else if (status.status === 'unknown') {
    reasons.push({
      code: 'RUNTIME_UNSUPPORTED',
      function: fn,
      message: `Lambda does not offer runtime ${JSON.stringify(spec.runtime)} for .zip packages; supported: ${supportedRuntimeIds(now).join(', ')}`,
    });
  }
  for (const problem of storedFunctionSpecProblems(spec, now)) {
    if (problem.field === 'runtime') continue; // reported above, with its own code
    const range = integerRanges[problem.field];
    const value = (spec as unknown as Record<string, unknown>)[problem.field];
    reasons.push({
      code: 'OUT_OF_BOUNDS',
      function: fn,
      message:
        range === undefined
          ? `${problem.field} ${problem.message}`
          : `${problem.field} must be an integer from ${range[0]} to ${range[1]}, got ${JSON.stringify(value)}`,
    });
  }
  if (managedName.length > lambdaFunctionNameMaxLength) {
    reasons.push({
      code: 'OUT_OF_BOUNDS',
      function: fn,
      message: `the Lambda function name ${managedName} is longer than ${lambdaFunctionNameMaxLength} characters`,
    });
  }
  return reasons;
}

/** Reasons found in one change alone: a create or update without a spec, or {@link specReasons}. */
export function changeReasons(change: ChangeItem, now: Date): Reason[] {
  if (change.action === 'delete') return [];
  if (change.spec === undefined) {
    return [
      {
        code: 'OUT_OF_BOUNDS',
        function: change.name,
        message: `the ${change.action} of ${change.name} carries no spec`,
      },
    ];
  }
  return specReasons(change.spec, change.managedName, now);
}

/**
 * CONCURRENCY_UNAVAILABLE: the account's unreserved concurrency (GetAccountSettings) plus what the
 * changed functions reserve today (GetFunction), minus what the model reserves for them, must stay
 * at or above Lambda's 100. Every function that reserves concurrency gets the reason.
 *
 * @throws TransientChangeError when Lambda does not answer usefully now, or the reads outlasted the call
 * @throws ConductorLambdaError when Lambda refuses a call
 */
export async function concurrencyReasons(
  settings: LambdaSettings,
  changes: readonly ChangeItem[],
  call: ConductorCall,
): Promise<Map<string, Reason[]>> {
  const reserving = changes.filter(
    (change) => change.action !== 'delete' && (change.spec?.reservedConcurrency ?? 0) > 0,
  );
  if (reserving.length === 0) return new Map();
  const wanted = reserving.reduce((sum, change) => sum + (change.spec?.reservedConcurrency ?? 0), 0);
  let unreserved: number;
  try {
    const settingsOfAccount = await settings.lambda.send(new GetAccountSettingsCommand({}));
    unreserved = settingsOfAccount.AccountLimit?.UnreservedConcurrentExecutions ?? 0;
  } catch (error) {
    if (isLambdaTransient(error))
      throw new TransientChangeError(`GetAccountSettings: ${describeError(error)}`, { cause: error });
    throw new ConductorLambdaError(
      'GetAccountSettings',
      `GetAccountSettings failed: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  }
  let reservedToday = 0;
  let complete = true;
  await forEachWithinBudget(
    reserving,
    async (change) => {
      try {
        const current = await getFunction(settings.lambda, change.managedName);
        reservedToday += current?.Concurrency?.ReservedConcurrentExecutions ?? 0;
      } catch (error) {
        if (isLambdaTransient(error)) complete = false;
        throw error;
      }
      return 'done';
    },
    { concurrency: settings.maxInFlight, deadline: Number.POSITIVE_INFINITY, isTransient: isLambdaTransient },
  );
  if (!complete || Date.now() > call.deadline + waiterGraceSeconds * 1000) {
    throw new TransientChangeError(
      'the concurrency of the changed functions could not all be read in this call',
    );
  }
  const minimum = lambdaConductorDefaults.minUnreservedConcurrency;
  const left = unreserved + reservedToday - wanted;
  if (left >= minimum) return new Map();
  const message = `the model reserves ${wanted} concurrent executions for ${reserving.length} function(s), which would leave ${left} unreserved in the account (${unreserved} unreserved now, ${reservedToday} reserved by these functions today); Lambda keeps at least ${minimum} unreserved: lower reservedConcurrency or raise the account's concurrency quota`;
  return new Map(
    reserving.map((change) => [
      change.name,
      [{ code: 'CONCURRENCY_UNAVAILABLE', function: change.name, message }],
    ]),
  );
}
