/**
 * Code from S3 for the Lambda emulator: CreateFunction `Code.S3Bucket`/`S3Key`/`S3ObjectVersion`
 * and UpdateFunctionCode `S3Bucket`/`S3Key`/`S3ObjectVersion`. As Lambda does, the emulator reads
 * the object itself (GetObject on the configured S3 endpoint, the local S3 emulator) and stores
 * the bytes as if they had been sent inline; a missing bucket or key is refused with Lambda's
 * `InvalidParameterValueException` and its message (`Error occurred while GetObject. S3 Error
 * Code: NoSuchKey. S3 Error Message: The specified key does not exist.`).
 */
import { GetObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { localCredentials, localRegion } from '../net.ts';
import { invalidParameterValue } from './errors.ts';
import type { Json } from './store.ts';

/** CreateFunction/UpdateFunctionCode `S3Bucket`: 3..63 characters, pattern `^[0-9A-Za-z\.\-_]*(?<!\.)$`. */
const s3BucketPattern = /^[0-9A-Za-z.\-_]*(?<!\.)$/;

/** Reads code objects from one S3 endpoint. */
export class S3CodeSource {
  readonly #s3: S3Client;

  /** @param endpoint the S3 endpoint, e.g. the local S3 emulator's `http://127.0.0.1:<port>` */
  constructor(endpoint: string, region = localRegion) {
    this.#s3 = new S3Client({
      endpoint,
      region,
      credentials: localCredentials,
      forcePathStyle: true,
      maxAttempts: 2,
    });
  }

  /**
   * Replaces the S3 location in a code object (`Code` of CreateFunction, or the body of
   * UpdateFunctionCode) by the object's bytes as `ZipFile` (base64). Objects without an S3
   * location are returned as they are.
   *
   * @throws LambdaApiError InvalidParameterValueException when a field is malformed or the object
   *   cannot be read (the store then checks the bytes as it checks an inline zip: a zip, at most
   *   250 MB unzipped)
   */
  async inline(code: Json): Promise<Json> {
    const bucket = code.S3Bucket;
    const key = code.S3Key;
    const version = code.S3ObjectVersion;
    if (bucket === undefined && key === undefined && version === undefined) return code;
    if (
      typeof bucket !== 'string' ||
      bucket.length < 3 ||
      bucket.length > 63 ||
      !s3BucketPattern.test(bucket)
    ) {
      throw invalidParameterValue(
        `S3Bucket must be 3 to 63 characters matching ^[0-9A-Za-z\\.\\-_]*(?<!\\.)$, got ${JSON.stringify(bucket)}`,
      );
    }
    if (typeof key !== 'string' || key.length < 1 || key.length > 1024) {
      throw invalidParameterValue(`S3Key must be 1 to 1024 characters, got ${JSON.stringify(key)}`);
    }
    if (version !== undefined && (typeof version !== 'string' || version.length < 1)) {
      throw invalidParameterValue(
        `S3ObjectVersion must be a non-empty string, got ${JSON.stringify(version)}`,
      );
    }
    let bytes: Uint8Array;
    try {
      const object = await this.#s3.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          ...(typeof version === 'string' ? { VersionId: version } : {}),
        }),
      );
      if (object.Body === undefined) throw new Error('GetObject answered without a body');
      bytes = await object.Body.transformToByteArray();
    } catch (error) {
      const s3Code = error instanceof S3ServiceException ? error.name : 'InternalError';
      const s3Message =
        error instanceof S3ServiceException
          ? (error.message ?? '')
          : `could not read the object: ${String(error)}`;
      throw Object.assign(
        invalidParameterValue(
          `Error occurred while GetObject. S3 Error Code: ${s3Code}. S3 Error Message: ${s3Message}`,
        ),
        { cause: error },
      );
    }
    const { S3Bucket: _bucket, S3Key: _key, S3ObjectVersion: _version, ...rest } = code;
    return { ...rest, ZipFile: Buffer.from(bytes).toString('base64') };
  }

  /** Releases the client's sockets. */
  destroy(): void {
    this.#s3.destroy();
  }
}
