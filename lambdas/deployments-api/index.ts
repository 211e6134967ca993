/**
 * Management API, deployments: `POST /v1/drafts/{id}/deployments`, `GET /v1/deployments`,
 * `GET /v1/deployments/{id}`.
 * Environment: `GRECO_CONFIG_TABLE`, `GRECO_DEPLOYMENT_STATE_MACHINE_ARN`, and the claim names
 * (see core/env.ts).
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DeploymentStore } from '../../core/deployments/store.ts';
import { EnvNames, requireEnv } from '../../core/env.ts';
import { apiHandler } from '../../core/http/api-handler.ts';
import { deploymentsRoutes } from '../../core/http/routes/deployments.ts';
import { createConfigTableClient } from '../../core/store/client.ts';
import { ConfigStore } from '../../core/store/config-store.ts';

const tableName = requireEnv(EnvNames.configTable);
const client = createConfigTableClient();
const store = new ConfigStore({ client, tableName });
const deployments = new DeploymentStore({
  doc: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
  tableName,
});
// Bounded like the table client: a Step Functions that does not answer gives a 503 well within
// API Gateway's 30-second integration timeout.
const sfn = new SFNClient({
  maxAttempts: 3,
  retryMode: 'standard',
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 5_000 },
});

export const handler = apiHandler(
  deploymentsRoutes({
    store,
    deployments,
    sfn,
    stateMachineArn: requireEnv(EnvNames.deploymentStateMachineArn),
  }),
);
