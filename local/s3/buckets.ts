import { localRegion } from '../net.ts';
import { noSuchBucket, S3Error } from './errors.ts';
import { parseMaxKeys } from './listings.ts';
import { malformedXml, notImplemented, ownerXml, readXmlBody, type S3Request, send } from './request.ts';
import { compareUtf8, type S3Store } from './store.ts';
import { child, escapeXml, s3Namespace, xmlElement } from './xml.ts';

/**
 * The bucket operations of the S3 emulator: ListBuckets, CreateBucket, HeadBucket,
 * DeleteBucket, GetBucketLocation, Get/PutBucketVersioning.
 */

/** ListBuckets (`GET /`): paged by `max-buckets` and `continuation-token`, filtered by `prefix`. */
export function listBuckets(store: S3Store, r: S3Request): void {
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

/**
 * CreateBucket (`PUT /<bucket>`), with an optional `CreateBucketConfiguration`.
 *
 * @throws S3Error IllegalLocationConstraintException (400) for a region other than the local one
 */
export async function createBucket(store: S3Store, r: S3Request, bucket: string): Promise<void> {
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

/**
 * HeadBucket (`HEAD /<bucket>`).
 *
 * @throws S3Error NoSuchBucket (404)
 */
export function headBucket(store: S3Store, r: S3Request, bucket: string): void {
  if (!store.hasBucket(bucket)) throw noSuchBucket(bucket);
  send(r, 200, { 'x-amz-bucket-region': localRegion });
}

/** DeleteBucket (`DELETE /<bucket>`). */
export async function deleteBucket(store: S3Store, r: S3Request, bucket: string): Promise<void> {
  await store.deleteBucket(bucket);
  send(r, 204);
}

/**
 * GetBucketLocation (`GET /<bucket>?location`).
 *
 * @throws S3Error NoSuchBucket (404)
 */
export function getBucketLocation(store: S3Store, r: S3Request, bucket: string): void {
  if (!store.hasBucket(bucket)) throw noSuchBucket(bucket);
  // us-east-1 is reported as an empty LocationConstraint, as S3 does.
  const region = localRegion === 'us-east-1' ? '' : localRegion;
  send(r, 200, {}, `<LocationConstraint xmlns="${s3Namespace}">${escapeXml(region)}</LocationConstraint>`);
}

/** GetBucketVersioning (`GET /<bucket>?versioning`). */
export function getBucketVersioning(store: S3Store, r: S3Request, bucket: string): void {
  const status = store.versioning(bucket);
  send(
    r,
    200,
    {},
    `<VersioningConfiguration xmlns="${s3Namespace}">${xmlElement('Status', status)}</VersioningConfiguration>`,
  );
}

/**
 * PutBucketVersioning (`PUT /<bucket>?versioning`): `Enabled` or `Suspended`; MFA delete is not supported.
 *
 * @throws S3Error NoSuchBucket (404), MalformedXML (400), NotImplemented (501)
 */
export async function putBucketVersioning(store: S3Store, r: S3Request, bucket: string): Promise<void> {
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
