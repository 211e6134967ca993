/**
 * Code zips in the artifacts bucket, stored by content: `code/<sha256>.zip`. Uploading the
 * same zip twice is a no-op, and a function's code is referenced by its hash.
 *
 * Large zips arrive through presigned uploads ({@link ArtifactStore.createUpload}) at a staging
 * key, `uploads/<workspace>/<sha256>.zip`; the first spec that refers to one has it inspected
 * (the checks of inline code) and promoted to `code/<sha256>.zip` with its entry list beside it
 * (`code/<sha256>.entries.json`), so that a spec's handler is checked against the zip it names.
 *
 * @module
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { type FieldError, ValidationError } from '../domain/errors.ts';
import { forEachWithConcurrency } from '../domain/pool.ts';
import { handlerModuleProblem } from './handler-module.ts';
import {
  type CodeRef,
  codeRef,
  decodeZipBase64,
  type FunctionSpec,
  type ResolvedFunctionSpecInput,
  toFunctionSpec,
} from './spec.ts';
import { translateUnavailable } from './store/errors.ts';
import { InvalidZipError, inspectZip, sha256Hex } from './zip.ts';

/** Key prefix of presigned uploads, before inspection: `uploads/<workspace>/<sha256>.zip`. */
export const uploadKeyPrefix = 'uploads/';

/** Staging key of a presigned upload: `uploads/<workspace>/<sha256>.zip`. */
export function uploadKey(workspace: string, sha256: string): string {
  return `${uploadKeyPrefix}${workspace}/${sha256}.zip`;
}

/** Key of a stored zip's entry list (JSON array of names): `code/<sha256>.entries.json`. */
export function entriesKey(sha256: string): string {
  return `code/${sha256}.entries.json`;
}

/**
 * Largest zip accepted through a presigned upload, in bytes: 50 MB (52,428,800 bytes), Lambda's
 * quota "Deployment package (.zip file archive) size: 50 MB (zipped, when uploaded through the
 * Lambda API or SDKs)" (Lambda quotas page), which greco keeps for uploads through S3 too; the
 * unzipped contents are further bounded by the 250 MB unzipped quota (`unzippedCodeMaxBytes`).
 */
export const uploadZipMaxBytes = 52_428_800;

/** How long a presigned upload URL is valid, in seconds (15 minutes). */
export const uploadUrlExpirySeconds = 900;

/** A presigned PUT of one zip: send exactly these headers and the zip's bytes. */
export interface PresignedUpload {
  /** The SigV4 presigned URL (query-string authentication). */
  readonly url: string;
  readonly method: 'PUT';
  /** Headers the signature binds: `content-length`, `content-type`, `x-amz-checksum-sha256`. */
  readonly headers: Readonly<Record<string, string>>;
  /** When the URL stops working, ISO 8601. */
  readonly expiresAt: string;
}

