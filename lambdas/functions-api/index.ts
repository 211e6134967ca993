/**
 * Management API, live model: `GET /v1/functions`, `GET /v1/functions/{name}`.
 * Environment: `GRECO_CONFIG_TABLE` and the claim names (see core/env.ts).
 */
import { EnvNames, requireEnv } from '../../core/env.ts';
import { apiHandler } from '../../core/http/api-handler.ts';
import { functionsRoutes } from '../../core/http/routes/functions.ts';
import { createConfigTableClient } from '../../core/store/client.ts';
import { ConfigStore } from '../../core/store/config-store.ts';

const store = new ConfigStore({
  client: createConfigTableClient(),
  tableName: requireEnv(EnvNames.configTable),
});

export const handler = apiHandler(functionsRoutes({ store }));
