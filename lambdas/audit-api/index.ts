/**
 * Management API, audit log: `GET /v1/audit`.
 * Environment: `GRECO_CONFIG_TABLE` and the claim names (see domain/env.ts).
 */

import { apiHandler } from '../../core/http/api-handler.ts';
import { auditRoutes } from '../../core/http/routes/audit.ts';
import { AuditLog } from '../../core/store/audit.ts';
import { createConfigTableDocumentClient } from '../../core/store/client.ts';
import { EnvNames, requireEnv } from '../../domain/env.ts';

// Read-only: the audit log only, none of the stores that write.
const audit = new AuditLog({
  doc: createConfigTableDocumentClient(),
  tableName: requireEnv(EnvNames.configTable),
});

export const handler = apiHandler(auditRoutes({ audit }));
