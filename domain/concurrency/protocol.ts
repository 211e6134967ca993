/**
 * The concurrency protocol shared by the hot path (start, suspend) and the Lambda conductor
 * (commit). Both write the same two things on a managed function, with no store in common: its
 * tags (`greco:suspended`, written by the hot path; `greco:reserved-concurrency`, written by the
 * conductor) and its reserved concurrency. The rule that makes them converge whatever the
 * interleaving: the tags are the intent, the concurrency follows them, and every writer finishes
 * by reading the function back and correcting the concurrency to what the tags say
 * ({@link settleConcurrency}). docs/hot-path.md walks through the interleavings.
 */
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import {
  lambdaFunctionNameMaxLength,
  lambdaFunctionNamePattern,
  managedFunctionName,
  modelFunctionNamePattern,
} from '../names.ts';
import { concurrencyTagValue, configuredConcurrencyFromTags, GrecoTags } from '../tags.ts';
import { ConcurrencyNotSettledError } from './errors.ts';
import {
  type ObservedFunction,
  readFunction,
  setReservedConcurrency,
  tagFunction,
  untagFunction,
} from './lambda.ts';

/** The value of {@link GrecoTags.suspended} on a suspended function. */
export const suspendedTagValue = 'true';

/**
 * Most reserved concurrency greco writes: the account's default concurrency quota is 1,000 and
 * Lambda keeps 100 unreserved (Lambda quotas, "Concurrent executions"); the tag format allows up to
 * 7 digits for raised quotas.
 */
export const maxReservedConcurrency = 9_999_999;

/**
 * How many read-and-correct rounds {@link settleConcurrency} runs before giving up. Each round is
 * one `GetFunction` plus at most one concurrency write; two are enough unless other writers change
 * the tags continuously.
 */
export const maxSettleRounds = 4;

/** A function of a workspace, as the verbs address it. */
export interface FunctionTarget {
  /** Prefix of managed function names (context `greco:managedPrefix`, default `greco`). */
  readonly managedPrefix: string;
  /** The caller's workspace, from its token. */
  readonly workspace: string;
  /** The function's name in the model (the `{name}` of the path). */
  readonly name: string;
}

/** The answer of every verb: `GET /v1/functions/{name}` and the bodies of start and suspend. */
export interface HotPathFunctionState {
  /** The function's name in the model. */
  readonly name: string;
  /** The Lambda function name, `<prefix>-<workspace>-<name>`. */
  readonly functionName: string;
  /** `'suspended'` while the function carries `greco:suspended=true`, else `'running'`. */
  readonly state: 'running' | 'suspended';
  /**
   * The reserved concurrency the live model configures (what start restores), from the
   * `greco:reserved-concurrency` tag; `null` when unreserved or not committed yet.
   */
  readonly reservedConcurrency: number | null;
  /** The reserved concurrency Lambda applies now (0 while suspended); `null` when unreserved. */
  readonly currentConcurrency: number | null;
}

/** What start or suspend did. */
export interface VerbOutcome {
  readonly function: HotPathFunctionState;
  /** The function's ARN, for events. */
  readonly functionArn: string;
  /** `false` when the function already was in the asked state and nothing was written. */
  readonly changed: boolean;
}

/**
 * The Lambda function name of a managed function: `<prefix>-<workspace>-<name>`.
 *
 * @throws ValidationError (400, field `name`) when `name` has characters Lambda does not allow
 */
export function hotPathFunctionName(target: FunctionTarget): string {
  if (!modelFunctionNamePattern.test(target.name)) {
    throw new ValidationError([
      {
        field: 'name',
        message: `must be 1 to ${lambdaFunctionNameMaxLength} letters, digits, '-' or '_' (Lambda function names), got ${JSON.stringify(target.name)}`,
      },
    ]);
  }
  return managedFunctionName(target.managedPrefix, target.workspace, target.name);
}

/**
 * Reads the state of a function of the caller's workspace. One `GetFunction`; writes nothing.
 *
 * @throws NotFoundError (404) when the function does not exist, is not managed by greco, or belongs
 *   to another workspace (the answer does not say which)
 * @throws ValidationError, LambdaUnavailableError, LambdaCallError
 */
export async function getFunctionState(
  lambda: LambdaClient,
  target: FunctionTarget,
): Promise<HotPathFunctionState> {
  return describe(target.name, await findManagedFunction(lambda, target));
}

