/**
 * greco's domain errors. Each carries the HTTP status it maps to, decided where the error is
 * raised, and renders as an RFC 9457 problem details object (`application/problem+json`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9457
 */

/** One invalid field of a request: `field` is a path such as `functions[3].memoryMiB`. */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

/** RFC 9457 problem details, with greco's extension members. */
export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly instance?: string;
  /** Extension member: every invalid field, for 400 and 422 answers. */
  readonly errors?: readonly FieldError[];
  readonly [extension: string]: unknown;
}

/** Base URI of greco's problem types; `type` is `<base>/<slug>`. */
export const problemTypeBase = 'https://greco.dev/problems';

/** Base class of every greco error. `status` is the HTTP status it answers with. */
export class GrecoError extends Error {
  readonly status: number;
  readonly title: string;
  readonly slug: string;
  /** Response headers that belong to this error (e.g. `Retry-After`). */
  readonly headers: Readonly<Record<string, string>>;
  /** Extra RFC 9457 extension members. */
  readonly extensions: Readonly<Record<string, unknown>>;

  constructor(
    message: string,
    init: {
      status: number;
      title: string;
      slug: string;
      headers?: Record<string, string>;
      extensions?: Record<string, unknown>;
    },
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'GrecoError';
    this.status = init.status;
    this.title = init.title;
    this.slug = init.slug;
    this.headers = init.headers ?? {};
    this.extensions = init.extensions ?? {};
  }

  /** The RFC 9457 body for this error. */
  toProblem(instance?: string): ProblemDetails {
    return {
      type: `${problemTypeBase}/${this.slug}`,
      title: this.title,
      status: this.status,
      detail: this.message,
      ...(instance === undefined ? {} : { instance }),
      ...this.extensions,
    };
  }
}

/** 400: the request is malformed or a field is out of bounds. Lists every bad field. */
export class ValidationError extends GrecoError {
  readonly errors: readonly FieldError[];
  constructor(errors: readonly FieldError[], options?: ErrorOptions) {
    const first = errors[0];
    const summary =
      first === undefined
        ? 'the request is invalid'
        : `${first.field}: ${first.message}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`;
    super(
      summary,
      { status: 400, title: 'Invalid request', slug: 'validation', extensions: { errors } },
      options,
    );
    this.name = 'ValidationError';
    this.errors = errors;
  }
}

/** 401: no valid token. API Gateway's JWT authorizer normally answers this before a handler runs. */
export class UnauthorizedError extends GrecoError {
  constructor(message = 'a valid bearer token is required', options?: ErrorOptions) {
    super(message, { status: 401, title: 'Unauthorized', slug: 'unauthorized' }, options);
    this.name = 'UnauthorizedError';
  }
}

/** 403: the caller's roles do not allow this action in its own workspace. */
export class ForbiddenError extends GrecoError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { status: 403, title: 'Forbidden', slug: 'forbidden' }, options);
    this.name = 'ForbiddenError';
  }
}

/** 404: no such resource in the caller's workspace (also for other workspaces' resources). */
export class NotFoundError extends GrecoError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { status: 404, title: 'Not found', slug: 'not-found' }, options);
    this.name = 'NotFoundError';
  }
}

/** 409: the request conflicts with the resource's current state. */
export class ConflictError extends GrecoError {
  constructor(message: string, extensions: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, { status: 409, title: 'Conflict', slug: 'conflict', extensions }, options);
    this.name = 'ConflictError';
  }
}

/** 412: `If-Match` names a version that is no longer current (RFC 9110 §13.1.1). */
export class PreconditionFailedError extends GrecoError {
  constructor(message: string, extensions: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(
      message,
      { status: 412, title: 'Precondition failed', slug: 'precondition-failed', extensions },
      options,
    );
    this.name = 'PreconditionFailedError';
  }
}

/** 428: a conditional request was required and `If-Match` is missing (RFC 6585 §3). */
export class PreconditionRequiredError extends GrecoError {
  constructor(
    message = 'this request needs an If-Match header with the ETag you read',
    options?: ErrorOptions,
  ) {
    super(message, { status: 428, title: 'Precondition required', slug: 'precondition-required' }, options);
    this.name = 'PreconditionRequiredError';
  }
}

/** 413: the request body is larger than greco accepts. `errors` names the field (e.g. `body`). */
export class PayloadTooLargeError extends GrecoError {
  constructor(message: string, options?: ErrorOptions, errors?: readonly FieldError[]) {
    super(
      message,
      {
        status: 413,
        title: 'Payload too large',
        slug: 'payload-too-large',
        ...(errors === undefined ? {} : { extensions: { errors } }),
      },
      options,
    );
    this.name = 'PayloadTooLargeError';
  }
}

/** 415: the body is not `application/json`. `errors` names the field (e.g. `headers.content-type`). */
export class UnsupportedMediaTypeError extends GrecoError {
  constructor(message: string, options?: ErrorOptions, errors?: readonly FieldError[]) {
    super(
      message,
      {
        status: 415,
        title: 'Unsupported media type',
        slug: 'unsupported-media-type',
        ...(errors === undefined ? {} : { extensions: { errors } }),
      },
      options,
    );
    this.name = 'UnsupportedMediaTypeError';
  }
}

/** 503: a dependency (the config table, the artifacts bucket) is unavailable; nothing was written. */
export class ServiceUnavailableError extends GrecoError {
  constructor(message: string, retryAfterSeconds = 5, options?: ErrorOptions) {
    super(
      message,
      {
        status: 503,
        title: 'Service unavailable',
        slug: 'service-unavailable',
        headers: { 'Retry-After': String(retryAfterSeconds) },
      },
      options,
    );
    this.name = 'ServiceUnavailableError';
  }
}
