/**
 * Management API, audit log: `GET /v1/audit`.
 * Environment: `GRECO_CONFIG_TABLE` and the claim names (see core/env.ts).
 */
import { EnvNames, requireEnv } from '../../core/env.ts';
import { apiHandler } from '../../core/http/api-handler.ts';
import { auditRoutes } from '../../core/http/routes/audit.ts';
import { createConfigTableClient } from '../../core/store/client.ts';
import { ConfigStore } from '../../core/store/config-store.ts';

const store = new ConfigStore({
  client: createConfigTableClient(),
  tableName: requireEnv(EnvNames.configTable),
});

export const handler = apiHandler(auditRoutes({ store }));
