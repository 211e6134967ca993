/**
 * Code zips in the artifacts bucket, stored by content: `code/<sha256>.zip`. Uploading the
 * same zip twice is a no-op, and a function's code is referenced by its hash.
 *
 * @module
 */
import { HeadObjectCommand, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { type FieldError, ValidationError } from '../domain/errors.ts';
import { forEachWithConcurrency } from '../domain/pool.ts';
import {
  type CodeRef,
  codeRef,
  decodeZipBase64,
  type FunctionSpec,
  type ResolvedFunctionSpecInput,
  toFunctionSpec,
} from './spec.ts';
import { translateUnavailable } from './store/errors.ts';
import { sha256Hex } from './zip.ts';

/** Options of {@link ArtifactStore}. */
export interface ArtifactStoreOptions {
  /** Client of the artifacts bucket; build it with {@link createArtifactsClient}. */
  readonly client: S3Client;
  readonly bucket: string;
  /** HeadObject/PutObject calls in flight at once when resolving a model. @default 8 */
  readonly concurrency?: number;
}

/**
 * Builds the S3 client of the artifacts bucket with bounded timeouts and retries (a bucket that
 * does not answer gives 503 well within API Gateway's 30-second integration timeout). The
 * endpoint comes from the SDK's configuration (`AWS_ENDPOINT_URL_S3` in the local cloud; an IP
 * endpoint makes the SDK use path-style addressing).
 */
export function createArtifactsClient(overrides: S3ClientConfig = {}): S3Client {
  return new S3Client({
    maxAttempts: 3,
    retryMode: 'standard',
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 10_000 },
    ...overrides,
  });
}

/**
 * The artifacts bucket, as greco uses it: zips stored once under `code/<sha256>.zip`.
 *
 * @example
 * const artifacts = new ArtifactStore({ client: createArtifactsClient(), bucket });
 * const ref = await artifacts.putZip(zipBytes); // { sha256, sizeBytes, s3Key }
 */
export class ArtifactStore {
  readonly bucket: string;
  readonly #client: S3Client;
  readonly #concurrency: number;

  constructor(options: ArtifactStoreOptions) {
    this.bucket = options.bucket;
    this.#client = options.client;
    this.#concurrency = options.concurrency ?? 8;
  }

  /**
   * The stored zip with this SHA-256, or `undefined` when there is none.
   * @throws ServiceUnavailableError (503) when the bucket cannot be reached
   */
  async find(sha256: string): Promise<CodeRef | undefined> {
    const ref = codeRef(sha256, 0);
    try {
      const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: ref.s3Key }));
      return codeRef(sha256, head.ContentLength ?? 0);
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if ((error as Error).name === 'NotFound' || status === 404) return undefined;
      throw translateUnavailable(error, 'the artifacts bucket');
    }
  }

  /**
   * Stores a zip by its SHA-256, unless the bucket already has it. The caller has checked the
   * zip (`inspectZip`).
   * @throws ServiceUnavailableError (503) when the bucket cannot be reached
   */
  async putZip(bytes: Uint8Array, sha256: string = sha256Hex(bytes)): Promise<CodeRef> {
    const existing = await this.find(sha256);
    if (existing !== undefined) return existing;
    const ref = codeRef(sha256, bytes.byteLength);
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: ref.s3Key,
          Body: bytes,
          ContentType: 'application/zip',
          ContentLength: bytes.byteLength,
          Metadata: { sha256 },
        }),
      );
    } catch (error) {
      throw translateUnavailable(error, 'the artifacts bucket');
    }
    return ref;
  }

  /**
   * Turns validated function inputs into stored specs: inline zips are stored (once per
   * distinct zip) and `{ sha256 }` references are checked to exist. Every reference is checked
   * before anything is uploaded, so a request with a bad reference writes nothing.
   *
   * @param fieldPrefix the error path of input `i`, e.g. `i => \`functions[${i}].\``
   * @throws ValidationError (400) listing every `code.sha256` that the bucket does not hold
   * @throws ServiceUnavailableError (503) when the bucket cannot be reached
   */
  async resolveSpecs(
    inputs: readonly ResolvedFunctionSpecInput[],
    fieldPrefix: (index: number) => string = () => '',
  ): Promise<FunctionSpec[]> {
    const inline = new Map<string, Uint8Array>();
    const referenced = new Map<string, number[]>();
    const shaOf: string[] = [];
    inputs.forEach((input, index) => {
      if ('zipBase64' in input.code) {
        const bytes = decodeZipBase64(input.code.zipBase64);
        const sha256 = sha256Hex(bytes);
        inline.set(sha256, bytes);
        shaOf[index] = sha256;
      } else {
        const sha256 = input.code.sha256;
        referenced.set(sha256, [...(referenced.get(sha256) ?? []), index]);
        shaOf[index] = sha256;
      }
    });

    const refs = new Map<string, CodeRef>();
    const errors: FieldError[] = [];
    const toCheck = [...referenced.keys()].filter((sha256) => !inline.has(sha256));
    await this.#forEach(toCheck, async (sha256) => {
      const found = await this.find(sha256);
      if (found !== undefined) refs.set(sha256, found);
      else {
        for (const index of referenced.get(sha256) ?? []) {
          errors.push({
            field: `${fieldPrefix(index)}code.sha256`,
            message: `no zip with this SHA-256 is in the artifacts bucket: send the code as zipBase64, or upload it first`,
          });
        }
      }
    });
    if (errors.length > 0) {
      throw new ValidationError(
        errors.sort((a, b) => a.field.localeCompare(b.field, 'en', { numeric: true })),
      );
    }

    await this.#forEach([...inline], async ([sha256, bytes]) => {
      refs.set(sha256, await this.putZip(bytes, sha256));
    });
    return inputs.map((input, index) => toFunctionSpec(input, refs.get(shaOf[index] as string) as CodeRef));
  }

  /** Runs `work` on every item, a few at a time; the first failure stops the others from starting more. */
  async #forEach<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
    await forEachWithConcurrency(items, work, { concurrency: this.#concurrency });
  }
}
