/**
 * The Lambda conductor: stages, commits and aborts a deployment's changes on Lambda functions
 * named `<prefix>-<workspace>-<name>`, following the conductor contract (docs/conductors.md).
 *
 * - prepare: per change, CreateFunction (code from the artifacts bucket, the data-plane execution
 *   role, greco's tags, `Publish: false`) or UpdateFunctionCode / UpdateFunctionConfiguration (one
 *   at a time, waiting in between), then PublishVersion with the expected `CodeSha256` and the
 *   deployment id in its `Description`. `live` is never touched. Votes accept, or veto with
 *   reason codes.
 * - commit: `live` → the staged version (created for new functions), then the
 *   `greco:reserved-concurrency` tag and the concurrency through `applyCommittedConcurrency`
 *   (a suspended function stays at 0); deleted functions lose their `live` alias only.
 * - abort: deletes the functions prepare created and the versions it published.
 *
 * Crash safety: a change is recorded `pending` before its first Lambda write; a re-run re-reads
 * the data plane for pending changes and recognises its own work by name, tags and descriptions
 * (the function's `Description` names the deployment that created it, a version's `Description`
 * the deployment that published it), so nothing is created or published twice.
 */
import {
  CreateAliasCommand,
  CreateFunctionCommand,
  type CreateFunctionCommandInput,
  DeleteAliasCommand,
  DeleteFunctionCommand,
  type FunctionConfiguration,
  GetAccountSettingsCommand,
  GetFunctionCommand,
  type GetFunctionCommandOutput,
  type LambdaClient,
  ListVersionsByFunctionCommand,
  PublishVersionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
  waitUntilPublishedVersionActive,
} from '@aws-sdk/client-lambda';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type {
  ChangeItem,
  ConductorRequest,
  ConductorResponse,
  Reason,
  ResultItem,
} from '../deployments/types.ts';
import { ServiceUnavailableError } from '../errors.ts';
import { applyCommittedConcurrency } from '../hotpath/protocol.ts';
import { runtimeInfo, runtimeStatus, supportedRuntimeIds } from '../runtimes.ts';
import {
  Architectures,
  type FunctionSpec,
  Limits,
  managedFunctionName,
  validateWorkspaceId,
} from '../spec.ts';
import { GrecoTags } from '../tags.ts';
import { ConductorLambdaError, ConductorStateError, InvalidConductorRequestError } from './errors.ts';
import { type DeploymentRecords, loadChanges, loadResults, putResult } from './progress.ts';
import { conductorRateDefaults, installRateLimit, RateLimiter, rateLimitersOf } from './rate-limit.ts';

/** The Lambda conductor's name in the registry and in `RESULT#<conductor>#<name>` keys. */
export const lambdaConductorName = 'lambda';

/** Name of the alias that serves a function's live version. */
export const liveAlias = 'live';

/** Defaults of {@link LambdaConductorOptions}. */
export const lambdaConductorDefaults = {
  /** Changes worked on at once: enough to keep the rate limit busy while each waits for Lambda. */
  maxInFlight: 8,
  /** Time budget of one call when none is given, in ms (a Lambda invocation lasts up to 900 s). */
  budgetMs: 60_000,
  /** Smallest pause between two waiter polls, in seconds. */
  waiterMinDelaySeconds: 1,
  /** Largest pause between two waiter polls, in seconds. */
  waiterMaxDelaySeconds: 5,
  /**
   * Lambda keeps at least 100 concurrent executions unreserved in an account (Lambda quotas,
   * "Concurrent executions"; PutFunctionConcurrency refuses to go below).
   */
  minUnreservedConcurrency: 100,
} as const;

/** Options of {@link LambdaConductor}. */
export interface LambdaConductorOptions {
  /** The Lambda client; a rate limiter is installed on it unless it has one ({@link createConductorLambdaClient}). */
  readonly lambda: LambdaClient;
  /** Document client of the config table. */
  readonly ddb: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Bucket of code zips, by `code.s3Key` of the spec (`code/<sha256>.zip`). */
  readonly artifactsBucket: string;
  /** The data-plane execution role: the only `Role` the conductor gives functions. */
  readonly executionRoleArn: string;
  /** Prefix of managed function names (`GRECO_MANAGED_PREFIX`). */
  readonly managedPrefix: string;
  /**
   * Lambda control-plane requests per second when the client has no limiter yet
   * (`GRECO_CONDUCTOR_RATE_LIMIT`). @default 10
   */
  readonly rateLimit?: number;
  /** Changes worked on at once. @default 8 */
  readonly maxInFlight?: number;
  /** Time budget of a call that is given none, in ms. @default 60000 */
  readonly budgetMs?: number;
  /** Smallest pause between waiter polls, in seconds (> 0). @default 1 */
  readonly waiterMinDelaySeconds?: number;
  /** Largest pause between waiter polls, in seconds. @default 5 */
  readonly waiterMaxDelaySeconds?: number;
  /** Clock, for runtime deprecation dates and `updatedAt`. @default - the current time */
  readonly now?: () => Date;
}

/** Lambda errors that mean "Lambda refused this code or configuration" (reason LAMBDA_REJECTED). */
const rejectionErrorNames = new Set([
  'InvalidParameterValueException',
  'ValidationException',
  'CodeStorageExceededException',
  'CodeVerificationFailedException',
  'InvalidCodeSignatureException',
  'CodeSigningConfigNotFoundException',
  'RequestTooLargeException',
]);

/** Lambda errors that mean "not now": the change stays pending and the call is repeated. */
const transientErrorNames = new Set([
  'TooManyRequestsException',
  'ServiceException',
  'ResourceConflictException',
  'ResourceNotReadyException',
  'EC2ThrottledException',
  'TimeoutError',
  'AbortError',
]);

