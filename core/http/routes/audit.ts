import type { AuditLog } from '../../store/audit.ts';
import { jsonResponse } from '../responses.ts';
import { integerParam } from '../router.ts';
import type { Routes } from '../types.ts';

/** Largest audit page: 1,000 records (greco's choice, well within one 1 MB DynamoDB Query page of small records). */
export const auditPageMaxLimit = 1000;

/** What the audit routes need. */
export interface AuditRoutesDeps {
  readonly audit: AuditLog;
}

/**
 * The audit route (viewer and up): `GET /v1/audit?limit=&cursor=` → `{ records, nextCursor? }`,
 * newest first; `limit` 1–1000, default 50; `cursor` is the previous page's `nextCursor`.
 */
export function auditRoutes({ audit }: AuditRoutesDeps): Routes {
  return {
    'GET /v1/audit': {
      role: 'viewer',
      async handle({ caller, query }) {
        const limit = integerParam(query, 'limit', { min: 1, max: auditPageMaxLimit }) ?? 50;
        const page = await audit.listAudit(caller.workspace, { limit, cursor: query.cursor });
        return jsonResponse(200, page);
      },
    },
  };
}
