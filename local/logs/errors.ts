/**
 * The CloudWatch Logs API's errors as the emulator answers them: HTTP 400 with
 * `{"__type": "<code>", "message": "..."}` (the awsJson1_1 protocol), so that the AWS SDK raises
 * its own exception classes (`ResourceNotFoundException`, ...) and the AWS CLI prints them.
 */
import { AwsJsonError } from '../aws-json.ts';

/** A CloudWatch Logs API error: its `__type` code and HTTP status, as the awsJson1_1 protocol carries them. */
export class LogsApiError extends AwsJsonError {
  constructor(code: string, message: string, status = 400, options?: ErrorOptions) {
    super(code, message, status, options);
    this.name = 'LogsApiError';
  }
}

/** `ResourceNotFoundException`, with CloudWatch Logs' message for a missing log group. */
export function logGroupNotFound(): LogsApiError {
  return new LogsApiError('ResourceNotFoundException', 'The specified log group does not exist.');
}

/** `ResourceNotFoundException`, with CloudWatch Logs' message for a missing log stream. */
export function logStreamNotFound(): LogsApiError {
  return new LogsApiError('ResourceNotFoundException', 'The specified log stream does not exist.');
}

/** `ResourceAlreadyExistsException` for a log group or stream that exists. */
export function alreadyExists(what: 'log group' | 'log stream'): LogsApiError {
  return new LogsApiError('ResourceAlreadyExistsException', `The specified ${what} already exists`);
}

/** `InvalidParameterException`: a value that is well-formed but not acceptable. */
export function invalidParameter(message: string): LogsApiError {
  return new LogsApiError('InvalidParameterException', message);
}

/** `ValidationException`: a member that breaks the API model's constraints, phrased as AWS phrases it. */
export function validationError(member: string, value: unknown, constraint: string): LogsApiError {
  const shown = typeof value === 'string' ? value : JSON.stringify(value);
  return new LogsApiError(
    'ValidationException',
    `1 validation error detected: Value '${shown}' at '${member}' failed to satisfy constraint: ${constraint}`,
  );
}