/**
 * Suspends a function: tags it `greco:suspended=true` FIRST, then sets its reserved concurrency to
 * 0 (Lambda then answers 429 to invocations and releases warm capacity), then settles.
 * Tag first, so that a conductor commit that reads the tag after this point leaves the
 * concurrency at 0, and one that read it before is corrected by its own final read.
 *
 * Idempotent: a function already tagged suspended AND at concurrency 0 gets no write at all.
 *
 * @throws NotFoundError, ValidationError, LambdaUnavailableError, LambdaCallError,
 *   ConcurrencyNotSettledError
 */
export async function suspendFunction(lambda: LambdaClient, target: FunctionTarget): Promise<VerbOutcome> {
  const before = await findManagedFunction(lambda, target);
  if (isSuspended(before.tags) && before.reservedConcurrentExecutions === 0) {
    return { function: describe(target.name, before), functionArn: before.functionArn, changed: false };
  }
  if (!isSuspended(before.tags)) {
    await tagFunction(lambda, before, { [GrecoTags.suspended]: suspendedTagValue });
  }
  if (before.reservedConcurrentExecutions !== 0) {
    await setReservedConcurrency(lambda, before.functionName, 0);
  }
  const after = await settleConcurrency(lambda, await reread(lambda, before));
  return { function: describe(target.name, after), functionArn: after.functionArn, changed: true };
}

/**
 * Starts a function: reads the configured concurrency from `greco:reserved-concurrency`, applies it
 * (`PutFunctionConcurrency n`, or `DeleteFunctionConcurrency` for `none`), removes
 * `greco:suspended`, then reads the function back and re-applies if a deployment committed another
 * value meanwhile ({@link settleConcurrency}).
 *
 * Idempotent: a running function whose concurrency already is the configured one gets no write.
 *
 * @throws ConflictError (409) when the function has no committed concurrency tag (created by a
 *   deployment that has not committed yet), or Lambda refuses the value (too little unreserved
 *   concurrency left in the account)
 * @throws NotFoundError, ValidationError, LambdaUnavailableError, LambdaCallError,
 *   ConcurrencyNotSettledError
 */
export async function startFunction(lambda: LambdaClient, target: FunctionTarget): Promise<VerbOutcome> {
  const before = await findManagedFunction(lambda, target);
  const configured = configuredConcurrencyFromTags(before.tags);
  if (configured === null) {
    throw new ConflictError(
      `function ${target.name} has no committed reserved concurrency (tag ${GrecoTags.reservedConcurrency}); it can be started once a deployment has committed it`,
    );
  }
  if (!isSuspended(before.tags) && before.reservedConcurrentExecutions === configured) {
    return { function: describe(target.name, before), functionArn: before.functionArn, changed: false };
  }
  if (before.reservedConcurrentExecutions !== configured) {
    await setReservedConcurrency(lambda, before.functionName, configured);
  }
  if (isSuspended(before.tags)) {
    await untagFunction(lambda, before, [GrecoTags.suspended]);
  }
  const after = await settleConcurrency(lambda, await reread(lambda, before));
  return { function: describe(target.name, after), functionArn: after.functionArn, changed: true };
}

/**
 * The conductor's half of the protocol, called at commit for every function whose reserved
 * concurrency the committed model sets: writes `greco:reserved-concurrency` (what start will
 * restore), applies the concurrency only when the function is not suspended, then reads the
 * function back and forces 0 if `greco:suspended` appeared meanwhile ({@link settleConcurrency}).
 * A suspended function thus stays suspended across deployments, and its new configured value is
 * what start restores.
 *
 * Idempotent and safe to retry after a crash at any point. Calls: one or two `GetFunction`, at most
 * one `TagResource` and, per settle round, at most one concurrency write.
 *
 * @param functionName the Lambda function name, `<prefix>-<workspace>-<name>`
 * @param reservedConcurrency the model's reserved concurrent executions, or `undefined` for unreserved
 * @returns the function as last read, settled
 * @throws RangeError when `reservedConcurrency` is not an integer in 0..{@link maxReservedConcurrency}
 * @throws NotFoundError when the function does not exist
 * @throws ConflictError, LambdaUnavailableError, LambdaCallError, ConcurrencyNotSettledError
 * @example
 * await applyCommittedConcurrency(lambda, 'greco-acme-resize', 10);
 */
