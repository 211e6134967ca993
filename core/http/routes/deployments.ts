import { NotFoundError } from '../../../domain/errors.ts';
import { deploymentIdPattern, parseIdempotencyKey } from '../../deployments/ids.ts';
import { type DeploymentRequestDeps, requestDeployment } from '../../deployments/request.ts';
import { deploymentView } from '../../deployments/view.ts';
import { parseIfMatch } from '../etag.ts';
import { deploymentIdParam, draftIdParam } from '../params.ts';
import { jsonResponse } from '../responses.ts';
import { integerParam } from '../router.ts';
import type { Routes } from '../types.ts';

/** Largest page of `GET /v1/deployments`: 100 (greco's choice: each record is read by GetItem). */
export const deploymentsPageMaxLimit = 100;

/**
 * What the deployment routes need: what a deploy request needs (the stores, Step Functions, the
 * state machine, the managed prefix, a clock).
 */
export type DeploymentsRoutesDeps = DeploymentRequestDeps;

/**
 * The deployment routes. The workspace is always the caller's; other workspaces' deployments
 * answer 404.
 *
 * | route | role | answer |
 * |---|---|---|
 * | `POST /v1/drafts/{id}/deployments` (`Idempotency-Key`, `If-Match` optional) | approver | 202, `Location: /v1/deployments/<id>`, the deployment |
 * | `GET /v1/deployments?limit=&cursor=` | viewer | `{ deployments, nextCursor? }`, newest first; `limit` 1–100, default 25 |
 * | `GET /v1/deployments/{id}` | viewer | the deployment with `functions` (per-function results) |
 *
 * POST errors: 404 no such draft; 412 stale `If-Match`; 409 `deployment-in-progress` (naming
 * the deployment in flight), `nothing-to-deploy` (the draft equals the live model) or
 * `conflict` (the draft was deployed already); 503 with `Retry-After` when the deployment is
 * recorded but its execution could not be started: the same request again starts it.
 */
export function deploymentsRoutes(deps: DeploymentsRoutesDeps): Routes {
  const { deployments } = deps.stores;
  return {
    'POST /v1/drafts/{id}/deployments': {
      role: 'approver',
      params: { id: draftIdParam },
      async handle(request) {
        const idempotencyKey = parseIdempotencyKey(request.headers['idempotency-key']);
        const expected = parseIfMatch(request.headers['if-match']);
        const record = await requestDeployment(deps, {
          workspace: request.caller.workspace,
          draftId: request.params.id ?? '',
          ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
          ...(expected === undefined ? {} : { expected }),
          context: { actor: request.caller.actor, requestId: request.requestId },
        });
        return jsonResponse(202, deploymentView(record), {
          location: `/v1/deployments/${record.deploymentId}`,
        });
      },
    },

    'GET /v1/deployments': {
      role: 'viewer',
      async handle({ caller, query }) {
        const limit = integerParam(query, 'limit', { min: 1, max: deploymentsPageMaxLimit }) ?? 25;
        const page = await deployments.list(caller.workspace, { limit, cursor: query.cursor });
        return jsonResponse(200, {
          deployments: page.deployments.map((record) => deploymentView(record)),
          ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor }),
        });
      },
    },

    'GET /v1/deployments/{id}': {
      role: 'viewer',
      params: { id: deploymentIdParam },
      async handle({ caller, params }) {
        const id = params.id ?? '';
        const record = deploymentIdPattern.test(id) ? await deployments.get(caller.workspace, id) : undefined;
        if (record === undefined) throw new NotFoundError(`there is no deployment ${id} in this workspace`);
        const [changes, results] = await Promise.all([
          deployments.listChanges(caller.workspace, id),
          deployments.listResults(caller.workspace, id),
        ]);
        return jsonResponse(200, deploymentView(record, { changes, results }));
      },
    },
  };
}