/** What {@link ArtifactStore.createUpload} answers: the stored zip, or where to upload it. */
export type UploadAnswer =
  | { readonly stored: CodeRef; readonly upload?: undefined }
  | { readonly stored?: undefined; readonly upload: PresignedUpload };

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
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 10_000, throwOnRequestTimeout: true },
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
   * A presigned PUT for a zip of this SHA-256 and size, to the workspace's staging key; S3
   * itself refuses other bytes (the signature binds `content-length` and
   * `x-amz-checksum-sha256`). When the bucket already holds the zip, no upload is needed.
   *
   * @param sha256 - 64 lowercase hex characters (the caller validated it)
   * @param sizeBytes - 1..{@link uploadZipMaxBytes} (the caller validated it)
   * @throws ServiceUnavailableError (503) when the bucket cannot be reached
   */
  async createUpload(
    workspace: string,
    sha256: string,
    sizeBytes: number,
    now: Date = new Date(),
  ): Promise<UploadAnswer> {
    const stored = await this.find(sha256);
    if (stored !== undefined) return { stored };
    const checksum = Buffer.from(sha256, 'hex').toString('base64');
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: uploadKey(workspace, sha256),
      ContentLength: sizeBytes,
      ContentType: 'application/zip',
      ChecksumSHA256: checksum,
    });
    const headers = {
      'content-length': String(sizeBytes),
      'content-type': 'application/zip',
      'x-amz-checksum-sha256': checksum,
    };
    const url = await getSignedUrl(this.#client, command, {
      expiresIn: uploadUrlExpirySeconds,
      signingDate: now,
      signableHeaders: new Set(Object.keys(headers)),
      unhoistableHeaders: new Set(['x-amz-checksum-sha256']),
    });
    const expiresAt = new Date(now.getTime() + uploadUrlExpirySeconds * 1000).toISOString();
    return { upload: { url, method: 'PUT', headers, expiresAt } };
  }

  /**
   * Turns validated function inputs into stored specs: inline zips are stored (once per
   * distinct zip) and `{ sha256 }` references are checked to exist. A reference to a zip that
   * the workspace uploaded (see {@link createUpload}) but no spec used yet is inspected like
   * inline code and promoted to `code/<sha256>.zip`. Every function's handler is checked against
   * its zip's entries, inline or referenced (`core/handler-module.ts`; zips stored before entry
   * lists were kept are not checked). Every reference is checked before anything
   * is stored, so a request with a bad reference writes nothing but promoted uploads.
   *
   * @param fieldPrefix the error path of input `i`, e.g. `i => \`functions[${i}].\``
   * @param workspace the caller's workspace, whose uploads may be promoted
   * @throws ValidationError (400) listing every `code.sha256` that the bucket does not hold, every
   *   uploaded zip that fails inspection, and every handler missing from its zip
   * @throws ServiceUnavailableError (503) when the bucket cannot be reached
   */
  async resolveSpecs(
    inputs: readonly ResolvedFunctionSpecInput[],
    fieldPrefix: (index: number) => string = () => '',
    workspace?: string,
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
    const entriesOf = new Map<string, readonly string[]>();
    const missing: string[] = [];
    await this.#forEach(toCheck, async (sha256) => {
      const found = await this.find(sha256);
      if (found === undefined) missing.push(sha256);
      else {
        refs.set(sha256, found);
        const entries = await this.#findEntries(sha256);
        if (entries !== undefined) entriesOf.set(sha256, entries);
      }
    });
    // Uploads are promoted one at a time: each may hold up to 50 MB in memory while inspected.
    for (const sha256 of missing) {
      const promoted = workspace === undefined ? undefined : await this.#promote(workspace, sha256);
      if (promoted !== undefined && 'problem' in promoted) {
        for (const index of referenced.get(sha256) ?? []) {
          errors.push({ field: `${fieldPrefix(index)}code.sha256`, message: promoted.problem });
        }
      } else if (promoted !== undefined) {
        refs.set(sha256, promoted.ref);
        entriesOf.set(sha256, promoted.entries);
      } else {
        for (const index of referenced.get(sha256) ?? []) {
          errors.push({
            field: `${fieldPrefix(index)}code.sha256`,
            message: `no zip with this SHA-256 is in the artifacts bucket: send the code as zipBase64, or upload it first (POST /v1/artifacts)`,
          });
        }
      }
    }
    // Inline zips passed inspection when the spec was parsed; their entries are read again here.
    for (const [sha256, bytes] of inline) entriesOf.set(sha256, inspectZip(bytes).entries);
    inputs.forEach((input, index) => {
      const entries = entriesOf.get(shaOf[index] as string);
      const problem =
        entries === undefined ? undefined : handlerModuleProblem(input.runtime, input.handler, entries);
      if (problem !== undefined) errors.push({ field: `${fieldPrefix(index)}handler`, message: problem });
    });
    if (errors.length > 0) {
      throw new ValidationError(
        errors.sort((a, b) => a.field.localeCompare(b.field, 'en', { numeric: true })),
      );
    }

    await this.#forEach([...inline], async ([sha256, bytes]) => {
      const stored = await this.find(sha256);
      if (stored === undefined) {
        // The entry list first: a stored zip always has its list, unless stored before lists were kept.
        await this.#putEntries(sha256, entriesOf.get(sha256) ?? inspectZip(bytes).entries);
      }
      refs.set(sha256, stored ?? (await this.putZip(bytes, sha256)));
    });
    const disagreeing = sizeDisagreements(inputs, refs, fieldPrefix);
    if (disagreeing.length > 0) throw new ValidationError(disagreeing);
    return inputs.map((input, index) => toFunctionSpec(input, refs.get(shaOf[index] as string) as CodeRef));
  }

  /**
   * Inspects the workspace's upload of this SHA-256 and stores it as `code/<sha256>.zip` with
   * its entry list; `undefined` when there is no such upload, `{ problem }` when it fails
   * inspection (it is then deleted and never becomes usable).
   */
  async #promote(
    workspace: string,
    sha256: string,
  ): Promise<{ ref: CodeRef; entries: readonly string[] } | { problem: string } | undefined> {
    const key = uploadKey(workspace, sha256);
    const bytes = await this.#getObject(key);
    if (bytes === undefined) return undefined;
    let problem: string | undefined;
    let entries: readonly string[] = [];
    if (bytes.byteLength > uploadZipMaxBytes) {
      problem = `the uploaded zip is ${bytes.byteLength} bytes; uploads are limited to ${uploadZipMaxBytes} bytes (Lambda's 50 MB zipped deployment package quota)`;
    } else if (sha256Hex(bytes) !== sha256) {
      problem = 'the uploaded bytes do not have this SHA-256; upload the zip again';
    } else {
      try {
        entries = inspectZip(bytes).entries;
      } catch (error) {
        if (!(error instanceof InvalidZipError)) throw error;
        problem = `the uploaded zip is not valid: ${error.message}`;
      }
    }
    if (problem !== undefined) {
      await this.#deleteObject(key);
      return { problem };
    }
    await this.#putEntries(sha256, entries);
    const ref = await this.putZip(bytes, sha256);
    await this.#deleteObject(key);
    return { ref, entries };
  }

  /** The entry list stored beside a zip; `undefined` for zips stored before lists were kept. */
  async #findEntries(sha256: string): Promise<readonly string[] | undefined> {
    const bytes = await this.#getObject(entriesKey(sha256));
    if (bytes === undefined) return undefined;
    const parsed: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
    return Array.isArray(parsed) && parsed.every((name) => typeof name === 'string') ? parsed : undefined;
  }

  async #putEntries(sha256: string, entries: readonly string[]): Promise<void> {
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: entriesKey(sha256),
          Body: JSON.stringify(entries),
          ContentType: 'application/json',
        }),
      );
    } catch (error) {
      throw translateUnavailable(error, 'the artifacts bucket');
    }
  }

  /** An object's bytes, or `undefined` when there is no such key. */
  async #getObject(key: string): Promise<Uint8Array | undefined> {
    try {
      const answer = await this.#client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return answer.Body === undefined ? new Uint8Array() : await answer.Body.transformToByteArray();
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if ((error as Error).name === 'NoSuchKey' || status === 404) return undefined;
      throw translateUnavailable(error, 'the artifacts bucket');
    }
  }

  async #deleteObject(key: string): Promise<void> {
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      throw translateUnavailable(error, 'the artifacts bucket');
    }
  }

  /** Runs `work` on every item, a few at a time; the first failure stops the others from starting more. */
  async #forEach<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
    await forEachWithConcurrency(items, work, { concurrency: this.#concurrency });
  }
}

/**
 * The read-only `code.sizeBytes` sent beside a `sha256` (as GET answers a function) that disagree
 * with the stored artifact's size: one 400 field error each.
 */
function sizeDisagreements(
  inputs: readonly ResolvedFunctionSpecInput[],
  refs: ReadonlyMap<string, CodeRef>,
  fieldPrefix: (index: number) => string,
): FieldError[] {
  const errors: FieldError[] = [];
  inputs.forEach((input, index) => {
    if (!('sha256' in input.code) || input.code.sizeBytes === undefined) return;
    const stored = refs.get(input.code.sha256);
    if (stored === undefined || stored.sizeBytes === input.code.sizeBytes) return;
    errors.push({
      field: `${fieldPrefix(index)}code.sizeBytes`,
      message: `is read-only: the zip of this sha256 is ${stored.sizeBytes} bytes, got ${input.code.sizeBytes}`,
    });
  });
  return errors;
}
