import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BodyTooLargeError, closeServer, listen } from '../http.ts';
import { localCredentials } from '../net.ts';
import {
  createBucket,
  deleteBucket,
  getBucketLocation,
  getBucketVersioning,
  headBucket,
  listBuckets,
  putBucketVersioning,
} from './buckets.ts';
import { S3Error } from './errors.ts';
import { listObjects, listObjectVersions } from './listings.ts';
import { copyObject, deleteObject, deleteObjects, getObject, putObject } from './objects.ts';
import { isPresigned, type KnownKeys, verifyPresigned } from './presigned.ts';
import { notImplemented, type S3Request } from './request.ts';
import { S3Store } from './store.ts';
import { xmlDeclaration, xmlElement } from './xml.ts';

/** Options of {@link startS3Emulator}. */
export interface S3EmulatorOptions {
  /** TCP port on 127.0.0.1. @default 0 - the OS picks a free port */
  readonly port?: number;
  /**
   * Folder that holds buckets and objects; kept on close, and loaded again by the next start.
   * @default - a new temporary folder, removed on close
   */
  readonly dataDir?: string;
  /**
   * Access keys that sign presigned URLs (access key id → secret access key): a presigned
   * request is verified against them. Header-signed requests are not verified.
   * @default - the local cloud's credentials (local/net.ts `localCredentials`)
   */
  readonly keys?: KnownKeys;
  /** Clock of presigned URLs' expiry. @default - the system clock */
  readonly now?: () => Date;
}

/** A running S3 emulator. */
export interface S3Emulator {
  /** `http://127.0.0.1:<port>`: the `endpoint` for `S3Client` and `--endpoint-url` for the AWS CLI. */
  readonly endpoint: string;
  /** The folder the objects are kept in. */
  readonly dataDir: string;
  /** Stops the server; removes the data folder if it was a temporary one. */
  close(): Promise<void>;
}

/** Query parameters that select no operation of their own. */
const plainParameters = new Set([
  'x-id',
  'prefix',
  'delimiter',
  'max-keys',
  'continuation-token',
  'start-after',
  'encoding-type',
  'fetch-owner',
  'list-type',
  'marker',
  'key-marker',
  'version-id-marker',
  'max-buckets',
  'bucket-region',
  'versionId',
  'partNumber',
  'response-content-type',
  'response-content-language',
  'response-expires',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
]);

/**
 * Starts a local S3 that the AWS SDK v3 `S3Client` (with `endpoint` set; path-style is chosen
 * for IP endpoints, `forcePathStyle` also works, and `<bucket>.localhost` virtual hosts are
 * understood) and the AWS CLI (`--endpoint-url`) can use.
 *
 * Operations: CreateBucket, HeadBucket, DeleteBucket, ListBuckets, GetBucketLocation,
 * Get/PutBucketVersioning, PutObject, GetObject (Range, conditional headers, versionId,
 * `response-*` overrides), HeadObject, DeleteObject (delete markers when versioned),
 * DeleteObjects, CopyObject, ListObjects, ListObjectsV2, ListObjectVersions. Others answer
 * `501 NotImplemented` naming what was asked. Bodies sent with `aws-chunked` encoding are
 * decoded; Content-MD5, `x-amz-content-sha256` and the flexible checksums (CRC32, CRC32C,
 * CRC64NVME, SHA1, SHA256, header or trailer) are verified (`BadDigest` on mismatch). SigV4
 * header signatures are not verified (any credentials work); presigned URLs (query-string
 * authentication) are: a tampered URL answers 403 `SignatureDoesNotMatch`, an expired one 403
 * `AccessDenied` "Request has expired" (local/s3/presigned.ts).
 *
 * @example
 * const s3 = await startS3Emulator();
 * const client = new S3Client({ endpoint: s3.endpoint, region: localRegion, credentials: localCredentials });
 * await client.send(new CreateBucketCommand({ Bucket: 'artifacts' }));
 * await s3.close();
 */
