import { invalidArgument } from './errors.ts';
import { maxKeysPerRequest, ownerXml, type S3Request, send } from './request.ts';
import { compareUtf8, type ObjectVersion, type S3Store } from './store.ts';
import { s3Namespace, xmlElement } from './xml.ts';

/**
 * The listing operations of the S3 emulator: ListObjects, ListObjectsV2 and
 * ListObjectVersions, with prefixes, delimiters (common prefixes), markers and continuation
 * tokens, and `encoding-type=url`.
 */

/**
 * A `max-keys`-style page size, capped at `max`; `max` when absent.
 *
 * @throws S3Error InvalidArgument (400) naming `name` when the value is not a non-negative integer
 */
export function parseMaxKeys(value: string | null, max: number, name: string): number {
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

/**
 * ListObjects (`GET /<bucket>`) and, with `v2`, ListObjectsV2 (`list-type=2`): current
 * versions only, at most 1,000 keys a page.
 *
 * @throws S3Error InvalidArgument (400) for a bad `max-keys`, `encoding-type` or continuation token
 */
export function listObjects(store: S3Store, r: S3Request, bucket: string, v2: boolean): void {
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

/**
 * ListObjectVersions (`GET /<bucket>?versions`): every version and delete marker, newest first
 * per key, at most 1,000 a page.
 *
 * @throws S3Error InvalidArgument (400) for a bad `max-keys` or `encoding-type`, or a
 *   `version-id-marker` without `key-marker`
 */
export function listObjectVersions(store: S3Store, r: S3Request, bucket: string): void {
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
