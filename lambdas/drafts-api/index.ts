/**
 * Management API, drafts: `POST /v1/drafts`, `GET /v1/drafts`, `GET|PUT|DELETE /v1/drafts/{id}`,
 * `PUT|DELETE /v1/drafts/{id}/functions/{name}`, `GET /v1/drafts/{id}/plan`; artifacts:
 * `POST /v1/artifacts` (presigned uploads of large zips).
 * Environment: `GRECO_CONFIG_TABLE`, `GRECO_ARTIFACTS_BUCKET`, `GRECO_MANAGED_PREFIX` (default
 * `greco`), `GRECO_ACCOUNT_CONCURRENCY` (default Lambda's 1,000; it bounds `reservedConcurrency`),
 * and the claim names (see domain/env.ts).
 */
import { ArtifactStore, createArtifactsClient } from '../../core/artifacts.ts';
import { apiHandler } from '../../core/http/api-handler.ts';
import { artifactsRoutes } from '../../core/http/routes/artifacts.ts';
import { draftsRoutes } from '../../core/http/routes/drafts.ts';
import { type ConfigTableOptions, createConfigTableDocumentClient } from '../../core/store/client.ts';
import { DraftStore } from '../../core/store/drafts.ts';
import { LiveModels } from '../../core/store/snapshots.ts';
import { EnvNames, optionalEnv, requireEnv } from '../../domain/env.ts';
import { defaultAccountConcurrency, maxReservedConcurrencyFor } from '../../domain/lambda-quotas.ts';
import { defaultManagedPrefix } from '../../domain/names.ts';

const table: ConfigTableOptions = {
  doc: createConfigTableDocumentClient(),
  tableName: requireEnv(EnvNames.configTable),
};
const accountConcurrency = Number(
  optionalEnv(EnvNames.accountConcurrency, String(defaultAccountConcurrency)),
);
if (!Number.isSafeInteger(accountConcurrency) || accountConcurrency < 0) {
  throw new Error(
    `environment variable ${EnvNames.accountConcurrency} must be a whole number of concurrent executions, got ${JSON.stringify(process.env[EnvNames.accountConcurrency])}`,
  );
}
const artifacts = new ArtifactStore({
  client: createArtifactsClient(),
  bucket: requireEnv(EnvNames.artifactsBucket),
});

export const handler = apiHandler({
  ...draftsRoutes({
    drafts: new DraftStore(table),
    live: new LiveModels(table),
    artifacts,
    managedPrefix: optionalEnv(EnvNames.managedPrefix, defaultManagedPrefix),
    maxReservedConcurrency: maxReservedConcurrencyFor(accountConcurrency),
  }),
  ...artifactsRoutes({ artifacts }),
});
