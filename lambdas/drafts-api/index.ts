/**
 * Management API, drafts: `POST /v1/drafts`, `GET /v1/drafts`, `GET|PUT|DELETE /v1/drafts/{id}`,
 * `PUT|DELETE /v1/drafts/{id}/functions/{name}`, `GET /v1/drafts/{id}/plan`.
 * Environment: `GRECO_CONFIG_TABLE`, `GRECO_ARTIFACTS_BUCKET`, `GRECO_MANAGED_PREFIX` (default
 * `greco`), and the claim names (see core/env.ts).
 */
import { ArtifactStore, createArtifactsClient } from '../../core/artifacts.ts';
import { EnvNames, optionalEnv, requireEnv } from '../../core/env.ts';
import { apiHandler } from '../../core/http/api-handler.ts';
import { draftsRoutes } from '../../core/http/routes/drafts.ts';
import { createConfigTableClient } from '../../core/store/client.ts';
import { ConfigStore } from '../../core/store/config-store.ts';

const store = new ConfigStore({
  client: createConfigTableClient(),
  tableName: requireEnv(EnvNames.configTable),
});
const artifacts = new ArtifactStore({
  client: createArtifactsClient(),
  bucket: requireEnv(EnvNames.artifactsBucket),
});

export const handler = apiHandler(
  draftsRoutes({ store, artifacts, managedPrefix: optionalEnv(EnvNames.managedPrefix, 'greco') }),
);