/** A change could not progress now (throttled past the retry deadline, 5xx, a waiter out of time). */
class TransientError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TransientError';
  }
}

/** A change that must be vetoed: carries the reason. */
class VetoError extends Error {
  readonly reason: Reason;
  constructor(reason: Reason) {
    super(reason.message);
    this.name = 'VetoError';
    this.reason = reason;
  }
}

/** One call's context: whose deployment, and when the call must stop starting work (ms since the epoch). */
interface CallContext {
  readonly workspace: string;
  readonly deploymentId: string;
  readonly deadline: number;
}

/** Seconds a waiter may run past the call's deadline: the handler keeps a larger margin. */
const waiterGraceSeconds = 10;

/** What prepare has done to one change so far (what abort must undo). */
interface Staging {
  created: boolean;
  published: boolean;
  version?: string;
}

/**
 * The Lambda conductor. One instance per container; every call is independent and idempotent.
 *
 * @example
 * const conductor = new LambdaConductor({ lambda, ddb, tableName, artifactsBucket, executionRoleArn, managedPrefix: 'greco' });
 * const answer = await conductor.run({ action: 'prepare', workspace: 'acme', deploymentId, targetEpoch: 4 }, 60_000);
 */
export class LambdaConductor {
  readonly #lambda: LambdaClient;
  readonly #ddb: DynamoDBDocumentClient;
  readonly #tableName: string;
  readonly #artifactsBucket: string;
  readonly #roleArn: string;
  readonly #prefix: string;
  readonly #maxInFlight: number;
  readonly #budgetMs: number;
  readonly #waiterMinDelay: number;
  readonly #waiterMaxDelay: number;
  readonly #now: () => Date;

