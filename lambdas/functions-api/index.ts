/**
 * Management API, live model: `GET /v1/functions`, `GET /v1/functions/{name}`; and the API's
 * description, `GET /v1/openapi.json` (docs/openapi.json).
 * Environment: `GRECO_CONFIG_TABLE` and the claim names (see domain/env.ts).
 */

import { apiHandler } from '../../core/http/api-handler.ts';
import { functionsRoutes } from '../../core/http/routes/functions.ts';
import { openApiRoutes } from '../../core/http/routes/openapi.ts';
import { createConfigTableDocumentClient } from '../../core/store/client.ts';
import { LiveModels } from '../../core/store/snapshots.ts';
import { EnvNames, requireEnv } from '../../domain/env.ts';

// Read-only: the live-model reader only, none of the stores that write.
const live = new LiveModels({
  doc: createConfigTableDocumentClient(),
  tableName: requireEnv(EnvNames.configTable),
});

export const handler = apiHandler({ ...functionsRoutes({ live }), ...openApiRoutes() });
