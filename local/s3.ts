import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BodyTooLargeError, closeServer, listen, readBody } from './http.ts';
import { localRegion } from './net.ts';
import {
  type ChecksumAlgorithm,
  checksumAlgorithms,
  checksumHeader,
  computeChecksum,
  md5Hex,
  parseChecksumAlgorithm,
} from './s3/checksums.ts';
import { AwsChunkedError, decodeAwsChunked } from './s3/chunked.ts';
import { invalidArgument, noSuchBucket, S3Error } from './s3/errors.ts';
import { compareUtf8, type ObjectVersion, S3Store } from './s3/store.ts';
import {
  child,
  escapeXml,
  MalformedXmlError,
  parseXml,
  s3Namespace,
  type XmlElement,
  xmlDeclaration,
  xmlElement,
} from './s3/xml.ts';

/** Options of {@link startS3Emulator}. */
export interface S3EmulatorOptions {
  /** TCP port on 127.0.0.1. @default 0 - the OS picks a free port */
  readonly port?: number;
  /**
   * Folder that holds buckets and objects; kept on close, and loaded again by the next start.
   * @default - a new temporary folder, removed on close
   */
  readonly dataDir?: string;
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

/**
 * Largest object a single PutObject accepts: 5 GiB (S3 quota). Bodies are held in memory while
 * they are checked, so the practical limit is the machine's memory.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/upload-objects.html
 */
const maxObjectBytes = 5 * 1024 ** 3;

/** User metadata (`x-amz-meta-*` names and values together) is limited to 2 KB (S3 quota). */
const maxMetadataBytes = 2 * 1024;

/** Object keys are at most 1,024 bytes of UTF-8 (S3 quota). */
const maxKeyBytes = 1024;

/** ListObjects, ListObjectVersions and DeleteObjects handle at most 1,000 keys per request (S3 quota). */
const maxKeysPerRequest = 1000;

/** Representation headers S3 stores with an object and returns on GET/HEAD. */
const storedHeaders = [
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'expires',
];

/** The owner the emulator reports for every bucket and object. */
const owner = {
  id: createHash('sha256').update('greco-local').digest('hex'),
  displayName: 'greco-local',
};

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

/** The parts of a request the operations need. */
interface S3Request {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  readonly bucket: string | undefined;
  readonly key: string | undefined;
  readonly query: URLSearchParams;
  readonly requestId: string;
}

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
 * signatures are not verified: any credentials work.
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
  const server = createServer((req, res) => {
    void handle(store, req, res);
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

async function handle(store: S3Store, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  const method = req.method ?? 'GET';
  try {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const { bucket, key } = bucketAndKey(req.headers.host, url.pathname);
    await route(store, { req, res, method, bucket, key, query: url.searchParams, requestId });
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

function notImplemented(what: string): S3Error {
  return new S3Error('NotImplemented', 501, `${what} is not supported by the local S3 emulator`);
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

function send(
  r: S3Request,
  status: number,
  headers: Record<string, string | number | undefined> = {},
  xml?: string,
): void {
  const body = xml === undefined ? '' : `${xmlDeclaration}${xml}`;
  const out: Record<string, string | number> = { 'x-amz-request-id': r.requestId, 'x-amz-id-2': r.requestId };
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = value;
  if (xml !== undefined) out['content-type'] = 'application/xml';
  out['content-length'] = Buffer.byteLength(body);
  r.res.writeHead(status, out);
  r.res.end(body);
}

function header(r: S3Request, name: string): string | undefined {
  const value = r.req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** A request body after aws-chunked decoding and integrity checks. */
interface VerifiedBody {
  readonly data: Buffer;
  /** The flexible checksum the client sent (verified), if any. */
  readonly checksum?: { algorithm: ChecksumAlgorithm; value: string };
}

/**
 * Reads the body, decodes aws-chunked framing, and checks `x-amz-decoded-content-length`,
 * Content-MD5, `x-amz-content-sha256` and any `x-amz-checksum-*` header or trailer.
 */
async function readVerifiedBody(r: S3Request, limitBytes: number): Promise<VerifiedBody> {
  const raw = await readBody(r.req, limitBytes + 1024 * 1024);
  const contentSha256 = header(r, 'x-amz-content-sha256');
  const encodings = (header(r, 'content-encoding') ?? '').split(',').map((e) => e.trim().toLowerCase());
  let data = raw;
  let trailers: Readonly<Record<string, string>> = {};
  if (encodings.includes('aws-chunked') || contentSha256?.startsWith('STREAMING-')) {
    try {
      ({ data, trailers } = decodeAwsChunked(raw));
    } catch (error) {
      if (error instanceof AwsChunkedError) {
        throw new S3Error(
          'IncompleteBody',
          400,
          `The aws-chunked body is malformed: ${error.message}`,
          {},
          {
            cause: error,
          },
        );
      }
      throw error;
    }
    const decodedLength = header(r, 'x-amz-decoded-content-length');
    if (decodedLength !== undefined && Number(decodedLength) !== data.length) {
      throw new S3Error(
        'IncompleteBody',
        400,
        `You did not provide the number of bytes specified by the x-amz-decoded-content-length header (${decodedLength}, received ${data.length})`,
      );
    }
    const announced = (header(r, 'x-amz-trailer') ?? '')
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter((t) => t !== '');
    for (const name of announced) {
      if (trailers[name] === undefined) {
        throw new S3Error(
          'MalformedTrailerError',
          400,
          `The request did not contain the announced trailer ${name}`,
        );
      }
    }
  }
  if (data.length > limitBytes) {
    throw new S3Error('EntityTooLarge', 400, 'Your proposed upload exceeds the maximum allowed size', {
      details: { ProposedSize: String(data.length), MaxSizeAllowed: String(limitBytes) },
    });
  }
  const contentMd5 = header(r, 'content-md5');
  if (contentMd5 !== undefined) {
    if (Buffer.from(contentMd5, 'base64').length !== 16) {
      throw new S3Error('InvalidDigest', 400, 'The Content-MD5 you specified was invalid.', {
        details: { 'Content-MD5': contentMd5 },
      });
    }
    if (createHash('md5').update(data).digest('base64') !== contentMd5) {
      throw new S3Error('BadDigest', 400, 'The Content-MD5 you specified did not match what we received.', {
        details: { ExpectedDigest: contentMd5 },
      });
    }
  }
  if (contentSha256 !== undefined && /^[0-9a-f]{64}$/.test(contentSha256)) {
    const actual = createHash('sha256').update(data).digest('hex');
    if (actual !== contentSha256) {
      throw new S3Error(
        'XAmzContentSHA256Mismatch',
        400,
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
        { details: { ClientComputedContentSHA256: contentSha256, S3ComputedContentSHA256: actual } },
      );
    }
  }
  const sent: { algorithm: ChecksumAlgorithm; value: string }[] = [];
  for (const algorithm of checksumAlgorithms) {
    const name = checksumHeader(algorithm);
    const value = header(r, name) ?? trailers[name];
    if (value !== undefined) sent.push({ algorithm, value });
  }
  if (sent.length > 1) {
    throw new S3Error(
      'InvalidRequest',
      400,
      'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.',
    );
  }
  const checksum = sent[0];
  if (checksum !== undefined && computeChecksum(checksum.algorithm, data) !== checksum.value) {
    throw new S3Error(
      'BadDigest',
      400,
      `The ${checksum.algorithm} you specified did not match the calculated checksum.`,
    );
  }
  return checksum === undefined ? { data } : { data, checksum };
}

function hasIntegrityHeader(r: S3Request): boolean {
  if (header(r, 'content-md5') !== undefined) return true;
  const trailer = (header(r, 'x-amz-trailer') ?? '').toLowerCase();
  return checksumAlgorithms.some(
    (a) => header(r, checksumHeader(a)) !== undefined || trailer.includes(checksumHeader(a)),
  );
}

async function readXmlBody(r: S3Request): Promise<XmlElement | undefined> {
  const { data } = await readVerifiedBody(r, 1024 * 1024);
  if (data.length === 0) return undefined;
  try {
    return parseXml(data.toString('utf8'));
  } catch (error) {
    if (error instanceof MalformedXmlError) {
      throw new S3Error(
        'MalformedXML',
        400,
        'The XML you provided was not well-formed or did not validate against our published schema.',
        {},
        { cause: error },
      );
    }
    throw error;
  }
}

function malformedXml(): S3Error {
  return new S3Error(
    'MalformedXML',
    400,
    'The XML you provided was not well-formed or did not validate against our published schema.',
  );
}

// ---------------------------------------------------------------- buckets

function listBuckets(store: S3Store, r: S3Request): void {
  const prefix = r.query.get('prefix') ?? '';
  const maxBuckets = parseMaxKeys(r.query.get('max-buckets'), 10_000, 'max-buckets');
  const after = r.query.get('continuation-token') ?? '';
  const matching = store
    .listBuckets()
    .filter((b) => b.name.startsWith(prefix) && compareUtf8(b.name, after) > 0);
  const page = matching.slice(0, maxBuckets);
  const truncated = matching.length > page.length;
  const buckets = page
    .map(
      (b) =>
        `<Bucket>${xmlElement('Name', b.name)}${xmlElement('CreationDate', b.creationDate)}${xmlElement('BucketRegion', localRegion)}</Bucket>`,
    )
    .join('');
  send(
    r,
    200,
    {},
    `<ListAllMyBucketsResult xmlns="${s3Namespace}">${ownerXml()}<Buckets>${buckets}</Buckets>${
      truncated ? xmlElement('ContinuationToken', page.at(-1)?.name) : ''
    }${r.query.has('prefix') ? xmlElement('Prefix', prefix) : ''}</ListAllMyBucketsResult>`,
  );
}

function ownerXml(): string {
  return `<Owner>${xmlElement('ID', owner.id)}${xmlElement('DisplayName', owner.displayName)}</Owner>`;
}

async function createBucket(store: S3Store, r: S3Request, bucket: string): Promise<void> {
  const body = await readXmlBody(r);
  if (body !== undefined) {
    if (body.name !== 'CreateBucketConfiguration') throw malformedXml();
    const constraint = child(body, 'LocationConstraint')?.text.trim();
    if (constraint !== undefined && constraint !== '' && constraint !== localRegion) {
      throw new S3Error(
        'IllegalLocationConstraintException',
        400,
        `The ${constraint} location constraint is incompatible for the region specific endpoint this request was sent to.`,
      );
    }
  }
  await store.createBucket(bucket);
  send(r, 200, { location: `/${bucket}` });
}

function headBucket(store: S3Store, r: S3Request, bucket: string): void {
  if (!store.hasBucket(bucket)) throw noSuchBucket(bucket);
  send(r, 200, { 'x-amz-bucket-region': localRegion });
}

async function deleteBucket(store: S3Store, r: S3Request, bucket: string): Promise<void> {
  await store.deleteBucket(bucket);
  send(r, 204);
}

function getBucketLocation(store: S3Store, r: S3Request, bucket: string): void {
  if (!store.hasBucket(bucket)) throw noSuchBucket(bucket);
  // us-east-1 is reported as an empty LocationConstraint, as S3 does.
  const region = localRegion === 'us-east-1' ? '' : localRegion;
  send(r, 200, {}, `<LocationConstraint xmlns="${s3Namespace}">${escapeXml(region)}</LocationConstraint>`);
}

function getBucketVersioning(store: S3Store, r: S3Request, bucket: string): void {
  const status = store.versioning(bucket);
  send(
    r,
    200,
    {},
    `<VersioningConfiguration xmlns="${s3Namespace}">${xmlElement('Status', status)}</VersioningConfiguration>`,
  );
}

async function putBucketVersioning(store: S3Store, r: S3Request, bucket: string): Promise<void> {
  if (!store.hasBucket(bucket)) throw noSuchBucket(bucket);
  const body = await readXmlBody(r);
  if (body?.name !== 'VersioningConfiguration') throw malformedXml();
  const status = child(body, 'Status')?.text.trim();
  const mfaDelete = child(body, 'MfaDelete')?.text.trim();
  if (mfaDelete === 'Enabled') throw notImplemented('MFA delete');
  if (status !== 'Enabled' && status !== 'Suspended') throw malformedXml();
  await store.setVersioning(bucket, status);
  send(r, 200);
}

// ---------------------------------------------------------------- listings

function parseMaxKeys(value: string | null, max: number, name: string): number {
  if (value === null) return max;
  if (!/^\d+$/.test(value))
    throw invalidArgument('Provided max-keys not an integer or within integer range', name, value);
  return Math.min(Number(value), max);
}

/** One listed entry: an object (version) or a common prefix rolled up by the delimiter. */
type Listed = { kind: 'object'; version: ObjectVersion } | { kind: 'prefix'; prefix: string };

/**
 * Rolls `versions` (already in list order) up into entries: every key containing `delimiter`
 * after `prefix` becomes its common prefix, listed once.
 */
function* rollUp(versions: Iterable<ObjectVersion>, prefix: string, delimiter: string): Generator<Listed> {
  let lastPrefix: string | undefined;
  for (const version of versions) {
    if (delimiter !== '') {
      const at = version.key.indexOf(delimiter, prefix.length);
      if (at !== -1) {
        const common = version.key.slice(0, at + delimiter.length);
        if (common !== lastPrefix) {
          lastPrefix = common;
          yield { kind: 'prefix', prefix: common };
        }
        continue;
      }
    }
    yield { kind: 'object', version };
  }
}

function takePage(entries: Generator<Listed>, maxKeys: number): { page: Listed[]; truncated: boolean } {
  const page: Listed[] = [];
  for (const entry of entries) {
    if (page.length === maxKeys) return { page, truncated: true };
    page.push(entry);
  }
  return { page, truncated: false };
}

function encodingOf(r: S3Request): (text: string) => string {
  const encoding = r.query.get('encoding-type');
  if (encoding === null) return (text) => text;
  if (encoding !== 'url')
    throw invalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', encoding);
  return (text) => encodeURIComponent(text).replace(/%2F/g, '/');
}

function lastModifiedEtagSize(version: ObjectVersion): string {
  return `${xmlElement('LastModified', version.lastModified)}${xmlElement('ETag', version.etag)}${xmlElement('Size', version.size)}`;
}

function checksumAlgorithmXml(version: ObjectVersion): string {
  return version.checksum === undefined
    ? ''
    : `${xmlElement('ChecksumAlgorithm', version.checksum.algorithm)}${xmlElement('ChecksumType', 'FULL_OBJECT')}`;
}

function listObjects(store: S3Store, r: S3Request, bucket: string, v2: boolean): void {
  const prefix = r.query.get('prefix') ?? '';
  const delimiter = r.query.get('delimiter') ?? '';
  const maxKeys = parseMaxKeys(r.query.get('max-keys'), maxKeysPerRequest, 'max-keys');
  const encode = encodingOf(r);
  const continuationToken = r.query.get('continuation-token');
  const startAfter = r.query.get('start-after') ?? '';
  let marker = v2 ? startAfter : (r.query.get('marker') ?? '');
  if (v2 && continuationToken !== null) {
    const decoded = Buffer.from(continuationToken, 'base64url').toString('utf8');
    if (!decoded.startsWith('k:')) {
      throw invalidArgument(
        'The continuation token provided is incorrect',
        'continuation-token',
        continuationToken,
      );
    }
    marker = decoded.slice(2);
  }
  const objects = store
    .currentObjects(bucket, prefix)
    .filter(
      (v) => compareUtf8(v.key, marker) > 0 && !skippedByPrefixMarker(v.key, marker, prefix, delimiter),
    );
  const { page, truncated } = takePage(rollUp(objects, prefix, delimiter), maxKeys);
  const last = page.at(-1);
  const lastName = last === undefined ? undefined : last.kind === 'object' ? last.version.key : last.prefix;
  const fetchOwner = !v2 || r.query.get('fetch-owner') === 'true';
  const contents = page
    .filter((e) => e.kind === 'object')
    .map(
      ({ version }) =>
        `<Contents>${xmlElement('Key', encode(version.key))}${lastModifiedEtagSize(version)}${checksumAlgorithmXml(version)}${xmlElement('StorageClass', 'STANDARD')}${fetchOwner ? ownerXml() : ''}</Contents>`,
    )
    .join('');
  const prefixes = page
    .filter((e) => e.kind === 'prefix')
    .map(({ prefix: p }) => `<CommonPrefixes>${xmlElement('Prefix', encode(p))}</CommonPrefixes>`)
    .join('');
  const head =
    `${xmlElement('Name', bucket)}${xmlElement('Prefix', encode(prefix))}` +
    (delimiter !== '' ? xmlElement('Delimiter', encode(delimiter)) : '') +
    xmlElement('MaxKeys', maxKeys) +
    (r.query.has('encoding-type') ? xmlElement('EncodingType', 'url') : '') +
    xmlElement('IsTruncated', truncated);
  const paging = v2
    ? xmlElement('KeyCount', page.length) +
      (continuationToken !== null ? xmlElement('ContinuationToken', continuationToken) : '') +
      (truncated && lastName !== undefined
        ? xmlElement('NextContinuationToken', Buffer.from(`k:${lastName}`).toString('base64url'))
        : '') +
      (r.query.has('start-after') ? xmlElement('StartAfter', encode(startAfter)) : '')
    : xmlElement('Marker', encode(marker)) +
      (truncated && delimiter !== '' && lastName !== undefined
        ? xmlElement('NextMarker', encode(lastName))
        : '');
  send(
    r,
    200,
    {},
    `<ListBucketResult xmlns="${s3Namespace}">${head}${paging}${contents}${prefixes}</ListBucketResult>`,
  );
}

/**
 * After a page that ended on common prefix `marker`, keys under that prefix must not be
 * listed again: they sort after it but were rolled up into it.
 */
function skippedByPrefixMarker(key: string, marker: string, prefix: string, delimiter: string): boolean {
  return (
    delimiter !== '' &&
    marker.endsWith(delimiter) &&
    marker.length > prefix.length &&
    key.startsWith(marker) &&
    marker.indexOf(delimiter, prefix.length) === marker.length - delimiter.length
  );
}

function listObjectVersions(store: S3Store, r: S3Request, bucket: string): void {
  const prefix = r.query.get('prefix') ?? '';
  const delimiter = r.query.get('delimiter') ?? '';
  const maxKeys = parseMaxKeys(r.query.get('max-keys'), maxKeysPerRequest, 'max-keys');
  const encode = encodingOf(r);
  const keyMarker = r.query.get('key-marker') ?? '';
  const versionIdMarker = r.query.get('version-id-marker');
  if (versionIdMarker !== null && keyMarker === '') {
    throw invalidArgument(
      'A version-id marker cannot be specified without a key marker.',
      'version-id-marker',
      versionIdMarker,
    );
  }
  const all = store.allVersions(bucket, prefix);
  let startIndex = 0;
  if (keyMarker !== '') {
    const markerAt =
      versionIdMarker === null
        ? -1
        : all.findIndex((v) => v.key === keyMarker && v.versionId === versionIdMarker);
    startIndex =
      markerAt !== -1
        ? markerAt + 1
        : all.findIndex(
            (v) =>
              compareUtf8(v.key, keyMarker) > 0 &&
              !skippedByPrefixMarker(v.key, keyMarker, prefix, delimiter),
          );
    if (startIndex === -1) startIndex = all.length;
  }
  const rest = all.slice(startIndex);
  const { page, truncated } = takePage(rollUp(rest, prefix, delimiter), maxKeys);
  const latest = new Set<ObjectVersion>();
  for (const [i, v] of all.entries()) if (i === 0 || all[i - 1]?.key !== v.key) latest.add(v);
  const entries = page
    .map((entry) => {
      if (entry.kind === 'prefix')
        return `<CommonPrefixes>${xmlElement('Prefix', encode(entry.prefix))}</CommonPrefixes>`;
      const v = entry.version;
      const isLatest = latest.has(v);
      const common = `${xmlElement('Key', encode(v.key))}${xmlElement('VersionId', v.versionId)}${xmlElement('IsLatest', isLatest)}`;
      if (v.isDeleteMarker) {
        return `<DeleteMarker>${ownerXml()}${common}${xmlElement('LastModified', v.lastModified)}</DeleteMarker>`;
      }
      return `<Version>${ownerXml()}${common}${lastModifiedEtagSize(v)}${checksumAlgorithmXml(v)}${xmlElement('StorageClass', 'STANDARD')}</Version>`;
    })
    .join('');
  const last = page.at(-1);
  const next =
    truncated && last !== undefined
      ? last.kind === 'prefix'
        ? xmlElement('NextKeyMarker', encode(last.prefix))
        : xmlElement('NextKeyMarker', encode(last.version.key)) +
          xmlElement('NextVersionIdMarker', last.version.versionId)
      : '';
  send(
    r,
    200,
    {},
    `<ListVersionsResult xmlns="${s3Namespace}">${xmlElement('Name', bucket)}${xmlElement('Prefix', encode(prefix))}${xmlElement(
      'KeyMarker',
      encode(keyMarker),
    )}${xmlElement('VersionIdMarker', versionIdMarker ?? '')}${next}${xmlElement('MaxKeys', maxKeys)}${
      delimiter !== '' ? xmlElement('Delimiter', encode(delimiter)) : ''
    }${r.query.has('encoding-type') ? xmlElement('EncodingType', 'url') : ''}${xmlElement('IsTruncated', truncated)}${entries}</ListVersionsResult>`,
  );
}

// ---------------------------------------------------------------- objects

function checkKey(key: string): void {
  if (Buffer.byteLength(key) > maxKeyBytes) {
    throw new S3Error('KeyTooLongError', 400, 'Your key is too long', {
      details: { MaxSizeAllowed: String(maxKeyBytes), Size: String(Buffer.byteLength(key)) },
    });
  }
}

/** User metadata and stored headers taken from a PutObject (or a REPLACE CopyObject) request. */
function objectAttributes(r: S3Request): {
  contentType: string;
  metadata: Record<string, string>;
  headers: Record<string, string>;
} {
  if (header(r, 'x-amz-tagging') !== undefined) throw notImplemented('Object tagging (x-amz-tagging)');
  const metadata: Record<string, string> = {};
  let metadataBytes = 0;
  for (const [name, value] of Object.entries(r.req.headers)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
    const text = Array.isArray(value) ? value.join(',') : value;
    const short = name.slice('x-amz-meta-'.length);
    metadata[short] = text;
    metadataBytes += Buffer.byteLength(short) + Buffer.byteLength(text);
  }
  if (metadataBytes > maxMetadataBytes) {
    throw new S3Error(
      'MetadataTooLarge',
      400,
      'Your metadata headers exceed the maximum allowed metadata size.',
      {
        details: { Size: String(metadataBytes), MaxSizeAllowed: String(maxMetadataBytes) },
      },
    );
  }
  const headers: Record<string, string> = {};
  for (const name of storedHeaders) {
    let value = header(r, name);
    if (name === 'content-encoding' && value !== undefined) {
      value = value
        .split(',')
        .map((e) => e.trim())
        .filter((e) => e !== '' && e.toLowerCase() !== 'aws-chunked')
        .join(',');
    }
    if (value !== undefined && value !== '') headers[name] = value;
  }
  return { contentType: header(r, 'content-type') ?? 'binary/octet-stream', metadata, headers };
}

function stripQuotes(etag: string): string {
  const trimmed = etag.trim().replace(/^W\//, '');
  return trimmed.startsWith('"') && trimmed.endsWith('"') ? trimmed.slice(1, -1) : trimmed;
}

function etagMatches(condition: string, etag: string): boolean {
  return condition.split(',').some((c) => c.trim() === '*' || stripQuotes(c) === stripQuotes(etag));
}

function versionHeaders(store: S3Store, bucket: string, version: ObjectVersion): Record<string, string> {
  return store.versioning(bucket) !== undefined || version.versionId !== 'null'
    ? { 'x-amz-version-id': version.versionId }
    : {};
}

function preconditionFailed(condition: string): S3Error {
  return new S3Error(
    'PreconditionFailed',
    412,
    'At least one of the pre-conditions you specified did not hold',
    {
      details: { Condition: condition },
    },
  );
}

async function putObject(store: S3Store, r: S3Request, bucket: string, key: string): Promise<void> {
  checkKey(key);
  if (!store.hasBucket(bucket)) throw noSuchBucket(bucket);
  const attributes = objectAttributes(r);
  const algorithmHeader = header(r, 'x-amz-sdk-checksum-algorithm') ?? header(r, 'x-amz-checksum-algorithm');
  const requested = algorithmHeader === undefined ? undefined : parseChecksumAlgorithm(algorithmHeader);
  if (algorithmHeader !== undefined && requested === undefined) {
    throw invalidArgument(
      'Value for x-amz-checksum-algorithm header is invalid.',
      'x-amz-checksum-algorithm',
      algorithmHeader,
    );
  }
  const { data, checksum } = await readVerifiedBody(r, maxObjectBytes);
  checkWriteConditions(store, r, bucket, key);
  const algorithm = checksum?.algorithm ?? requested ?? 'CRC32';
  const stored = checksum ?? { algorithm, value: computeChecksum(algorithm, data) };
  const version = await store.putObject(bucket, key, data, {
    ...attributes,
    etag: `"${md5Hex(data)}"`,
    size: data.length,
    checksum: stored,
  });
  send(r, 200, {
    etag: version.etag,
    ...versionHeaders(store, bucket, version),
    ...(checksum !== undefined
      ? { [checksumHeader(checksum.algorithm)]: checksum.value, 'x-amz-checksum-type': 'FULL_OBJECT' }
      : {}),
  });
}

/** Conditional writes: `If-None-Match: *` (create only) and `If-Match: <etag>`. */
function checkWriteConditions(store: S3Store, r: S3Request, bucket: string, key: string): void {
  const ifNoneMatch = header(r, 'if-none-match');
  const ifMatch = header(r, 'if-match');
  if (ifNoneMatch === undefined && ifMatch === undefined) return;
  const current = store.currentVersion(bucket, key);
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== '*') {
      throw new S3Error(
        'NotImplemented',
        501,
        'A header you provided implies functionality that is not implemented',
        {
          details: { Header: 'If-None-Match' },
        },
      );
    }
    if (current !== undefined) throw preconditionFailed('If-None-Match');
  }
  if (ifMatch !== undefined) {
    if (current === undefined)
      throw new S3Error('NoSuchKey', 404, 'The specified key does not exist.', { details: { Key: key } });
    if (!etagMatches(ifMatch, current.etag)) throw preconditionFailed('If-Match');
  }
}

/** Reads conditional GET headers; returns 304 when the object is not modified, throws 412 when a precondition fails. */
function checkReadConditions(r: S3Request, version: ObjectVersion): 'not-modified' | undefined {
  const ifMatch = header(r, 'if-match');
  const ifNoneMatch = header(r, 'if-none-match');
  const ifModifiedSince = header(r, 'if-modified-since');
  const ifUnmodifiedSince = header(r, 'if-unmodified-since');
  const modified = Date.parse(version.lastModified);
  if (ifMatch !== undefined && !etagMatches(ifMatch, version.etag)) throw preconditionFailed('If-Match');
  if (ifMatch === undefined && ifUnmodifiedSince !== undefined) {
    const since = Date.parse(ifUnmodifiedSince);
    if (!Number.isNaN(since) && modified > since) throw preconditionFailed('If-Unmodified-Since');
  }
  if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, version.etag)) return 'not-modified';
  if (ifNoneMatch === undefined && ifModifiedSince !== undefined) {
    const since = Date.parse(ifModifiedSince);
    if (!Number.isNaN(since) && modified <= since) return 'not-modified';
  }
  return undefined;
}

/** Parses one `bytes=` range; `undefined` means "send the whole object" (no or unsupported Range). */
function parseRange(range: string | undefined, size: number): { start: number; end: number } | undefined {
  if (range === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  if (match === null || (match[1] === '' && match[2] === '')) return undefined;
  const unsatisfiable = () =>
    new S3Error('InvalidRange', 416, 'The requested range is not satisfiable', {
      details: { RangeRequested: range, ActualObjectSize: String(size) },
      headers: { 'content-range': `bytes */${size}` },
    });
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size) throw unsatisfiable();
  if (end < start) return undefined;
  return { start, end };
}

function versionIdParam(r: S3Request): string | undefined {
  const versionId = r.query.get('versionId');
  if (versionId === null) return undefined;
  if (versionId === '')
    throw invalidArgument('Version id cannot be the empty string', 'versionId', versionId);
  return versionId;
}

async function getObject(store: S3Store, r: S3Request, bucket: string, key: string): Promise<void> {
  const version = store.getVersion(bucket, key, versionIdParam(r));
  const common: Record<string, string> = {
    etag: version.etag,
    'last-modified': new Date(version.lastModified).toUTCString(),
    ...versionHeaders(store, bucket, version),
  };
  if (checkReadConditions(r, version) === 'not-modified') {
    send(r, 304, common);
    return;
  }
  const range = parseRange(header(r, 'range'), version.size);
  const headers: Record<string, string | number> = {
    ...common,
    'accept-ranges': 'bytes',
    'content-type': version.contentType,
    ...version.headers,
  };
  for (const [name, value] of Object.entries(version.metadata)) headers[`x-amz-meta-${name}`] = value;
  for (const name of [
    'content-type',
    'content-language',
    'expires',
    'cache-control',
    'content-disposition',
    'content-encoding',
  ]) {
    const override = r.query.get(`response-${name}`);
    if (override !== null) headers[name] = override;
  }
  if (
    range === undefined &&
    version.checksum !== undefined &&
    header(r, 'x-amz-checksum-mode') === 'ENABLED'
  ) {
    headers[checksumHeader(version.checksum.algorithm)] = version.checksum.value;
    headers['x-amz-checksum-type'] = 'FULL_OBJECT';
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? version.size - 1;
  const length = version.size === 0 ? 0 : end - start + 1;
  headers['content-length'] = length;
  if (range !== undefined) headers['content-range'] = `bytes ${start}-${end}/${version.size}`;
  headers['x-amz-request-id'] = r.requestId;
  headers['x-amz-id-2'] = r.requestId;
  const status = range === undefined ? 200 : 206;
  if (r.method === 'HEAD' || length === 0) {
    r.res.writeHead(status, headers);
    r.res.end();
    return;
  }
  const file = await store.openContent(bucket, version);
  try {
    r.res.writeHead(status, headers);
    await pipeline(file.createReadStream({ start, end, autoClose: false }), r.res);
  } catch (error) {
    // The client went away mid-download; there is nobody left to answer.
    if ((error as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') throw error;
  } finally {
    await file.close();
  }
}

async function deleteObject(store: S3Store, r: S3Request, bucket: string, key: string): Promise<void> {
  const outcome = await store.deleteObject(bucket, key, versionIdParam(r));
  send(r, 204, {
    'x-amz-version-id': outcome.versionId,
    'x-amz-delete-marker': outcome.deleteMarker ? 'true' : undefined,
  });
}

async function deleteObjects(store: S3Store, r: S3Request, bucket: string): Promise<void> {
  if (!hasIntegrityHeader(r)) {
    throw new S3Error(
      'InvalidRequest',
      400,
      'Missing required header for this request: Content-MD5 or x-amz-checksum-*',
    );
  }
  if (!store.hasBucket(bucket)) throw noSuchBucket(bucket);
  const body = await readXmlBody(r);
  if (body?.name !== 'Delete') throw malformedXml();
  const quiet = child(body, 'Quiet')?.text.trim() === 'true';
  const objects = body.children.filter((c) => c.name === 'Object');
  if (objects.length === 0 || objects.length > maxKeysPerRequest) throw malformedXml();
  const targets = objects.map((o) => {
    const key = child(o, 'Key')?.text;
    if (key === undefined) throw malformedXml();
    return { key, versionId: child(o, 'VersionId')?.text };
  });
  const results: string[] = [];
  for (const { key, versionId } of targets) {
    try {
      checkKey(key);
      if (versionId === '') throw invalidArgument('Invalid version id specified', 'versionId', versionId);
      const outcome = await store.deleteObject(bucket, key, versionId);
      if (quiet) continue;
      const markerCreated = versionId === undefined && outcome.deleteMarker;
      results.push(
        `<Deleted>${xmlElement('Key', key)}${xmlElement('VersionId', versionId)}${
          outcome.deleteMarker ? xmlElement('DeleteMarker', true) : ''
        }${markerCreated || (versionId !== undefined && outcome.deleteMarker) ? xmlElement('DeleteMarkerVersionId', outcome.versionId) : ''}</Deleted>`,
      );
    } catch (error) {
      if (!(error instanceof S3Error)) throw error;
      results.push(
        `<Error>${xmlElement('Key', key)}${xmlElement('VersionId', versionId)}${xmlElement('Code', error.code)}${xmlElement('Message', error.message)}</Error>`,
      );
    }
  }
  send(r, 200, {}, `<DeleteResult xmlns="${s3Namespace}">${results.join('')}</DeleteResult>`);
}

/** `x-amz-copy-source`: `[/]<bucket>/<key>[?versionId=<id>]`, URL-encoded. */
function parseCopySource(source: string): { bucket: string; key: string; versionId?: string } {
  const question = source.indexOf('?');
  const path = question === -1 ? source : source.slice(0, question);
  const params = new URLSearchParams(question === -1 ? '' : source.slice(question + 1));
  let decoded: string;
  try {
    decoded = decodeURIComponent(path.startsWith('/') ? path.slice(1) : path);
  } catch {
    throw invalidArgument('Invalid copy source encoding', 'x-amz-copy-source', source);
  }
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) {
    throw invalidArgument(
      'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
      'x-amz-copy-source',
      source,
    );
  }
  const versionId = params.get('versionId') ?? undefined;
  return {
    bucket: decoded.slice(0, slash),
    key: decoded.slice(slash + 1),
    ...(versionId === undefined ? {} : { versionId }),
  };
}

async function copyObject(store: S3Store, r: S3Request, bucket: string, key: string): Promise<void> {
  checkKey(key);
  const source = parseCopySource(header(r, 'x-amz-copy-source') ?? '');
  if (!store.hasBucket(bucket)) throw noSuchBucket(bucket);
  if (!store.hasBucket(source.bucket)) throw noSuchBucket(source.bucket);
  let sourceVersion: ObjectVersion;
  try {
    sourceVersion = store.getVersion(source.bucket, source.key, source.versionId);
  } catch (error) {
    if (error instanceof S3Error && error.code === 'MethodNotAllowed') {
      throw new S3Error(
        'InvalidRequest',
        400,
        'The source of a copy request may not specifically refer to a delete marker by version id.',
      );
    }
    throw error;
  }
  const directive = header(r, 'x-amz-metadata-directive') ?? 'COPY';
  if (directive !== 'COPY' && directive !== 'REPLACE') {
    throw invalidArgument('Unknown metadata directive.', 'x-amz-metadata-directive', directive);
  }
  const sameObject = source.bucket === bucket && source.key === key && source.versionId === undefined;
  if (sameObject && directive === 'COPY') {
    throw new S3Error(
      'InvalidRequest',
      400,
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  const ifMatch = header(r, 'x-amz-copy-source-if-match');
  const ifNoneMatch = header(r, 'x-amz-copy-source-if-none-match');
  if (ifMatch !== undefined && !etagMatches(ifMatch, sourceVersion.etag))
    throw preconditionFailed('x-amz-copy-source-If-Match');
  if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, sourceVersion.etag)) {
    throw preconditionFailed('x-amz-copy-source-If-None-Match');
  }
  const attributes =
    directive === 'REPLACE'
      ? objectAttributes(r)
      : {
          contentType: sourceVersion.contentType,
          metadata: sourceVersion.metadata,
          headers: sourceVersion.headers,
        };
  // A copy request has no body of its own; drain anything sent.
  await readBody(r.req, 1024 * 1024);
  checkWriteConditions(store, r, bucket, key);
  const data = await store.readContent(source.bucket, sourceVersion);
  const algorithmHeader = header(r, 'x-amz-checksum-algorithm');
  const requested = algorithmHeader === undefined ? undefined : parseChecksumAlgorithm(algorithmHeader);
  if (algorithmHeader !== undefined && requested === undefined) {
    throw invalidArgument(
      'Value for x-amz-checksum-algorithm header is invalid.',
      'x-amz-checksum-algorithm',
      algorithmHeader,
    );
  }
  const algorithm = requested ?? sourceVersion.checksum?.algorithm ?? 'CRC32';
  const checksum = { algorithm, value: computeChecksum(algorithm, data) };
  const version = await store.putObject(bucket, key, data, {
    ...attributes,
    etag: sourceVersion.etag,
    size: sourceVersion.size,
    checksum,
  });
  const sourceVersioned = store.versioning(source.bucket) !== undefined || sourceVersion.versionId !== 'null';
  send(
    r,
    200,
    {
      ...versionHeaders(store, bucket, version),
      'x-amz-copy-source-version-id': sourceVersioned ? sourceVersion.versionId : undefined,
    },
    `<CopyObjectResult xmlns="${s3Namespace}">${xmlElement('ETag', version.etag)}${xmlElement('LastModified', version.lastModified)}${xmlElement(
      'ChecksumType',
      'FULL_OBJECT',
    )}${xmlElement(`Checksum${checksum.algorithm}`, checksum.value)}</CopyObjectResult>`,
  );
}