  /** @throws RangeError when a number option is out of range */
  constructor(options: LambdaConductorOptions) {
    this.#lambda = options.lambda;
    this.#ddb = options.ddb;
    this.#tableName = options.tableName;
    this.#artifactsBucket = options.artifactsBucket;
    this.#roleArn = options.executionRoleArn;
    this.#prefix = options.managedPrefix;
    this.#maxInFlight = options.maxInFlight ?? lambdaConductorDefaults.maxInFlight;
    this.#budgetMs = options.budgetMs ?? lambdaConductorDefaults.budgetMs;
    this.#waiterMinDelay = options.waiterMinDelaySeconds ?? lambdaConductorDefaults.waiterMinDelaySeconds;
    this.#waiterMaxDelay = options.waiterMaxDelaySeconds ?? lambdaConductorDefaults.waiterMaxDelaySeconds;
    this.#now = options.now ?? (() => new Date());
    if (!Number.isInteger(this.#maxInFlight) || this.#maxInFlight < 1) {
      throw new RangeError(`maxInFlight must be an integer >= 1, got ${this.#maxInFlight}`);
    }
    if (!(this.#waiterMinDelay > 0) || this.#waiterMaxDelay < this.#waiterMinDelay) {
      throw new RangeError(
        `waiter delays must satisfy 0 < min <= max seconds, got ${this.#waiterMinDelay} and ${this.#waiterMaxDelay}`,
      );
    }
    if (rateLimitersOf(this.#lambda) === undefined) {
      installRateLimit(this.#lambda, {
        controlPlane: new RateLimiter(options.rateLimit ?? conductorRateDefaults.requestsPerSecond),
        getFunction: new RateLimiter(conductorRateDefaults.getFunctionRequestsPerSecond),
      });
    }
  }

  /**
   * Runs one action of the contract for at most `budgetMs` (a change already in flight when the
   * budget runs out finishes first; callers keep a margin).
   *
   * @throws InvalidConductorRequestError when the request is malformed (nothing is read or written)
   * @throws ConductorStateError when the deployment's records contradict the contract
   * @throws ConductorLambdaError when Lambda refuses a call for a reason that is not the change's
   */
  async run(request: unknown, budgetMs: number = this.#budgetMs): Promise<ConductorResponse> {
    const req = parseConductorRequest(request);
    if (req.action === 'prepare') return this.prepare(req, budgetMs);
    if (req.action === 'commit') return this.commit(req, budgetMs);
    return this.abort(req, budgetMs);
  }

  /**
   * prepare: stages every change without touching `live`, then votes. See the module comment.
   * A veto of one change stops new changes from being started (changes already started are
   * finished, so that abort knows what they did); the vote is then `veto` with every reason.
   */
  async prepare(req: ConductorRequest, budgetMs: number = this.#budgetMs): Promise<ConductorResponse> {
    const ctx = this.#context(req, budgetMs);
    const records = this.#records(req);
    const changes = await this.#loadChanges(records);
    let results = await loadResults(records, lambdaConductorName);

    const fresh = changes.filter((change) => !results.has(change.name));
    const vetoed = new Map<string, Reason[]>();
    for (const change of fresh) {
      const reasons = this.#staticReasons(change);
      if (reasons.length > 0) vetoed.set(change.name, reasons);
    }
    if (results.size === 0 && vetoed.size === 0) {
      const concurrency = await this.#concurrencyReasons(ctx, changes);
      if (concurrency === 'retry') {
        return { done: false, counts: { done: 0, remaining: changes.length } };
      }
      for (const [name, reasons] of concurrency) vetoed.set(name, reasons);
    }
    for (const [name, reasons] of vetoed) {
      await putResult(records, this.#result(name, 'prepare', 'vetoed', 0, { reasons }), 'new-or-pending');
    }
    if (vetoed.size > 0) results = await loadResults(records, lambdaConductorName);

    const hasVeto = (): boolean => [...results.values()].some((result) => result.status === 'vetoed');
    const pending = changes.filter((change) => results.get(change.name)?.status === 'pending');
    const untouched = changes.filter((change) => !results.has(change.name));
    let vetoSeen = hasVeto();
    await this.#pool([...pending, ...untouched], ctx.deadline, async (change) => {
      const previous = results.get(change.name);
      if (previous === undefined && vetoSeen) return 'skip';
      const outcome = await this.#stageChange(ctx, records, change, previous);
      if (outcome === 'vetoed') vetoSeen = true;
      return 'done';
    });

    results = await loadResults(records, lambdaConductorName);
    const finals = [...results.values()].filter((r) => r.status === 'staged' || r.status === 'vetoed');
    const stillPending = [...results.values()].some((r) => r.status === 'pending');
    const reasons = [...results.values()].flatMap((r) => (r.status === 'vetoed' ? (r.reasons ?? []) : []));
    if (reasons.length > 0 && !stillPending) {
      return { done: true, vote: 'veto', reasons, counts: { done: finals.length, remaining: 0 } };
    }
    const remaining = changes.length - finals.length;
    if (remaining > 0) return { done: false, counts: { done: finals.length, remaining } };
    return { done: true, vote: 'accept', reasons: [], counts: { done: finals.length, remaining: 0 } };
  }

  /**
   * commit: `live` → the staged version and the committed concurrency for every created or
   * updated function; DeleteAlias `live` for deleted ones. Functions and versions are kept.
   *
   * @throws ConductorStateError when a change has no staged result
   */
  async commit(req: ConductorRequest, budgetMs: number = this.#budgetMs): Promise<ConductorResponse> {
    const ctx = this.#context(req, budgetMs);
    const records = this.#records(req);
    const changes = await this.#loadChanges(records);
    const results = await loadResults(records, lambdaConductorName);
    const todo: ChangeItem[] = [];
    for (const change of changes) {
      const result = results.get(change.name);
      if (result?.status === 'committed') continue;
      if (result?.status !== 'staged') {
        throw new ConductorStateError(
          `deployment ${req.deploymentId}: function ${change.name} cannot be committed, prepare left it ${result?.status ?? 'unrecorded'}`,
        );
      }
      todo.push(change);
    }
    await this.#pool(todo, ctx.deadline, async (change) => {
      const staged = results.get(change.name) as ResultItem;
      await this.#commitChange(change, staged);
      const written = await putResult(
        records,
        this.#result(change.name, 'commit', 'committed', staged.attempts, stagingOf(staged)),
        'staged-or-committed',
      );
      if (!written) {
        throw new ConductorStateError(
          `deployment ${req.deploymentId}: the result of ${change.name} changed under commit`,
        );
      }
      return 'done';
    });
    return this.#phaseCounts(records, changes.length, 'committed');
  }

  /**
   * abort: deletes the functions prepare created and the versions it published, for every change
   * prepare recorded; changes it never started staged nothing.
   *
   * @throws ConductorStateError when a change was already committed
   */
  async abort(req: ConductorRequest, budgetMs: number = this.#budgetMs): Promise<ConductorResponse> {
    const ctx = this.#context(req, budgetMs);
    const records = this.#records(req);
    const changes = await this.#loadChanges(records);
    const results = await loadResults(records, lambdaConductorName);
    const todo: ChangeItem[] = [];
    for (const change of changes) {
      const result = results.get(change.name);
      if (result === undefined || result.status === 'aborted') continue;
      if (result.status === 'committed') {
        throw new ConductorStateError(
          `deployment ${req.deploymentId}: function ${change.name} is committed and cannot be aborted`,
        );
      }
      todo.push(change);
    }
    await this.#pool(todo, ctx.deadline, async (change) => {
      const result = results.get(change.name) as ResultItem;
      await this.#abortChange(ctx.deploymentId, change, result);
      await putResult(
        records,
        this.#result(change.name, 'abort', 'aborted', result.attempts, {
          ...stagingOf(result),
          ...(result.reasons === undefined ? {} : { reasons: result.reasons }),
        }),
        'not-committed',
      );
      return 'done';
    });
    const after = await loadResults(records, lambdaConductorName);
    const recorded = changes.filter((change) => after.has(change.name));
    const done = recorded.filter((change) => after.get(change.name)?.status === 'aborted').length;
    const remaining = recorded.length - done;
    return { done: remaining === 0, counts: { done, remaining } };
  }

  // ---------------------------------------------------------------- prepare, one change

  /** Stages one change; records pending first, then staged or vetoed. Transient trouble leaves it pending. */
  async #stageChange(
    ctx: CallContext,
    records: DeploymentRecords,
    change: ChangeItem,
    previous: ResultItem | undefined,
  ): Promise<'staged' | 'vetoed' | 'pending'> {
    const attempts = (previous?.attempts ?? 0) + 1;
    const staging: Staging = {
      created: previous?.created ?? false,
      published: previous?.published ?? false,
      ...(previous?.version === undefined ? {} : { version: previous.version }),
    };
    const pendingWritten = await putResult(
      records,
      this.#result(change.name, 'prepare', 'pending', attempts, staging),
      'new-or-pending',
    );
    if (!pendingWritten) return 'staged';
    if (change.action === 'delete' || change.spec === undefined) {
      await putResult(
        records,
        this.#result(change.name, 'prepare', 'staged', attempts, staging),
        'new-or-pending',
      );
      return 'staged';
    }
    try {
      await this.#stage(ctx, change, change.spec, staging, previous !== undefined, async () => {
        await putResult(
          records,
          this.#result(change.name, 'prepare', 'pending', attempts, staging),
          'new-or-pending',
        );
      });
    } catch (error) {
      if (error instanceof VetoError) {
        await putResult(
          records,
          this.#result(change.name, 'prepare', 'vetoed', attempts, { ...staging, reasons: [error.reason] }),
          'new-or-pending',
        );
        return 'vetoed';
      }
      if (isTransient(error)) return 'pending';
      throw error;
    }
    await putResult(
      records,
      this.#result(change.name, 'prepare', 'staged', attempts, staging),
      'new-or-pending',
    );
    return 'staged';
  }

  /** The Lambda side of staging one change; updates `staging` as it goes. */
  async #stage(
    ctx: CallContext,
    change: ChangeItem,
    spec: FunctionSpec,
    staging: Staging,
    rerun: boolean,
    recordCreated: () => Promise<void>,
  ): Promise<void> {
    const { deploymentId } = ctx;
    const functionName = change.managedName;
    let current = await this.#getFunction(functionName);
    if (current !== undefined) {
      this.#checkOwnership(ctx.workspace, change, current);
      if (current.Configuration?.Description === createdDescription(deploymentId)) staging.created = true;
    } else {
      try {
        await this.#lambda.send(new CreateFunctionCommand(this.#createInput(ctx, change, spec)));
        staging.created = true;
        await recordCreated();
      } catch (error) {
        if (errorName(error) !== 'ResourceConflictException')
          throw this.#lambdaFailure('CreateFunction', change, error);
        // Created meanwhile (a run that crashed, or another writer): inspect it like an existing one.
        current = await this.#getFunction(functionName);
        if (current === undefined)
          throw new TransientError(`${functionName} exists and does not`, { cause: error });
        this.#checkOwnership(ctx.workspace, change, current);
        if (current.Configuration?.Description === createdDescription(deploymentId)) staging.created = true;
      }
    }
    await this.#waitSettled(ctx, functionName, change);
    if (current !== undefined) await this.#update(ctx, change, spec, current);

    const expectedSha = base64Sha256(spec.code.sha256);
    const description = versionDescription(deploymentId);
    let version: string | undefined;
    if (rerun) version = await this.#findPublishedVersion(functionName, description, expectedSha);
    if (version !== undefined) {
      staging.published = true;
    } else {
      try {
        const published = await this.#lambda.send(
          new PublishVersionCommand({
            FunctionName: functionName,
            CodeSha256: expectedSha,
            Description: description,
          }),
        );
        version = published.Version;
        staging.published = published.Description === description;
      } catch (error) {
        throw this.#lambdaFailure('PublishVersion', change, error);
      }
    }
    if (version === undefined)
      throw new ConductorLambdaError(
        'PublishVersion',
        `PublishVersion answered without a Version for ${functionName}`,
      );
    staging.version = version;
    await this.#wait('PublishedVersionActive', change, () =>
      waitUntilPublishedVersionActive(this.#waiterConfig(ctx), {
        FunctionName: functionName,
        Qualifier: version,
      }),
    );
  }

  /** Brings an existing function's `$LATEST` to the spec: code, then configuration, then tags. */
  async #update(
    ctx: CallContext,
    change: ChangeItem,
    spec: FunctionSpec,
    current: GetFunctionCommandOutput,
  ): Promise<void> {
    const functionName = change.managedName;
    const config = current.Configuration ?? {};
    const architectures = config.Architectures ?? ['x86_64'];
    if (config.CodeSha256 !== base64Sha256(spec.code.sha256) || architectures[0] !== spec.architecture) {
      try {
        await this.#lambda.send(
          new UpdateFunctionCodeCommand({
            FunctionName: functionName,
            S3Bucket: this.#artifactsBucket,
            S3Key: spec.code.s3Key,
            Architectures: [spec.architecture],
          }),
        );
      } catch (error) {
        throw this.#lambdaFailure('UpdateFunctionCode', change, error);
      }
      await this.#waitSettled(ctx, functionName, change);
    }
    if (!sameConfiguration(config, spec, this.#roleArn)) {
      try {
        await this.#lambda.send(
          new UpdateFunctionConfigurationCommand({
            FunctionName: functionName,
            Role: this.#roleArn,
            Runtime: spec.runtime as CreateFunctionCommandInput['Runtime'],
            Handler: spec.handler,
            MemorySize: spec.memoryMiB,
            Timeout: spec.timeoutSeconds,
            EphemeralStorage: { Size: spec.ephemeralStorageMiB },
            Environment: { Variables: { ...spec.environment } },
          }),
        );
      } catch (error) {
        throw this.#lambdaFailure('UpdateFunctionConfiguration', change, error);
      }
      await this.#waitSettled(ctx, functionName, change);
    }
    const arn = config.FunctionArn;
    if (arn === undefined) return;
    const tags = current.Tags ?? {};
    const wanted = this.#tags(ctx.workspace, change, spec);
    const toSet = Object.fromEntries(Object.entries(wanted).filter(([key, value]) => tags[key] !== value));
    const toRemove = Object.keys(tags).filter(
      (key) => !(key in wanted) && !key.startsWith('greco:') && !key.startsWith('aws:'),
    );
    try {
      if (Object.keys(toSet).length > 0)
        await this.#lambda.send(new TagResourceCommand({ Resource: arn, Tags: toSet }));
      if (toRemove.length > 0)
        await this.#lambda.send(new UntagResourceCommand({ Resource: arn, TagKeys: toRemove }));
    } catch (error) {
      throw this.#lambdaFailure('TagResource', change, error);
    }
  }

  /** A version this deployment published before a crash: same description and code. */
  async #findPublishedVersion(
    functionName: string,
    description: string,
    sha: string,
  ): Promise<string | undefined> {
    let marker: string | undefined;
    do {
      const page = await this.#lambda.send(
        new ListVersionsByFunctionCommand({
          FunctionName: functionName,
          ...(marker === undefined ? {} : { Marker: marker }),
        }),
      );
      const found = (page.Versions ?? []).find(
        (v) => v.Version !== '$LATEST' && v.Description === description && v.CodeSha256 === sha,
      );
      if (found?.Version !== undefined) return found.Version;
      marker = page.NextMarker;
    } while (marker !== undefined);
    return undefined;
  }

  /** Every version this deployment published on a function (abort of a pending change). */
  async #versionsPublishedBy(functionName: string, deploymentId: string): Promise<string[]> {
    const description = versionDescription(deploymentId);
    const versions: string[] = [];
    let marker: string | undefined;
    do {
      const page = await this.#lambda.send(
        new ListVersionsByFunctionCommand({
          FunctionName: functionName,
          ...(marker === undefined ? {} : { Marker: marker }),
        }),
      );
      for (const v of page.Versions ?? []) {
        if (v.Version !== undefined && v.Version !== '$LATEST' && v.Description === description)
          versions.push(v.Version);
      }
      marker = page.NextMarker;
    } while (marker !== undefined);
    return versions;
  }

  #createInput(ctx: CallContext, change: ChangeItem, spec: FunctionSpec): CreateFunctionCommandInput {
    return {
      FunctionName: change.managedName,
      Description: createdDescription(ctx.deploymentId),
      Runtime: spec.runtime as CreateFunctionCommandInput['Runtime'],
      Handler: spec.handler,
      Role: this.#roleArn,
      Code: { S3Bucket: this.#artifactsBucket, S3Key: spec.code.s3Key },
      MemorySize: spec.memoryMiB,
      Timeout: spec.timeoutSeconds,
      EphemeralStorage: { Size: spec.ephemeralStorageMiB },
      Environment: { Variables: { ...spec.environment } },
      Architectures: [spec.architecture],
      Tags: this.#tags(ctx.workspace, change, spec),
      Publish: false,
    };
  }

  /** greco's tags of a managed function and the user's own. */
  #tags(workspace: string, change: ChangeItem, spec: FunctionSpec): Record<string, string> {
    return {
      ...spec.tags,
      [GrecoTags.managed]: 'true',
      [GrecoTags.workspace]: workspace,
      [GrecoTags.functionName]: change.name,
    };
  }

  #checkOwnership(workspace: string, change: ChangeItem, current: GetFunctionCommandOutput): void {
    const tags = current.Tags ?? {};
    if (tags[GrecoTags.managed] !== 'true') {
      throw new VetoError({
        code: 'NAME_NOT_MANAGED',
        function: change.name,
        message: `a Lambda function named ${change.managedName} already exists and is not managed by greco (no ${GrecoTags.managed}=true tag); rename the function in the model or remove the other function`,
      });
    }
    if (tags[GrecoTags.workspace] !== workspace) {
      throw new VetoError({
        code: 'NAME_OTHER_WORKSPACE',
        function: change.name,
        message: `the Lambda function ${change.managedName} is managed by greco for another workspace; rename the function in the model`,
      });
    }
  }

  /** Waits until the function is Active and no update is in progress. */
  async #waitSettled(ctx: CallContext, functionName: string, change: ChangeItem): Promise<void> {
    await this.#wait('FunctionActiveV2', change, () =>
      waitUntilFunctionActiveV2(this.#waiterConfig(ctx), { FunctionName: functionName }),
    );
    await this.#wait('FunctionUpdatedV2', change, () =>
      waitUntilFunctionUpdatedV2(this.#waiterConfig(ctx), { FunctionName: functionName }),
    );
  }

  async #wait(waiter: string, change: ChangeItem, run: () => Promise<unknown>): Promise<void> {
    try {
      await run();
    } catch (error) {
      if (errorName(error) === 'TimeoutError' || errorName(error) === 'AbortError') {
        throw new TransientError(`waiter ${waiter} ran out of time for ${change.managedName}`, {
          cause: error,
        });
      }
      // Anything but the waiter's FAILURE state (Lambda could not bring the function up) is ours.
      if (!(error instanceof Error) || !error.message.startsWith('{"state":"FAILURE"')) throw error;
      throw new VetoError({
        code: 'LAMBDA_REJECTED',
        function: change.name,
        message: `Lambda could not make ${change.managedName} ready (${waiter}): ${failureReason(error)}`,
      });
    }
  }

  /** Waiter timing: polls between the configured delays, until a little past the call's deadline. */
  #waiterConfig(ctx: CallContext) {
    const secondsLeft = Math.ceil((ctx.deadline - Date.now()) / 1000) + waiterGraceSeconds;
    return {
      client: this.#lambda,
      minDelay: this.#waiterMinDelay,
      maxDelay: this.#waiterMaxDelay,
      maxWaitTime: Math.max(this.#waiterMinDelay + 1, secondsLeft),
    };
  }

  async #getFunction(functionName: string): Promise<GetFunctionCommandOutput | undefined> {
    try {
      return await this.#lambda.send(new GetFunctionCommand({ FunctionName: functionName }));
    } catch (error) {
      if (errorName(error) === 'ResourceNotFoundException') return undefined;
      if (isTransient(error))
        throw new TransientError(`GetFunction ${functionName}: ${errorName(error)}`, { cause: error });
      throw new ConductorLambdaError(
        'GetFunction',
        `GetFunction ${functionName} failed: ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  /** Classifies a failed write of prepare: a veto, transient trouble, or greco's own fault. */
  #lambdaFailure(operation: string, change: ChangeItem, error: unknown): Error {
    const name = errorName(error);
    const message = error instanceof Error ? error.message : String(error);
    if (
      name === 'InvalidParameterValueException' &&
      /S3 Error Code: (NoSuchKey|NoSuchBucket)/.test(message)
    ) {
      return new VetoError({
        code: 'CODE_MISSING',
        function: change.name,
        message: `the code of ${change.name} (s3://${this.#artifactsBucket}/${change.spec?.code.s3Key}) is not in the artifacts bucket: ${message}`,
      });
    }
    if (rejectionErrorNames.has(name)) {
      return new VetoError({
        code: 'LAMBDA_REJECTED',
        function: change.name,
        message: `Lambda refused ${operation} for ${change.name}: ${name}: ${message}`,
      });
    }
    if (isTransient(error))
      return new TransientError(`${operation} ${change.managedName}: ${name}`, { cause: error });
    return new ConductorLambdaError(
      operation,
      `${operation} failed for ${change.managedName}: ${name}: ${message}`,
      {
        cause: error,
      },
    );
  }

  // ---------------------------------------------------------------- prepare, checks without writes

  /** Reasons found in the spec alone: runtime and Lambda's bounds. */
  #staticReasons(change: ChangeItem): Reason[] {
    if (change.action === 'delete') return [];
    const spec = change.spec;
    if (spec === undefined) {
      return [
        {
          code: 'OUT_OF_BOUNDS',
          function: change.name,
          message: `the ${change.action} of ${change.name} carries no spec`,
        },
      ];
    }
    return specReasons(spec, change.managedName, this.#now());
  }

  /**
   * CONCURRENCY_UNAVAILABLE: the account's unreserved concurrency (GetAccountSettings) plus what the
   * changed functions reserve today, minus what the model reserves for them, must stay ≥ 100.
   */
  async #concurrencyReasons(
    ctx: CallContext,
    changes: readonly ChangeItem[],
  ): Promise<Map<string, Reason[]> | 'retry'> {
    const reserving = changes.filter(
      (change) => change.action !== 'delete' && (change.spec?.reservedConcurrency ?? 0) > 0,
    );
    if (reserving.length === 0) return new Map();
    const wanted = reserving.reduce((sum, change) => sum + (change.spec?.reservedConcurrency ?? 0), 0);
    let unreserved: number;
    try {
      const settings = await this.#lambda.send(new GetAccountSettingsCommand({}));
      unreserved = settings.AccountLimit?.UnreservedConcurrentExecutions ?? 0;
    } catch (error) {
      if (isTransient(error)) return 'retry';
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
    await this.#pool(reserving, Number.POSITIVE_INFINITY, async (change) => {
      try {
        const current = await this.#getFunction(change.managedName);
        reservedToday += current?.Concurrency?.ReservedConcurrentExecutions ?? 0;
      } catch (error) {
        if (isTransient(error)) complete = false;
        throw error;
      }
      return 'done';
    });
    if (!complete || Date.now() > ctx.deadline + waiterGraceSeconds * 1000) return 'retry';
    const left = unreserved + reservedToday - wanted;
    if (left >= lambdaConductorDefaults.minUnreservedConcurrency) return new Map();
    const message = `the model reserves ${wanted} concurrent executions for ${reserving.length} function(s), which would leave ${left} unreserved in the account (${unreserved} unreserved now, ${reservedToday} reserved by these functions today); Lambda keeps at least ${lambdaConductorDefaults.minUnreservedConcurrency} unreserved: lower reservedConcurrency or raise the account's concurrency quota`;
    return new Map(
      reserving.map((change) => [
        change.name,
        [{ code: 'CONCURRENCY_UNAVAILABLE', function: change.name, message }],
      ]),
    );
  }

  // ---------------------------------------------------------------- commit and abort, one change

  async #commitChange(change: ChangeItem, staged: ResultItem): Promise<void> {
    const functionName = change.managedName;
    try {
      if (change.action === 'delete') {
        try {
          await this.#lambda.send(new DeleteAliasCommand({ FunctionName: functionName, Name: liveAlias }));
        } catch (error) {
          if (errorName(error) !== 'ResourceNotFoundException') throw error;
        }
        return;
      }
      const version = staged.version;
      if (version === undefined) {
        throw new ConductorStateError(`function ${change.name} was staged without a version`);
      }
      await this.#pointLive(functionName, version, change.action === 'create');
      await applyCommittedConcurrency(this.#lambda, functionName, change.spec?.reservedConcurrency);
    } catch (error) {
      if (error instanceof ConductorStateError || isTransient(error)) throw asTransient(error);
      throw new ConductorLambdaError('commit', `commit of ${functionName} failed: ${describeError(error)}`, {
        cause: error,
      });
    }
  }

  /** `live` → `version`: CreateAlias for new functions, UpdateAlias otherwise, each falling back to the other. */
  async #pointLive(functionName: string, version: string, createFirst: boolean): Promise<void> {
    const create = () =>
      this.#lambda.send(
        new CreateAliasCommand({ FunctionName: functionName, Name: liveAlias, FunctionVersion: version }),
      );
    const update = () =>
      this.#lambda.send(
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

  async #abortChange(deploymentId: string, change: ChangeItem, result: ResultItem): Promise<void> {
    const functionName = change.managedName;
    try {
      let created = result.created === true;
      let versions = result.published === true && result.version !== undefined ? [result.version] : [];
      if (result.status === 'pending' && change.action !== 'delete') {
        // prepare may have crashed between a Lambda write and its record: ask the data plane.
        const current = await this.#getFunction(functionName);
        if (current === undefined) return;
        if (current.Configuration?.Description === createdDescription(deploymentId)) created = true;
        if (!created) versions = await this.#versionsPublishedBy(functionName, deploymentId);
      }
      if (created) {
        await this.#deleteFunction(functionName, undefined);
        return;
      }
      for (const version of versions) await this.#deleteFunction(functionName, version);
    } catch (error) {
      if (isTransient(error)) throw asTransient(error);
      throw new ConductorLambdaError('abort', `abort of ${functionName} failed: ${describeError(error)}`, {
        cause: error,
      });
    }
  }

  /** DeleteFunction, whole or one version; gone already is fine, a version an alias serves is kept. */
  async #deleteFunction(functionName: string, version: string | undefined): Promise<void> {
    try {
      await this.#lambda.send(
        new DeleteFunctionCommand({
          FunctionName: functionName,
          ...(version === undefined ? {} : { Qualifier: version }),
        }),
      );
    } catch (error) {
      const name = errorName(error);
      if (name === 'ResourceNotFoundException') return;
      // An alias serves the version: it is live somewhere, so it is not only ours to remove.
      if (
        name === 'ResourceConflictException' &&
        version !== undefined &&
        /alias/i.test(describeError(error))
      )
        return;
      throw error;
    }
  }

  // ---------------------------------------------------------------- helpers

  /**
   * Runs `work` over `items`, at most {@link LambdaConductorOptions.maxInFlight} at once, starting
   * new items only before `deadline` (always at least one, so every call makes progress). An item
   * whose work throws a transient error stays as it is; any other error is thrown once the items in
   * flight have ended.
   */
  async #pool(
    items: readonly ChangeItem[],
    deadline: number,
    work: (item: ChangeItem) => Promise<'done' | 'skip'>,
  ): Promise<void> {
    let next = 0;
    let launched = 0;
    let failure: unknown;
    const worker = async (): Promise<void> => {
      while (failure === undefined && next < items.length) {
        if (launched > 0 && Date.now() >= deadline) return;
        const item = items[next++] as ChangeItem;
        launched += 1;
        try {
          if ((await work(item)) === 'skip') launched -= 1;
        } catch (error) {
          if (!isTransient(error)) failure ??= error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#maxInFlight, items.length) }, worker));
    if (failure !== undefined) throw failure;
  }

  async #phaseCounts(
    records: DeploymentRecords,
    total: number,
    status: ResultItem['status'],
  ): Promise<ConductorResponse> {
    const results = await loadResults(records, lambdaConductorName);
    const done = [...results.values()].filter((r) => r.status === status).length;
    return { done: done === total, counts: { done, remaining: total - done } };
  }

  #context(req: ConductorRequest, budgetMs: number): CallContext {
    if (!Number.isFinite(budgetMs) || budgetMs < 0) {
      throw new RangeError(`budgetMs must be a finite number of milliseconds >= 0, got ${budgetMs}`);
    }
    return { workspace: req.workspace, deploymentId: req.deploymentId, deadline: Date.now() + budgetMs };
  }

  /**
   * The change set, each checked to name a function of this workspace under greco's prefix (the
   * conductor touches no other function).
   *
   * @throws ConductorStateError for a change whose `managedName` is not `<prefix>-<workspace>-<name>`
   */
  async #loadChanges(records: DeploymentRecords): Promise<ChangeItem[]> {
    const changes = await loadChanges(records);
    for (const change of changes) {
      const expected = managedFunctionName(this.#prefix, records.workspace, change.name);
      if (change.managedName !== expected) {
        throw new ConductorStateError(
          `deployment ${records.deploymentId}: change ${change.name} names function ${change.managedName}, expected ${expected}`,
        );
      }
    }
    return changes;
  }

  #records(req: ConductorRequest): DeploymentRecords {
    return {
      ddb: this.#ddb,
      tableName: this.#tableName,
      workspace: req.workspace,
      deploymentId: req.deploymentId,
    };
  }

  #result(
    name: string,
    phase: ResultItem['phase'],
    status: ResultItem['status'],
    attempts: number,
    extra: Partial<Staging> & { reasons?: readonly Reason[] } = {},
  ): ResultItem {
    return {
      conductor: lambdaConductorName,
      name,
      phase,
      status,
      ...(extra.version === undefined ? {} : { version: extra.version }),
      ...(extra.created === undefined ? {} : { created: extra.created }),
      ...(extra.published === undefined ? {} : { published: extra.published }),
      ...(extra.reasons === undefined ? {} : { reasons: extra.reasons }),
      attempts,
      updatedAt: this.#now().toISOString(),
    };
  }
}

