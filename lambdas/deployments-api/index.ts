/**
 * Management API, deployments: `POST /v1/drafts/{id}/deployments`, `GET /v1/deployments`,
 * `GET /v1/deployments/{id}`.
 * Environment: `GRECO_CONFIG_TABLE`, `GRECO_DEPLOYMENT_STATE_MACHINE_ARN`, `GRECO_MANAGED_PREFIX`
 * (default `greco`), `GRECO_TWO_PERSON_RULE` (`true`: on), and the claim names (see domain/env.ts).
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { createDeploymentStores } from '../../core/deployments/transactions.ts';
import { apiHandler } from '../../core/http/api-handler.ts';
import { deploymentsRoutes } from '../../core/http/routes/deployments.ts';
import { createConfigTableDocumentClient } from '../../core/store/client.ts';
import { EnvNames, optionalEnv, requireEnv } from '../../domain/env.ts';
import { defaultManagedPrefix } from '../../domain/names.ts';

const stores = createDeploymentStores({
  doc: createConfigTableDocumentClient(),
  tableName: requireEnv(EnvNames.configTable),
});
// Bounded like the table client: a Step Functions that does not answer gives a 503 well within
// API Gateway's 30-second integration timeout.
const sfn = new SFNClient({
  maxAttempts: 3,
  retryMode: 'standard',
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
});

export const handler = apiHandler(
  deploymentsRoutes({
    stores,
    sfn,
    stateMachineArn: requireEnv(EnvNames.deploymentStateMachineArn),
    managedPrefix: optionalEnv(EnvNames.managedPrefix, defaultManagedPrefix),
    twoPersonRule: optionalEnv(EnvNames.twoPersonRule, 'false') === 'true',
  }),
);
