/**
 * The CLI's errors. Every failure the CLI reports is a {@link CliError}: one readable line that
 * says what went wrong and what to do, plus, for API failures, the RFC 9457 problem details
 * that `--verbose` prints.
 */

/** An RFC 9457 `application/problem+json` body, as greco's APIs answer errors. */
export interface ProblemDocument {
  readonly type?: string;
  readonly title?: string;
  readonly status?: number;
  readonly detail?: string;
  readonly requestId?: string;
  readonly errors?: readonly { readonly field?: string; readonly message?: string }[];
  readonly [key: string]: unknown;
}

/** Options of {@link CliError}. */
export interface CliErrorOptions extends ErrorOptions {
  /** The problem details behind the error, printed with `--verbose`. @default - none */
  readonly problem?: unknown;
  /** Process exit code. @default 1 */
  readonly exitCode?: number;
}

/** A failure reported as one line (`greco: <message>`), exit code 1 unless said otherwise. */
export class CliError extends Error {
  readonly problem: unknown;
  readonly exitCode: number;
  constructor(message: string, options: CliErrorOptions = {}) {
    super(message, options);
    this.name = 'CliError';
    this.problem = options.problem;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Wrong command-line usage (unknown flag, missing argument): exit code 2. */
export class UsageError extends CliError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, { ...options, exitCode: 2 });
    this.name = 'UsageError';
  }
}

/** An API answered with an error status; `status` is the HTTP status, `problem` its body. */
export class ApiError extends CliError {
  readonly status: number;
  constructor(message: string, status: number, problem: unknown, options: ErrorOptions = {}) {
    super(message, { ...options, problem });
    this.name = 'ApiError';
    this.status = status;
  }
}

/** The API (or another endpoint) could not be reached at all: connection refused, DNS, TLS. */
export class UnreachableError extends CliError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, options);
    this.name = 'UnreachableError';
  }
}

/** The greco.yaml file is missing, malformed or invalid; the message names the line when known. */
export class GrecoFileError extends CliError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, options);
    this.name = 'GrecoFileError';
  }
}

/** A code directory could not be packaged (missing, empty, bundling failed). */
export class PackagingError extends CliError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, options);
    this.name = 'PackagingError';
  }
}
