import middy from '@middy/core';
import type { ClaimNames } from '../auth.ts';
import { jsonBody, problemJsonOnError, requestContext } from './middlewares.ts';
import { dispatch } from './router.ts';
import type { Routes } from './types.ts';

/** Options of {@link apiHandler}. */
export interface ApiHandlerOptions {
  /** Largest JSON body, in bytes. @default - `jsonBody()`'s (Lambda's 6 MB request payload quota) */
  readonly maxBodyBytes?: number;
  /** @default - from the environment */
  readonly claimNames?: ClaimNames;
}

/**
 * A management API handler for one route group: middy over {@link dispatch}, with, in order,
 * `problemJsonOnError()` (every error becomes problem+json), `requestContext()` (caller, role
 * check) and `jsonBody()` (415/413/400 before any route code runs).
 *
 * @example
 * export const handler = apiHandler(functionsRoutes({ store }));
 */
export function apiHandler(routes: Routes, options: ApiHandlerOptions = {}) {
  return middy(dispatch(routes))
    .use(problemJsonOnError())
    .use(
      requestContext({
        routes,
        ...(options.claimNames === undefined ? {} : { claimNames: options.claimNames }),
      }),
    )
    .use(jsonBody(options.maxBodyBytes === undefined ? {} : { maxBytes: options.maxBodyBytes }));
}
