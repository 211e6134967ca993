/**
 * A small client of greco's HTTP APIs (the management API and the hot-path controller): JSON
 * in and out, `Authorization: Bearer <token>`, errors turned into one-line {@link CliError}s
 * that say what to do, with the problem+json kept for `--verbose`.
 */
import { ApiError, UnreachableError } from './errors.ts';

/** An answer of {@link ApiClient.request}. */
export interface ApiResponse<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

/** Options of one {@link ApiClient.request}. */
export interface RequestOptions {
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Statuses answered as values instead of errors (e.g. 404 when absence is expected). @default - none */
  readonly accept?: readonly number[];
}

/** Talks to one base URL with one bearer token. */
export class ApiClient {
  readonly baseUrl: string;
  readonly token: string;
  readonly fetch: typeof fetch;
  /**
   * @param baseUrl - e.g. `http://127.0.0.1:4700/` (a trailing `/` is added when missing)
   * @param token - the JWT sent as `Authorization: Bearer`
   * @param fetchImpl - for tests. @default globalThis.fetch
   */
  constructor(baseUrl: string, token: string, fetchImpl: typeof fetch = globalThis.fetch) {
    this.baseUrl = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
    this.token = token;
    this.fetch = fetchImpl;
  }

  /**
   * Sends one request; `path` is relative to the base URL (`v1/functions`).
   * @throws UnreachableError when nothing answers; ApiError for a status ≥ 400 not in `accept`
   */
  async request<T = unknown>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<ApiResponse<T>> {
    const url = new URL(path.replace(/^\//, ''), this.baseUrl);
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, ...options.headers };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.fetch(url, {
        method,
        headers,
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      });
    } catch (error) {
      throw new UnreachableError(
        `cannot reach ${url.origin} (${causeCode(error)}): is the local cloud running (npx greco local), or is the endpoint of greco login right?`,
        { cause: error },
      );
    }
    const text = await response.text();
    let body: unknown = text;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
    } else {
      body = undefined;
    }
    if (response.status >= 400 && !(options.accept ?? []).includes(response.status)) {
      throw new ApiError(describeFailure(method, url, response.status, body), response.status, body);
    }
    return { status: response.status, headers: response.headers, body: body as T };
  }
}

function causeCode(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

/** One line for a failed call: the API's own detail, and what to do about the common statuses. */
export function describeFailure(method: string, url: URL, status: number, body: unknown): string {
  const problem = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const errors = Array.isArray(problem.errors)
    ? (problem.errors as { field?: string; message?: string }[])
    : [];
  const detail =
    typeof problem.detail === 'string'
      ? problem.detail
      : typeof problem.message === 'string'
        ? problem.message
        : typeof problem.title === 'string'
          ? problem.title
          : typeof body === 'string' && body !== ''
            ? body.slice(0, 200)
            : `HTTP ${status}`;
  const fields = errors
    .filter((e) => typeof e.message === 'string')
    .map((e) => (e.field === undefined ? e.message : `${e.field}: ${e.message}`));
  const what =
    fields.length > 0 && !fields.some((f) => detail.includes(f as string))
      ? `${detail} (${fields.join('; ')})`
      : detail;
  const hint =
    status === 401
      ? ': your token is missing, expired or not for this endpoint; run greco login'
      : status === 403
        ? ': your token lacks the role this needs; run greco login with --roles'
        : status === 503
          ? ': try again shortly'
          : '';
  return `${method} ${url.pathname} answered ${status}: ${what}${hint}`;
}
