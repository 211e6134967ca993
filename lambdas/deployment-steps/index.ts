/**
 * The deployment steps, one Lambda dispatching on the input's `action` (`begin`, `decide`,
 * `write-epoch`, `finish-committed`, `finish-aborted`, `finish-commit-incomplete`); see
 * core/deployments/steps.ts, core/deployments/step-input.ts and docs/deployments.md. Errors
 * reach the state machine by name (`DeploymentStateError`, `InvalidStepInputError`,
 * `EventPublishError`, `ServiceUnavailableError`...).
 * Environment: `GRECO_CONFIG_TABLE`, `GRECO_SNAPSHOTS_BUCKET`, `GRECO_CONDUCTORS`,
 * `GRECO_EVENT_BUS_NAME` (default `greco`).
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import middy from '@middy/core';
import { parseConductorRegistry } from '../../core/deployments/conductors.ts';
import { DeploymentEvents } from '../../core/deployments/events.ts';
import { runDeploymentStep } from '../../core/deployments/step-input.ts';
import { DeploymentSteps } from '../../core/deployments/steps.ts';
import { createDeploymentStores } from '../../core/deployments/transactions.ts';
import { logger, metrics, observe } from '../../core/observability.ts';
import { createConfigTableDocumentClient } from '../../core/store/client.ts';
import { EnvNames, optionalEnv, requireEnv } from '../../domain/env.ts';
import { defaultEventBusName } from '../../domain/events.ts';

const steps = new DeploymentSteps({
  stores: createDeploymentStores({
    doc: createConfigTableDocumentClient(),
    tableName: requireEnv(EnvNames.configTable),
  }),
  s3: new S3Client({ maxAttempts: 3, retryMode: 'standard' }),
  snapshotsBucket: requireEnv(EnvNames.snapshotsBucket),
  events: new DeploymentEvents({
    client: new EventBridgeClient({ maxAttempts: 3, retryMode: 'standard' }),
    eventBusName: optionalEnv(EnvNames.eventBusName, defaultEventBusName),
  }),
  conductors: parseConductorRegistry(requireEnv(EnvNames.conductors)),
  logger,
  metrics,
});

/** Step Functions `lambda:invoke` handler. */
export const handler = middy(async (event: unknown): Promise<unknown> => runDeploymentStep(steps, event)).use(
  observe(),
);
