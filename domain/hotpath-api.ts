/**
 * The hot-path controller's HTTP surface as facts both sides read: the hot path serves these
 * routes (hotpath/http.ts), the control plane documents them (core/http/openapi.ts renders the
 * OpenAPI document without importing hotpath/, which the plane rules forbid).
 *
 * @module
 */
import type { Role } from './roles.ts';

/** A hot-path verb: read the state, suspend, or start one function. */
export type HotPathVerb = 'state' | 'suspend' | 'start';

/** One hot-path route: its HTTP method and its path with a `{name}` placeholder. */
export interface HotPathRoute {
  readonly method: 'GET' | 'POST';
  /** Path under the controller's function URL, e.g. `/v1/functions/{name}/start`. */
  readonly path: string;
  /** One line for the API's documentation. */
  readonly summary: string;
}

/** The hot path's routes, by verb. Every answer is a `HotPathFunctionState` (domain/concurrency/protocol.ts). */
export const HotPathRoutes: Readonly<Record<HotPathVerb, HotPathRoute>> = {
  state: {
    method: 'GET',
    path: '/v1/functions/{name}',
    summary: "A function's state: running or suspended, configured and current concurrency",
  },
  suspend: {
    method: 'POST',
    path: '/v1/functions/{name}/suspend',
    summary: 'Suspends a function: reserved concurrency 0, warm capacity released (idempotent)',
  },
  start: {
    method: 'POST',
    path: '/v1/functions/{name}/start',
    summary: 'Starts a function: restores its configured concurrency (idempotent)',
  },
};

/** The role every hot-path route needs. */
export const hotPathRole: Role = 'operator';