export async function startS3Emulator(options: S3EmulatorOptions = {}): Promise<S3Emulator> {
  const temporary = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'greco-s3-')));
  const store = await S3Store.open(dataDir);
  const keys: KnownKeys =
    options.keys ?? new Map([[localCredentials.accessKeyId, localCredentials.secretAccessKey]]);
  const now = options.now ?? (() => new Date());
  const server = createServer((req, res) => {
    void handle(store, req, res, { keys, now });
  });
  const endpoint = await listen(server, options.port ?? 0);
  return {
    endpoint,
    dataDir,
    async close() {
      await closeServer(server);
      if (temporary) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function handle(
  store: S3Store,
  req: IncomingMessage,
  res: ServerResponse,
  auth: { keys: KnownKeys; now: () => Date },
): Promise<void> {
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  const method = req.method ?? 'GET';
  try {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const { bucket, key } = bucketAndKey(req.headers.host, url.pathname);
    const query = isPresigned(url.searchParams)
      ? verifyPresigned(req, req.url ?? '/', auth.keys, auth.now())
      : url.searchParams;
    await route(store, { req, res, method, bucket, key, query, requestId });
  } catch (error) {
    const s3Error =
      error instanceof S3Error
        ? error
        : error instanceof BodyTooLargeError
          ? new S3Error('EntityTooLarge', 400, 'Your proposed upload exceeds the maximum allowed size')
          : new S3Error(
              'InternalError',
              500,
              'We encountered an internal error. Please try again.',
              {},
              {
                cause: error,
              },
            );
    if (s3Error.code === 'InternalError') console.error('local S3: internal error', error);
    sendError(req, res, method, s3Error, requestId);
  }
}

function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  error: S3Error,
  requestId: string,
) {
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  const body =
    method === 'HEAD'
      ? ''
      : `${xmlDeclaration}<Error>${xmlElement('Code', error.code)}${xmlElement('Message', error.message)}${Object.entries(
          error.details,
        )
          .map(([name, value]) => xmlElement(name, value))
          .join('')}${xmlElement('RequestId', requestId)}${xmlElement('HostId', requestId)}</Error>`;
  // The request body may not have been read (e.g. NoSuchBucket on a PutObject): drain it.
  if (!req.readableEnded) req.resume();
  res.writeHead(error.status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
    'x-amz-request-id': requestId,
    'x-amz-id-2': requestId,
    ...error.headers,
  });
  res.end(body);
}

/** Path-style `/<bucket>/<key>`, or virtual-host style `<bucket>.localhost` with `/<key>`. */
function bucketAndKey(host: string | undefined, pathname: string): { bucket?: string; key?: string } {
  const hostname = (host ?? '').replace(/:\d+$/, '').toLowerCase();
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch (error) {
      throw new S3Error('InvalidURI', 400, "Couldn't parse the specified URI.", {}, { cause: error });
    }
  };
  const path = pathname.startsWith('/') ? pathname.slice(1) : pathname;
  if (hostname.endsWith('.localhost')) {
    const bucket = hostname.slice(0, -'.localhost'.length);
    return { bucket, key: path === '' ? undefined : decode(path) };
  }
  if (path === '') return {};
  const slash = path.indexOf('/');
  if (slash === -1) return { bucket: decode(path) };
  const key = decode(path.slice(slash + 1));
  return { bucket: decode(path.slice(0, slash)), key: key === '' ? undefined : key };
}

/** The query parameters of `query` that name a sub-resource (`?acl`, `?tagging`, `?uploads`...). */
function subresources(query: URLSearchParams): string[] {
  return [...new Set(query.keys())].filter((name) => !plainParameters.has(name));
}

async function route(store: S3Store, r: S3Request): Promise<void> {
  const sub = subresources(r.query);
  const only = (name?: string) =>
    name === undefined ? sub.length === 0 : sub.length === 1 && sub[0] === name;
  const { method, bucket, key } = r;
  if (bucket === undefined) {
    if (method === 'GET' && only()) return listBuckets(store, r);
    throw notImplemented(`${method} /${sub.length > 0 ? `?${sub.join('&')}` : ''}`);
  }
  if (key === undefined) {
    if (method === 'PUT' && only()) return createBucket(store, r, bucket);
    if (method === 'PUT' && only('versioning')) return putBucketVersioning(store, r, bucket);
    if (method === 'HEAD' && only()) return headBucket(store, r, bucket);
    if (method === 'DELETE' && only()) return deleteBucket(store, r, bucket);
    if (method === 'GET' && only('versioning')) return getBucketVersioning(store, r, bucket);
    if (method === 'GET' && only('location')) return getBucketLocation(store, r, bucket);
    if (method === 'GET' && only('versions')) return listObjectVersions(store, r, bucket);
    if (method === 'GET' && only()) return listObjects(store, r, bucket, r.query.get('list-type') === '2');
    if (method === 'POST' && only('delete')) return deleteObjects(store, r, bucket);
    throw notImplemented(`${method} on a bucket${sub.length > 0 ? ` with ?${sub.join('&')}` : ''}`);
  }
  if (only()) {
    if (method === 'PUT' && r.req.headers['x-amz-copy-source'] !== undefined)
      return copyObject(store, r, bucket, key);
    if (method === 'PUT') return putObject(store, r, bucket, key);
    if (method === 'GET' || method === 'HEAD') return getObject(store, r, bucket, key);
    if (method === 'DELETE') return deleteObject(store, r, bucket, key);
  }
  throw notImplemented(`${method} on an object${sub.length > 0 ? ` with ?${sub.join('&')}` : ''}`);
}
