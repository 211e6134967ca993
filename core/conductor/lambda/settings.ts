/**
 * What every part of the Lambda adapter needs: its client, where code and the execution role come
 * from, and its timings.
 *
 * @module
 */
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { minUnreservedConcurrency } from '../../../domain/lambda-quotas.ts';
import { conductorRunnerDefaults } from '../kit/runner.ts';
import type { WorkspaceRoleSettings } from './roles.ts';

/** Defaults of the Lambda conductor's options (`LambdaConductorOptions`). */
export const lambdaConductorDefaults = {
  /** Changes worked on at once: enough to keep the rate limit busy while each waits for Lambda. */
  maxInFlight: conductorRunnerDefaults.maxInFlight,
  /** Time budget of one call when none is given, in ms (a Lambda invocation lasts up to 900 s). */
  budgetMs: conductorRunnerDefaults.budgetMs,
  /** Smallest pause between two waiter polls, in seconds. */
  waiterMinDelaySeconds: 1,
  /** Largest pause between two waiter polls, in seconds. */
  waiterMaxDelaySeconds: 5,
  /** Concurrent executions Lambda keeps unreserved in an account (domain/lambda-quotas.ts). */
  minUnreservedConcurrency,
} as const;

/** The Lambda adapter's settings, checked by the conductor's constructor. */
export interface LambdaSettings {
  /** The rate-limited Lambda client (`kit/rate-limit.ts`). */
  readonly lambda: LambdaClient;
  /** Bucket of code zips, by `code.s3Key` of the spec (`code/<sha256>.zip`). */
  readonly artifactsBucket: string;
  /**
   * The shared data-plane execution role: the `Role` of every function only when
   * {@link workspaceRoles} is unset (no boundary configured); otherwise unused.
   */
  readonly roleArn: string;
  /**
   * Per-workspace execution roles (core/conductor/lambda/roles.ts): each workspace's functions run
   * under their own role and log to their workspace log group.
   * @default - every function gets {@link roleArn} and Lambda's default log group
   */
  readonly workspaceRoles?: WorkspaceRoleSettings;
  /** Changes worked on at once, also when vetting the change set. */
  readonly maxInFlight: number;
  /** Smallest pause between waiter polls, in seconds (> 0). */
  readonly waiterMinDelaySeconds: number;
  /** Largest pause between waiter polls, in seconds. */
  readonly waiterMaxDelaySeconds: number;
  /** Clock of runtime deprecation dates. */
  readonly now: () => Date;
}