export async function applyCommittedConcurrency(
  lambda: LambdaClient,
  functionName: string,
  reservedConcurrency: number | undefined,
): Promise<ObservedFunction> {
  if (
    reservedConcurrency !== undefined &&
    (!Number.isInteger(reservedConcurrency) ||
      reservedConcurrency < 0 ||
      reservedConcurrency > maxReservedConcurrency)
  ) {
    throw new RangeError(
      `reservedConcurrency must be an integer from 0 to ${maxReservedConcurrency} or undefined, got ${reservedConcurrency}`,
    );
  }
  const before = await readFunction(lambda, functionName);
  if (before === undefined) throw new NotFoundError(`function ${functionName} not found`);
  const tagValue = concurrencyTagValue(reservedConcurrency);
  if (before.tags[GrecoTags.reservedConcurrency] === tagValue) return settleConcurrency(lambda, before);
  await tagFunction(lambda, before, { [GrecoTags.reservedConcurrency]: tagValue });
  return settleConcurrency(lambda, await reread(lambda, before));
}

/**
 * Brings a function's reserved concurrency to what its tags say, and checks it stayed there:
 * 0 when `greco:suspended=true`, else the `greco:reserved-concurrency` value (`none`: unreserved);
 * a function with neither a suspended tag nor a valid configured value is left as it is.
 *
 * Each round compares the last read with the tags of that same read, writes the concurrency if
 * they differ, and reads again; it returns on the first read that agrees with itself. Because
 * every writer (start, suspend, commit) ends here, the writer that changes the tags last also reads
 * last, so the final concurrency always matches the final tags.
 *
 * @param observed the function as just read (after this writer's own tag write)
 * @returns the function as last read, settled
 * @throws ConcurrencyNotSettledError after {@link maxSettleRounds} rounds that kept finding changes
 */
export async function settleConcurrency(
  lambda: LambdaClient,
  observed: ObservedFunction,
): Promise<ObservedFunction> {
  let current = observed;
  for (let round = 0; ; round++) {
    const target = targetConcurrency(current.tags);
    if (target === 'leave' || target.value === current.reservedConcurrentExecutions) return current;
    if (round === maxSettleRounds) throw new ConcurrencyNotSettledError(current.functionName, round);
    await setReservedConcurrency(lambda, current.functionName, target.value);
    current = await reread(lambda, current);
  }
}

/**
 * The reserved concurrency a function's tags call for: `{ value: 0 }` when suspended, the configured
 * value (`undefined` = unreserved) otherwise, or `'leave'` when the function has no valid configured
 * value (not committed by greco yet).
 */
export function targetConcurrency(
  tags: Readonly<Record<string, string>>,
): { value: number | undefined } | 'leave' {
  if (isSuspended(tags)) return { value: 0 };
  const configured = configuredConcurrencyFromTags(tags);
  return configured === null ? 'leave' : { value: configured };
}

/** Whether a function's tags say an operator suspended it. */
export function isSuspended(tags: Readonly<Record<string, string>>): boolean {
  return tags[GrecoTags.suspended] === suspendedTagValue;
}

/** Reads the function named by `target` and checks it is greco's and the caller's; 404 otherwise. */
async function findManagedFunction(lambda: LambdaClient, target: FunctionTarget): Promise<ObservedFunction> {
  const functionName = hotPathFunctionName(target);
  const notFound = new NotFoundError(`function ${target.name} not found`);
  // A name Lambda cannot hold (e.g. a workspace id too long for it) cannot exist: no call needed.
  if (!lambdaFunctionNamePattern.test(functionName)) throw notFound;
  const fn = await readFunction(lambda, functionName);
  if (fn === undefined) throw notFound;
  const { tags } = fn;
  // `<prefix>-a-b-c` is both workspace `a`, name `b-c` and workspace `a-b`, name `c`: the tags decide.
  if (
    tags[GrecoTags.managed] !== 'true' ||
    tags[GrecoTags.workspace] !== target.workspace ||
    (tags[GrecoTags.functionName] !== undefined && tags[GrecoTags.functionName] !== target.name)
  ) {
    throw notFound;
  }
  return fn;
}

/** Reads a function again; it vanishing between two calls of one verb is a 404. */
async function reread(lambda: LambdaClient, fn: ObservedFunction): Promise<ObservedFunction> {
  const again = await readFunction(lambda, fn.functionName);
  if (again === undefined) throw new NotFoundError(`function ${fn.functionName} not found`);
  return again;
}

function describe(name: string, fn: ObservedFunction): HotPathFunctionState {
  return {
    name,
    functionName: fn.functionName,
    state: isSuspended(fn.tags) ? 'suspended' : 'running',
    reservedConcurrency: configuredConcurrencyFromTags(fn.tags) ?? null,
    currentConcurrency: fn.reservedConcurrentExecutions ?? null,
  };
}
