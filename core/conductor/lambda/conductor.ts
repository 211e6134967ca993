/**
 * The Lambda conductor: the conductor kit's runner (`kit/runner.ts`) around the Lambda adapter,
 * which stages, commits and aborts a deployment's changes on Lambda functions named
 * `<prefix>-<workspace>-<name>` (docs/conductors.md, "The Lambda conductor").
 *
 * - vet: runtime, `core/spec.ts`'s bounds and the managed name per change; the account's
 *   unreserved concurrency for the change set (`vet.ts`);
 * - stage: ensure the workspace's execution role (`roles.ts`, once per call), create or update
 *   `$LATEST`, then publish a version; `live` is never touched (`stage.ts`);
 * - commit: `live` → the staged version and the committed concurrency; abort: delete what prepare
 *   created or published (`finish.ts`).
 *
 * @module
 */
import type { IAMClient } from '@aws-sdk/client-iam';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  type ConductorRequest,
  type ConductorResponse,
  lambdaConductorName,
} from '../../deployments/types.ts';
import type { Conductor, ConductorLogger } from '../kit/conductor.ts';
import { conductorRateDefaults, installRateLimit, RateLimiter, rateLimitersOf } from '../kit/rate-limit.ts';
import { ConductorRunner } from '../kit/runner.ts';
import { isLambdaTransientName } from './errors.ts';
import { abortFunction, commitFunction } from './finish.ts';
import { type LambdaSettings, lambdaConductorDefaults } from './settings.ts';
import { stageFunction } from './stage.ts';
import { changeReasons, concurrencyReasons } from './vet.ts';

/** Options of {@link LambdaConductor}. */
export interface LambdaConductorOptions {
  /** The Lambda client; a rate limiter is installed on it unless it has one (`createConductorLambdaClient`). */
  readonly lambda: LambdaClient;
  /** Document client of the config table. */
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Bucket of code zips, by `code.s3Key` of the spec (`code/<sha256>.zip`). */
  readonly artifactsBucket: string;
  /**
   * The shared data-plane execution role: used only when {@link workspaceRoles} is unset.
   */
  readonly executionRoleArn: string;
  /**
   * Per-workspace execution roles: before staging a workspace's functions in a call, the conductor
   * ensures the role `<prefix>-ws-<workspace>` under `/greco/<prefix>/workspaces/` with this
   * permissions boundary, and gives the workspace's functions that role and their workspace log
   * group (core/conductor/lambda/roles.ts).
   * @default - no per-workspace roles: every function gets {@link executionRoleArn}
   */
  readonly workspaceRoles?: {
    readonly iam: IAMClient;
    /** ARN of the data-plane permissions boundary (`GRECO_DATA_PLANE_BOUNDARY_ARN`). */
    readonly boundaryArn: string;
  };
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
  /** Batch log (each call's action, deployment and counts; each veto and failure). @default - none */
  readonly logger?: ConductorLogger;
}

/**
 * The Lambda adapter of the conductor kit.
 *
 * @example
 * const runner = new ConductorRunner({ conductor: lambdaAdapter(settings), doc, tableName, managedPrefix });
 */
export function lambdaAdapter(settings: LambdaSettings): Conductor {
  return {
    name: lambdaConductorName,
    vet: (change) => changeReasons(change, settings.now()),
    vetChangeSet: (changes, call) => concurrencyReasons(settings, changes, call),
    stage: (change, call) => stageFunction(settings, change, call),
    commit: (change, staged) => commitFunction(settings.lambda, change, staged),
    abort: (change, recorded, call) => abortFunction(settings.lambda, call.deploymentId, change, recorded),
    isTransient: isLambdaTransientName,
  };
}

/**
 * The Lambda conductor. One instance per container; every call is independent and idempotent.
 *
 * @example
 * const conductor = new LambdaConductor({ lambda, doc, tableName, artifactsBucket, executionRoleArn, managedPrefix: 'greco' });
 * const answer = await conductor.run({ action: 'prepare', workspace: 'acme', deploymentId, targetEpoch: 4 }, 60_000);
 */
export class LambdaConductor {
  readonly #runner: ConductorRunner;

  /** @throws RangeError when a number option is out of range */
  constructor(options: LambdaConductorOptions) {
    const now = options.now ?? (() => new Date());
    const settings: LambdaSettings = {
      lambda: options.lambda,
      artifactsBucket: options.artifactsBucket,
      roleArn: options.executionRoleArn,
      ...(options.workspaceRoles === undefined
        ? {}
        : {
            workspaceRoles: {
              iam: options.workspaceRoles.iam,
              boundaryArn: options.workspaceRoles.boundaryArn,
              managedPrefix: options.managedPrefix,
              region: () => options.lambda.config.region(),
            },
          }),
      maxInFlight: options.maxInFlight ?? lambdaConductorDefaults.maxInFlight,
      waiterMinDelaySeconds: options.waiterMinDelaySeconds ?? lambdaConductorDefaults.waiterMinDelaySeconds,
      waiterMaxDelaySeconds: options.waiterMaxDelaySeconds ?? lambdaConductorDefaults.waiterMaxDelaySeconds,
      now,
    };
    this.#runner = new ConductorRunner({
      conductor: lambdaAdapter(settings),
      doc: options.doc,
      tableName: options.tableName,
      managedPrefix: options.managedPrefix,
      maxInFlight: settings.maxInFlight,
      budgetMs: options.budgetMs ?? lambdaConductorDefaults.budgetMs,
      now,
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    });
    const { waiterMinDelaySeconds: min, waiterMaxDelaySeconds: max } = settings;
    if (!(min > 0) || max < min) {
      throw new RangeError(`waiter delays must satisfy 0 < min <= max seconds, got ${min} and ${max}`);
    }
    if (rateLimitersOf(options.lambda) === undefined) {
      installRateLimit(options.lambda, {
        controlPlane: new RateLimiter(options.rateLimit ?? conductorRateDefaults.requestsPerSecond),
        getFunction: new RateLimiter(conductorRateDefaults.getFunctionRequestsPerSecond),
      });
    }
  }

  /**
   * Runs one action of the contract for at most `budgetMs` (see `ConductorRunner.run`).
   *
   * @throws InvalidConductorRequestError when the request is malformed (nothing is read or written)
   * @throws ConductorStateError when the deployment's records contradict the contract
   * @throws ConductorLambdaError when Lambda refuses a call for a reason that is not the change's
   * @throws ConductorIamError when IAM refuses a call of the workspace-role step (e.g. AccessDenied)
   */
  run(request: unknown, budgetMs?: number): Promise<ConductorResponse> {
    return this.#runner.run(request, budgetMs);
  }

  /** prepare: stages every change without touching `live`, then votes (see `ConductorRunner.prepare`). */
  prepare(req: ConductorRequest, budgetMs?: number): Promise<ConductorResponse> {
    return this.#runner.prepare(req, budgetMs);
  }

  /**
   * commit: `live` → the staged version and the committed concurrency for every created or
   * updated function; DeleteAlias `live` for deleted ones.
   *
   * @throws ConductorStateError when a change has no staged result
   */
  commit(req: ConductorRequest, budgetMs?: number): Promise<ConductorResponse> {
    return this.#runner.commit(req, budgetMs);
  }

  /**
   * abort: deletes the functions prepare created and the versions it published.
   *
   * @throws ConductorStateError when a change was already committed
   */
  abort(req: ConductorRequest, budgetMs?: number): Promise<ConductorResponse> {
    return this.#runner.abort(req, budgetMs);
  }
}
