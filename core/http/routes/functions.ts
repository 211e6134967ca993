import { NotFoundError } from '../../../domain/errors.ts';
import type { LiveModels } from '../../store/snapshots.ts';
import { pageOfFunctions } from '../paging.ts';
import { functionNameParam } from '../params.ts';
import { jsonResponse } from '../responses.ts';
import { integerParam } from '../router.ts';
import type { Routes } from '../types.ts';

/** What the live-model routes need. */
export interface FunctionsRoutesDeps {
  readonly live: LiveModels;
}

/**
 * The live-model routes (viewer and up):
 * - `GET /v1/functions?limit=&cursor=` → `{ epoch, functions, nextCursor? }`: the live model,
 *   epoch 0 and no functions until a deployment commits;
 * - `GET /v1/functions/{name}` → `{ epoch, function }`, 404 when the live model has no such function.
 */
export function functionsRoutes({ live: models }: FunctionsRoutesDeps): Routes {
  return {
    'GET /v1/functions': {
      role: 'viewer',
      async handle({ caller, query }) {
        const limit = integerParam(query, 'limit', { min: 1, max: 5000 });
        const live = await models.getLiveModel(caller.workspace);
        const page = pageOfFunctions(live.functions, live.epoch, {
          limit,
          cursor: query.cursor,
          list: 'live',
        });
        return jsonResponse(200, { epoch: live.epoch, ...page });
      },
    },
    'GET /v1/functions/{name}': {
      role: 'viewer',
      params: { name: functionNameParam },
      async handle({ caller, params }) {
        const name = params.name ?? '';
        const live = await models.getLiveFunction(caller.workspace, name);
        if (live.function === undefined) {
          throw new NotFoundError(`the live model (epoch ${live.epoch}) has no function named ${name}`);
        }
        return jsonResponse(200, { epoch: live.epoch, function: live.function });
      },
    },
  };
}
