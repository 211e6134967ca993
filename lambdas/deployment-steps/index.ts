/**
 * The deployment steps, one Lambda dispatching on `event.step` (`begin`, `decide`,
 * `write-epoch`, `finish-committed`, `finish-aborted`, `finish-commit-incomplete`); see
 * core/deployments/steps.ts and docs/deployments.md. Errors reach the state machine by name
 * (`DeploymentStateError`, `InvalidStepInputError`, `EventPublishError`,
 * `ServiceUnavailableError`...).
 * Environment: `GRECO_CONFIG_TABLE`, `GRECO_SNAPSHOTS_BUCKET`, `GRECO_CONDUCTORS`,
 * `GRECO_MANAGED_PREFIX` (default `greco`), `GRECO_EVENT_BUS_NAME` (default `greco`).
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { parseConductorRegistry } from '../../core/deployments/conductors.ts';
import { DeploymentEvents, defaultEventBusName } from '../../core/deployments/events.ts';
import { DeploymentSteps, runDeploymentStep } from '../../core/deployments/steps.ts';
import { DeploymentStore } from '../../core/deployments/store.ts';
import { EnvNames, optionalEnv, requireEnv } from '../../core/env.ts';
import { createConfigTableClient } from '../../core/store/client.ts';
import { ConfigStore } from '../../core/store/config-store.ts';

const tableName = requireEnv(EnvNames.configTable);
const client = createConfigTableClient();
const steps = new DeploymentSteps({
  store: new ConfigStore({ client, tableName }),
  deployments: new DeploymentStore({
    doc: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
    tableName,
  }),
  s3: new S3Client({ maxAttempts: 3, retryMode: 'standard' }),
  snapshotsBucket: requireEnv(EnvNames.snapshotsBucket),
  events: new DeploymentEvents({
    client: new EventBridgeClient({ maxAttempts: 3, retryMode: 'standard' }),
    eventBusName: optionalEnv(EnvNames.eventBusName, defaultEventBusName),
  }),
  conductors: parseConductorRegistry(requireEnv(EnvNames.conductors)),
  managedPrefix: optionalEnv(EnvNames.managedPrefix, 'greco'),
});

export const handler = async (event: unknown): Promise<unknown> => runDeploymentStep(steps, event);
