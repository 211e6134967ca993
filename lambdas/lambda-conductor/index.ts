/**
 * The Lambda conductor, invoked by the deployment state machine with a `ConductorRequest`
 * (`{ action, workspace, deploymentId, targetEpoch }`) and answering a `ConductorResponse`
 * (docs/conductors.md). A thin handler over core/conductor: clients at module scope, the time
 * budget from the invocation's remaining time.
 *
 * Environment (core/env.ts): `GRECO_CONFIG_TABLE`, `GRECO_ARTIFACTS_BUCKET`,
 * `GRECO_DATA_PLANE_ROLE_ARN`, `GRECO_MANAGED_PREFIX`, optional `GRECO_CONDUCTOR_RATE_LIMIT`
 * (requests per second, default 10).
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { LambdaConductor } from '../../core/conductor/lambda-conductor.ts';
import { createConductorLambdaClient } from '../../core/conductor/rate-limit.ts';
import type { ConductorResponse } from '../../core/deployments/types.ts';
import { EnvNames, optionalEnv, requireEnv } from '../../core/env.ts';
import { createConfigTableClient } from '../../core/store/client.ts';

/**
 * Time kept back from the invocation's remaining time, in ms: the changes in flight when the
 * budget runs out finish within it (a waiter may run 10 s past the budget) and the answer is sent.
 */
export const budgetMarginMs = 20_000;

/** Smallest budget given to a call, in ms, so that even a short invocation makes progress. */
const minimumBudgetMs = 1_000;

const rateLimit = Number(optionalEnv(EnvNames.conductorRateLimit, '10'));
if (!Number.isFinite(rateLimit) || rateLimit <= 0) {
  throw new Error(
    `environment variable ${EnvNames.conductorRateLimit} must be a positive number of requests per second, got ${JSON.stringify(process.env[EnvNames.conductorRateLimit])}`,
  );
}

const conductor = new LambdaConductor({
  lambda: createConductorLambdaClient({ requestsPerSecond: rateLimit }),
  ddb: DynamoDBDocumentClient.from(createConfigTableClient(), {
    marshallOptions: { removeUndefinedValues: true },
  }),
  tableName: requireEnv(EnvNames.configTable),
  artifactsBucket: requireEnv(EnvNames.artifactsBucket),
  executionRoleArn: requireEnv(EnvNames.dataPlaneRoleArn),
  managedPrefix: requireEnv(EnvNames.managedPrefix),
});

/** Step Functions `lambda:invoke` handler. */
export async function handler(event: unknown, context: Context): Promise<ConductorResponse> {
  const budgetMs = Math.max(minimumBudgetMs, context.getRemainingTimeInMillis() - budgetMarginMs);
  return conductor.run(event, budgetMs);
}