/**
 * Checks the request a conductor receives from the state machine.
 *
 * @throws InvalidConductorRequestError naming the bad field
 */
export function parseConductorRequest(input: unknown): ConductorRequest {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidConductorRequestError(`the request must be an object, got ${JSON.stringify(input)}`);
  }
  const { action, workspace, deploymentId, targetEpoch } = input as Record<string, unknown>;
  if (action !== 'prepare' && action !== 'commit' && action !== 'abort') {
    throw new InvalidConductorRequestError(
      `action must be "prepare", "commit" or "abort", got ${JSON.stringify(action)}`,
    );
  }
  if (typeof workspace !== 'string') {
    throw new InvalidConductorRequestError(`workspace must be a string, got ${JSON.stringify(workspace)}`);
  }
  try {
    validateWorkspaceId(workspace);
  } catch (error) {
    throw new InvalidConductorRequestError(
      `workspace ${JSON.stringify(workspace)} is not a valid workspace id`,
      {
        cause: error,
      },
    );
  }
  if (typeof deploymentId !== 'string' || !/^[A-Za-z0-9_-]{1,80}$/.test(deploymentId)) {
    throw new InvalidConductorRequestError(
      `deploymentId must be 1 to 80 letters, digits, '-' or '_' (a Step Functions execution name), got ${JSON.stringify(deploymentId)}`,
    );
  }
  if (typeof targetEpoch !== 'number' || !Number.isInteger(targetEpoch) || targetEpoch < 1) {
    throw new InvalidConductorRequestError(
      `targetEpoch must be an integer >= 1, got ${JSON.stringify(targetEpoch)}`,
    );
  }
  return { action, workspace, deploymentId, targetEpoch };
}

