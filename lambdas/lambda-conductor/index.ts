/**
 * The Lambda conductor, invoked by the deployment state machine with a `ConductorRequest`
 * (`{ action, workspace, deploymentId, targetEpoch }`) and answering a `ConductorResponse`
 * (docs/conductors.md). A thin handler over core/conductor: clients at module scope, the kit's
 * handler (time budget from the invocation's remaining time, Powertools Logger and metrics).
 *
 * Environment (domain/env.ts): `GRECO_CONFIG_TABLE`, `GRECO_ARTIFACTS_BUCKET`,
 * `GRECO_DATA_PLANE_ROLE_ARN`, `GRECO_MANAGED_PREFIX`, optional `GRECO_CONDUCTOR_RATE_LIMIT`
 * (requests per second, default 10), optional `GRECO_DATA_PLANE_BOUNDARY_ARN` (per-workspace
 * execution roles with that boundary; unset: every function runs under the shared role).
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { conductorHandler } from '../../core/conductor/kit/handler.ts';
import { createConductorLambdaClient } from '../../core/conductor/kit/rate-limit.ts';
import { LambdaConductor } from '../../core/conductor/lambda/conductor.ts';
import { logger } from '../../core/observability.ts';
import { createConfigTableDocumentClient } from '../../core/store/client.ts';
import { EnvNames, optionalEnv, requireEnv } from '../../domain/env.ts';

const rateLimit = Number(optionalEnv(EnvNames.conductorRateLimit, '10'));
if (!Number.isFinite(rateLimit) || rateLimit <= 0) {
  throw new Error(
    `environment variable ${EnvNames.conductorRateLimit} must be a positive number of requests per second, got ${JSON.stringify(process.env[EnvNames.conductorRateLimit])}`,
  );
}

const boundaryArn = optionalEnv(EnvNames.dataPlaneBoundaryArn, '');

const conductor = new LambdaConductor({
  lambda: createConductorLambdaClient({ requestsPerSecond: rateLimit }),
  doc: createConfigTableDocumentClient(),
  tableName: requireEnv(EnvNames.configTable),
  artifactsBucket: requireEnv(EnvNames.artifactsBucket),
  executionRoleArn: requireEnv(EnvNames.dataPlaneRoleArn),
  managedPrefix: requireEnv(EnvNames.managedPrefix),
  ...(boundaryArn === '' ? {} : { workspaceRoles: { iam: new IAMClient({}), boundaryArn } }),
  logger,
});

/** Step Functions `lambda:invoke` handler. */
export const handler = conductorHandler(conductor);
