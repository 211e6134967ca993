import { pipeline } from 'node:stream/promises';
import { readBody } from '../http.ts';
import { checksumHeader, computeChecksum, md5Hex, parseChecksumAlgorithm } from './checksums.ts';
import { invalidArgument, noSuchBucket, S3Error } from './errors.ts';
import {
  hasIntegrityHeader,
  header,
  malformedXml,
  maxKeysPerRequest,
  notImplemented,
  readVerifiedBody,
  readXmlBody,
  type S3Request,
  send,
} from './request.ts';
import type { ObjectVersion, S3Store } from './store.ts';
import { child, s3Namespace, xmlElement } from './xml.ts';

/**
 * The object operations of the S3 emulator: PutObject (conditional writes), GetObject and
 * HeadObject (ranges, conditional reads, `response-*` overrides), DeleteObject, DeleteObjects
 * and CopyObject.
 */

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

/** Representation headers S3 stores with an object and returns on GET/HEAD. */
const storedHeaders = [
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'expires',
];

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

/**
 * PutObject (`PUT /<bucket>/<key>`): stores the verified body with its metadata, stored
 * headers and a full-object checksum (the one sent, else the one asked for, else CRC32).
 *
 * @throws S3Error KeyTooLongError, MetadataTooLarge, InvalidArgument or a body check (400),
 *   NoSuchBucket (404), PreconditionFailed (412), NotImplemented (501) for `x-amz-tagging`
 */
export async function putObject(store: S3Store, r: S3Request, bucket: string, key: string): Promise<void> {
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

/**
 * GetObject and HeadObject (`GET`/`HEAD /<bucket>/<key>`): one `bytes=` range, conditional
 * headers (304, 412), `versionId`, `response-*` overrides, the checksum with
 * `x-amz-checksum-mode: ENABLED`; the content is streamed from disk.
 *
 * @throws S3Error NoSuchKey (404), PreconditionFailed (412), InvalidRange (416)
 */
export async function getObject(store: S3Store, r: S3Request, bucket: string, key: string): Promise<void> {
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

/** DeleteObject (`DELETE /<bucket>/<key>`): a delete marker when the bucket is versioned. */
export async function deleteObject(store: S3Store, r: S3Request, bucket: string, key: string): Promise<void> {
  const outcome = await store.deleteObject(bucket, key, versionIdParam(r));
  send(r, 204, {
    'x-amz-version-id': outcome.versionId,
    'x-amz-delete-marker': outcome.deleteMarker ? 'true' : undefined,
  });
}

/**
 * DeleteObjects (`POST /<bucket>?delete`): up to 1,000 keys, each answered `Deleted` or
 * `Error`; `Quiet` reports errors only.
 *
 * @throws S3Error InvalidRequest (400) without Content-MD5 or a checksum, MalformedXML (400),
 *   NoSuchBucket (404)
 */
export async function deleteObjects(store: S3Store, r: S3Request, bucket: string): Promise<void> {
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

/**
 * CopyObject (`PUT /<bucket>/<key>` with `x-amz-copy-source`): `COPY` or `REPLACE` metadata,
 * source conditions, a version of the source.
 *
 * @throws S3Error InvalidArgument or InvalidRequest (400), NoSuchBucket or NoSuchKey (404),
 *   PreconditionFailed (412)
 */
export async function copyObject(store: S3Store, r: S3Request, bucket: string, key: string): Promise<void> {
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
