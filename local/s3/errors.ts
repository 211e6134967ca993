/**
 * An S3 error answer: S3's error `code` (e.g. `NoSuchKey`), its HTTP `status`, and the extra
 * elements S3 adds to the `<Error>` document (`Key`, `BucketName`, `VersionId`...).
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
 */
export class S3Error extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: string,
    status: number,
    message: string,
    init: { details?: Record<string, string>; headers?: Record<string, string> } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'S3Error';
    this.code = code;
    this.status = status;
    this.details = init.details ?? {};
    this.headers = init.headers ?? {};
  }
}

/** `NoSuchBucket` (404). */
export function noSuchBucket(bucket: string): S3Error {
  return new S3Error('NoSuchBucket', 404, 'The specified bucket does not exist', {
    details: { BucketName: bucket },
  });
}

/** `NoSuchKey` (404); `deleteMarker` adds `x-amz-delete-marker: true` as S3 does. */
export function noSuchKey(key: string, deleteMarker?: { versionId: string }): S3Error {
  return new S3Error('NoSuchKey', 404, 'The specified key does not exist.', {
    details: { Key: key },
    headers:
      deleteMarker === undefined
        ? {}
        : { 'x-amz-delete-marker': 'true', 'x-amz-version-id': deleteMarker.versionId },
  });
}

/** `NoSuchVersion` (404). */
export function noSuchVersion(key: string, versionId: string): S3Error {
  return new S3Error('NoSuchVersion', 404, 'The specified version does not exist.', {
    details: { Key: key, VersionId: versionId },
  });
}

/** `InvalidArgument` (400) naming the bad argument. */
export function invalidArgument(message: string, name: string, value: string): S3Error {
  return new S3Error('InvalidArgument', 400, message, {
    details: { ArgumentName: name, ArgumentValue: value },
  });
}