/**
 * Veto reasons a spec earns on its own: runtime (core/runtimes.ts) and Lambda's bounds
 * (core/spec.ts {@link Limits}, each with its AWS quota).
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
  const bound = (ok: boolean, message: string): void => {
    if (!ok) reasons.push({ code: 'OUT_OF_BOUNDS', function: fn, message });
  };
  const within = (value: number, min: number, max: number): boolean =>
    Number.isInteger(value) && value >= min && value <= max;
  bound(
    within(spec.memoryMiB, Limits.memoryMiBMin, Limits.memoryMiBMax),
    `memoryMiB must be an integer from ${Limits.memoryMiBMin} to ${Limits.memoryMiBMax}, got ${spec.memoryMiB}`,
  );
  bound(
    within(spec.timeoutSeconds, Limits.timeoutSecondsMin, Limits.timeoutSecondsMax),
    `timeoutSeconds must be an integer from ${Limits.timeoutSecondsMin} to ${Limits.timeoutSecondsMax}, got ${spec.timeoutSeconds}`,
  );
  bound(
    within(spec.ephemeralStorageMiB, Limits.ephemeralStorageMiBMin, Limits.ephemeralStorageMiBMax),
    `ephemeralStorageMiB must be an integer from ${Limits.ephemeralStorageMiBMin} to ${Limits.ephemeralStorageMiBMax}, got ${spec.ephemeralStorageMiB}`,
  );
  let envBytes = 0;
  for (const [key, value] of Object.entries(spec.environment ?? {})) {
    envBytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  bound(
    envBytes <= Limits.environmentMaxBytes,
    `environment variables total ${envBytes} bytes; Lambda allows ${Limits.environmentMaxBytes} (4 KB)`,
  );
  bound(
    spec.reservedConcurrency === undefined ||
      (Number.isInteger(spec.reservedConcurrency) && spec.reservedConcurrency >= 0),
    `reservedConcurrency must be an integer >= 0, got ${spec.reservedConcurrency}`,
  );
  bound(
    Architectures.includes(spec.architecture),
    `architecture must be one of ${Architectures.join(', ')}, got ${JSON.stringify(spec.architecture)}`,
  );
  bound(
    managedName.length <= Limits.functionNameMaxLength,
    `the Lambda function name ${managedName} is longer than ${Limits.functionNameMaxLength} characters`,
  );
  bound(
    Object.keys(spec.tags ?? {}).length <= Limits.maxUserTags,
    `at most ${Limits.maxUserTags} tags per function, got ${Object.keys(spec.tags ?? {}).length}`,
  );
  return reasons;
}

/** The `Description` CreateFunction gives a function, naming the deployment that created it. */
export function createdDescription(deploymentId: string): string {
  return `Managed by greco; created by deployment ${deploymentId}`;
}

