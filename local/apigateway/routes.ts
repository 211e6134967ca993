/**
 * HTTP API route keys and route selection, as API Gateway does it: `METHOD /path` with
 * `{param}` segments and one greedy `{param+}` at the end, `ANY` for every method, and the
 * `$default` route as the catch-all.
 *
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html
 */

/** Thrown for a route key that API Gateway would refuse. */
export class InvalidRouteError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidRouteError';
  }
}

/** Methods a route key may name. */
const routeMethods = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'ANY']);

/** One segment of a route path. */
export type RouteSegment =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'greedy'; readonly name: string };

/** A parsed route key. `$default` has no method and no segments. */
export interface ParsedRoute {
  readonly routeKey: string;
  readonly isDefault: boolean;
  /** Upper-case method or `ANY`. Empty for `$default`. */
  readonly method: string;
  readonly segments: readonly RouteSegment[];
}

/**
 * Parses `'GET /v1/drafts/{id}'`, `'ANY /x/{proxy+}'` or `'$default'`.
 *
 * @throws InvalidRouteError for an unknown method, a path not starting with `/`, an empty or
 *   malformed segment, a repeated parameter name, or a greedy parameter that is not last
 */
export function parseRouteKey(routeKey: string): ParsedRoute {
  if (routeKey === '$default') return { routeKey, isDefault: true, method: '', segments: [] };
  const match = /^(\S+) (\/\S*)$/.exec(routeKey);
  if (match === null) {
    throw new InvalidRouteError(`route key ${JSON.stringify(routeKey)} is not "METHOD /path" or "$default"`);
  }
  const method = match[1] ?? '';
  const path = match[2] ?? '';
  if (!routeMethods.has(method)) {
    throw new InvalidRouteError(`route key ${JSON.stringify(routeKey)} has an unknown method ${method}`);
  }
  const segments: RouteSegment[] = [];
  const names = new Set<string>();
  const parts = path === '/' ? [] : path.slice(1).split('/');
  for (const [index, part] of parts.entries()) {
    if (part === '')
      throw new InvalidRouteError(`route key ${JSON.stringify(routeKey)} has an empty path segment`);
    const param = /^\{([A-Za-z0-9._-]+)(\+?)\}$/.exec(part);
    if (param === null) {
      if (part.includes('{') || part.includes('}')) {
        throw new InvalidRouteError(`route key ${JSON.stringify(routeKey)} has a malformed segment ${part}`);
      }
      segments.push({ kind: 'literal', value: part });
      continue;
    }
    const name = param[1] ?? '';
    if (names.has(name))
      throw new InvalidRouteError(`route key ${JSON.stringify(routeKey)} repeats {${name}}`);
    names.add(name);
    if (param[2] === '+') {
      if (index !== parts.length - 1) {
        throw new InvalidRouteError(
          `route key ${JSON.stringify(routeKey)}: a greedy {${name}+} must be the last segment`,
        );
      }
      segments.push({ kind: 'greedy', name });
    } else {
      segments.push({ kind: 'param', name });
    }
  }
  return { routeKey, isDefault: false, method, segments };
}

/** The route chosen for a request and its path parameters (decoded). */
export interface RouteMatch {
  readonly route: ParsedRoute;
  readonly pathParameters: Readonly<Record<string, string>>;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Path parameters if `route`'s path matches `rawSegments` (still percent-encoded), else `undefined`. */
function matchPath(route: ParsedRoute, rawSegments: readonly string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (const [index, segment] of route.segments.entries()) {
    if (segment.kind === 'greedy') {
      const rest = rawSegments.slice(index);
      if (rest.length === 0 || rest.every((s) => s === '')) return undefined;
      params[segment.name] = rest.map(decodeSegment).join('/');
      return params;
    }
    const raw = rawSegments[index];
    if (raw === undefined) return undefined;
    const value = decodeSegment(raw);
    if (segment.kind === 'literal') {
      if (value !== segment.value) return undefined;
    } else {
      if (value === '') return undefined;
      params[segment.name] = value;
    }
  }
  return rawSegments.length === route.segments.length ? params : undefined;
}

/**
 * Orders matching routes from most to least specific: a path without a greedy variable before
 * one with it; then, segment by segment, a literal before a variable; then a longer path
 * before a shorter one; then an explicit method before `ANY`.
 */
function compareSpecificity(a: ParsedRoute, b: ParsedRoute): number {
  const greedyA = a.segments.at(-1)?.kind === 'greedy';
  const greedyB = b.segments.at(-1)?.kind === 'greedy';
  if (greedyA !== greedyB) return greedyA ? 1 : -1;
  const length = Math.min(a.segments.length, b.segments.length);
  for (let i = 0; i < length; i++) {
    const rank = (s: RouteSegment | undefined) => (s?.kind === 'literal' ? 0 : s?.kind === 'param' ? 1 : 2);
    const diff = rank(a.segments[i]) - rank(b.segments[i]);
    if (diff !== 0) return diff;
  }
  if (a.segments.length !== b.segments.length) return b.segments.length - a.segments.length;
  const anyA = a.method === 'ANY';
  const anyB = b.method === 'ANY';
  if (anyA !== anyB) return anyA ? 1 : -1;
  return 0;
}

/**
 * Picks the route for `method` and `path` (the path below the stage, percent-encoded as
 * received): the most specific matching route, else `$default`, else `undefined` (404).
 */
export function selectRoute(
  routes: readonly ParsedRoute[],
  method: string,
  path: string,
): RouteMatch | undefined {
  const rawSegments = path === '/' || path === '' ? [] : path.replace(/^\//, '').split('/');
  const candidates: RouteMatch[] = [];
  for (const route of routes) {
    if (route.isDefault) continue;
    if (route.method !== 'ANY' && route.method !== method) continue;
    const pathParameters = matchPath(route, rawSegments);
    if (pathParameters !== undefined) candidates.push({ route, pathParameters });
  }
  candidates.sort((a, b) => compareSpecificity(a.route, b.route));
  const best = candidates[0];
  if (best !== undefined) return best;
  const fallback = routes.find((r) => r.isDefault);
  return fallback === undefined ? undefined : { route: fallback, pathParameters: {} };
}
