import { NotFoundError, ValidationError } from '../../../domain/errors.ts';
import { isObject } from '../../../domain/objects.ts';
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
 * The POST body is optional: `{ planHash }`, the `planHash` of the plan reviewed
 * (`GET /v1/drafts/{id}/plan`).
 *
 * POST errors: 400 a malformed body; 403 `two-person-rule` (when on: the caller last edited the
 * draft); 404 no such draft; 412 stale `If-Match`, or `plan-changed` (the plan no longer hashes
 * to `planHash`); 409 `deployment-in-progress` (naming the deployment in flight), `stale-draft`
 * (the draft's base epoch is not live: the answer carries the plan against the live epoch),
 * `nothing-to-deploy` (the draft equals the live model) or `conflict` (the draft was deployed
 * already); 503 with `Retry-After` when the deployment is
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
        const planHash = planHashOf(request.body);
        const record = await requestDeployment(deps, {
          workspace: request.caller.workspace,
          draftId: request.params.id ?? '',
          ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
          ...(expected === undefined ? {} : { expected }),
          ...(planHash === undefined ? {} : { planHash }),
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

/** A plan hash: SHA-256 in lowercase hex (`planHash`, core/plan.ts). */
const planHashPattern = /^[0-9a-f]{64}$/;

/** The `planHash` of a deploy request's optional body. @throws ValidationError (400) */
function planHashOf(body: unknown): string | undefined {
  if (body === undefined) return undefined;
  if (!isObject(body)) throw new ValidationError([{ field: '', message: 'must be a JSON object' }]);
  const unknown = Object.keys(body).filter((key) => key !== 'planHash');
  if (unknown.length > 0)
    throw new ValidationError(unknown.map((field) => ({ field, message: 'is not a known field' })));
  if (body.planHash === undefined) return undefined;
  if (typeof body.planHash !== 'string' || !planHashPattern.test(body.planHash))
    throw new ValidationError([
      { field: 'planHash', message: 'must be 64 lowercase hexadecimal digits (SHA-256)' },
    ]);
  return body.planHash;
}
