/**
 * The AWS JSON protocol (`awsJson1_1`) as the local emulators of JSON services answer it: one
 * `POST /` per call, the operation in `X-Amz-Target: <prefix><Operation>`, a JSON object in and
 * out, and errors as `{"__type": "<code>", "message": "..."}` with `X-Amzn-ErrorType`, so that
 * the AWS SDK raises its own exception classes and the AWS CLI prints them.
 *
 * @see https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isObject } from '../domain/objects.ts';
import { BodyTooLargeError, readBody } from './http.ts';

/** An error of an AWS JSON service: its `__type` code and HTTP status. Each emulator names its own subclass. */
export class AwsJsonError extends Error {
  /** The error code, e.g. `ResourceNotFoundException` (the SDK's exception class name). */
  readonly code: string;
  /** HTTP status. @default 400 */
  readonly status: number;

  constructor(code: string, message: string, status = 400, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AwsJsonError';
    this.code = code;
    this.status = status;
  }
}

/** One operation: the parsed request object in, the answer object out (or an {@link AwsJsonError} thrown). */
export type AwsJsonOperation = (input: Record<string, unknown>) => unknown;

/** Writes a JSON answer with the protocol's content type and a fresh request id. */
export function sendAwsJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  res.end(text);
}

/** Writes `error` as the protocol's error document. */
export function sendAwsJsonError(res: ServerResponse, error: AwsJsonError): void {
  sendAwsJson(
    res,
    error.status,
    { __type: error.code, message: error.message },
    { 'x-amzn-errortype': error.code },
  );
}

/** How {@link dispatchAwsJson} serves one emulator. */
export interface AwsJsonService {
  /** What error messages call the service, e.g. `EventBridge`. */
  readonly serviceName: string;
  /** The `X-Amz-Target` prefix, e.g. `AWSEvents.` or `Logs_20140328.`. */
  readonly targetPrefix: string;
  /** The operations by name (`PutEvents`, ...). */
  readonly operations: Readonly<Record<string, AwsJsonOperation>>;
  /** Largest request body, in bytes; a larger one is answered 413 with {@link AwsJsonService.tooLargeCode}. */
  readonly maxRequestBytes: number;
  /** The service's code for a request that is too large, e.g. `ValidationException`. */
  readonly tooLargeCode: string;
  /** Builds the service's own error class (a subclass of {@link AwsJsonError}). */
  readonly error: (code: string, message: string, status?: number) => AwsJsonError;
}

/**
 * Serves one request: reads the body within the limit, finds the operation named by
 * `X-Amz-Target`, parses the JSON object, runs the operation and answers 200, or answers the
 * protocol's error document (`UnknownOperationException`, `SerializationException`, the
 * operation's own {@link AwsJsonError}).
 *
 * @throws whatever an operation throws that is not an {@link AwsJsonError} (the caller answers 500)
 */
export async function dispatchAwsJson(
  req: IncomingMessage,
  res: ServerResponse,
  service: AwsJsonService,
): Promise<void> {
  const target = String(req.headers['x-amz-target'] ?? '');
  const name = target.startsWith(service.targetPrefix) ? target.slice(service.targetPrefix.length) : '';
  const operation =
    req.method === 'POST' && Object.hasOwn(service.operations, name) ? service.operations[name] : undefined;
  let body: Buffer;
  try {
    body = await readBody(req, service.maxRequestBytes);
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    return sendAwsJsonError(res, service.error(service.tooLargeCode, error.message, 413));
  }
  if (operation === undefined) {
    return sendAwsJsonError(
      res,
      service.error(
        'UnknownOperationException',
        `The local ${service.serviceName} does not support ${target === '' ? `${req.method} ${req.url}` : target}`,
      ),
    );
  }
  let input: unknown;
  try {
    input = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch {
    return sendAwsJsonError(
      res,
      service.error('SerializationException', 'The request body is not valid JSON'),
    );
  }
  if (!isObject(input)) {
    return sendAwsJsonError(
      res,
      service.error('SerializationException', 'The request body must be a JSON object'),
    );
  }
  try {
    sendAwsJson(res, 200, await operation(input));
  } catch (error) {
    if (error instanceof AwsJsonError) return sendAwsJsonError(res, error);
    throw error;
  }
}