/** The `Description` of a version, naming the deployment that published it. */
export function versionDescription(deploymentId: string): string {
  return `greco deployment ${deploymentId}`;
}

/** Lambda's `CodeSha256` (base64) of a zip known by its hex SHA-256. */
export function base64Sha256(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

function sameConfiguration(config: FunctionConfiguration, spec: FunctionSpec, roleArn: string): boolean {
  const variables = config.Environment?.Variables ?? {};
  const wanted = spec.environment ?? {};
  const sameEnv =
    Object.keys(variables).length === Object.keys(wanted).length &&
    Object.entries(wanted).every(([key, value]) => variables[key] === value);
  return (
    sameEnv &&
    config.Role === roleArn &&
    config.Runtime === spec.runtime &&
    config.Handler === spec.handler &&
    config.MemorySize === spec.memoryMiB &&
    config.Timeout === spec.timeoutSeconds &&
    (config.EphemeralStorage?.Size ?? 512) === spec.ephemeralStorageMiB
  );
}

function stagingOf(result: ResultItem): Partial<Staging> {
  return {
    ...(result.created === undefined ? {} : { created: result.created }),
    ...(result.published === undefined ? {} : { published: result.published }),
    ...(result.version === undefined ? {} : { version: result.version }),
  };
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'UnknownError';
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function failureReason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

/** Whether an error means "not now": throttling, 5xx, no answer, or the hot path's "unavailable". */
function isTransient(error: unknown): boolean {
  if (error instanceof TransientError || error instanceof ServiceUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  if (transientErrorNames.has(error.name)) return true;
  const metadata = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
  if (metadata === undefined) return false;
  const status = metadata.httpStatusCode;
  return status === undefined || status === 429 || status >= 500;
}

function asTransient(error: unknown): unknown {
  if (error instanceof TransientError || !isTransient(error)) return error;
  return new TransientError(describeError(error), { cause: error });
}
