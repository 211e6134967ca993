import middy from '@middy/core';
import type { ClaimNames } from '../auth.ts';
import { observe } from '../observability.ts';
import { answerMetrics, jsonBody, problemJsonOnError, requestContext } from './middlewares.ts';
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
 * `observe()` (core/observability.ts: Lambda context on every log line, per-request keys
 * removed after each invocation, metrics flushed), `answerMetrics()` (one `ApiAnswers<class>`
 * count per answer), `problemJsonOnError()` (every error becomes problem+json),
 * `requestContext()` (caller, role check; `requestId` and `workspace` appended to the log keys)
 * and `jsonBody()` (415/413/400 before any route code runs).
 *
 * @example
 * export const handler = apiHandler(functionsRoutes({ live: new LiveModels(table) }));
 */
export function apiHandler(routes: Routes, options: ApiHandlerOptions = {}) {
  return middy(dispatch(routes))
    .use(observe())
    .use(answerMetrics())
    .use(problemJsonOnError())
    .use(
      requestContext({
        routes,
        ...(options.claimNames === undefined ? {} : { claimNames: options.claimNames }),
      }),
    )
    .use(jsonBody(options.maxBodyBytes === undefined ? {} : { maxBytes: options.maxBodyBytes }));
}
