import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  paginateListObjectsV2,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localCredentials, localRegion } from '../../local/net.ts';
import { type S3Emulator, startS3Emulator } from '../../local/s3/index.ts';

function md5(data: Uint8Array): string {
  return `"${createHash('md5').update(data).digest('hex')}"`;
}

/** The whole body of a GetObject answer. */
async function bytesOf(body: { transformToByteArray(): Promise<Uint8Array> } | undefined): Promise<Buffer> {
  if (body === undefined) throw new Error('the answer has no body');
  return Buffer.from(await body.transformToByteArray());
}

/** The S3 error name, HTTP status and (for errors with a body) the error code of a failed call. */
async function failure(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof S3ServiceException)) throw error;
    return { name: error.name, status: error.$metadata.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

describe('local S3 emulator through the real S3Client', () => {
  let s3: S3Emulator;
  let client: S3Client;
  const newBucket = () => `greco-test-${randomBytes(6).toString('hex')}`;
  const createBucket = async () => {
    const Bucket = newBucket();
    await client.send(new CreateBucketCommand({ Bucket }));
    return Bucket;
  };

  beforeAll(async () => {
    s3 = await startS3Emulator();
    client = new S3Client({ endpoint: s3.endpoint, region: localRegion, credentials: localCredentials });
  });

  afterAll(async () => {
    client?.destroy();
    await s3?.close();
  });

  describe('buckets', () => {
    it('creates, heads, lists and deletes a bucket', async () => {
      const Bucket = await createBucket();
      const head = await client.send(new HeadBucketCommand({ Bucket }));
      expect(head.BucketRegion).toBe(localRegion);
      const { Buckets } = await client.send(new ListBucketsCommand({}));
      expect(Buckets?.map((b) => b.Name)).toContain(Bucket);
      expect(Buckets?.find((b) => b.Name === Bucket)?.CreationDate).toBeInstanceOf(Date);
      await client.send(new DeleteBucketCommand({ Bucket }));
      expect(await failure(client.send(new HeadBucketCommand({ Bucket })))).toEqual({
        name: 'NotFound',
        status: 404,
      });
    });

    it('answers BucketAlreadyOwnedByYou (409) for a second CreateBucket', async () => {
      const Bucket = await createBucket();
      expect(await failure(client.send(new CreateBucketCommand({ Bucket })))).toEqual({
        name: 'BucketAlreadyOwnedByYou',
        status: 409,
      });
    });

    it('refuses an invalid bucket name with InvalidBucketName', async () => {
      const response = await fetch(`${s3.endpoint}/Not_A_Bucket`, { method: 'PUT' });
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('<Code>InvalidBucketName</Code>');
    });

    it('refuses to delete a bucket that still holds an object with BucketNotEmpty (409)', async () => {
      const Bucket = await createBucket();
      await client.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x' }));
      expect(await failure(client.send(new DeleteBucketCommand({ Bucket })))).toEqual({
        name: 'BucketNotEmpty',
        status: 409,
      });
      await client.send(new DeleteObjectCommand({ Bucket, Key: 'k' }));
      await client.send(new DeleteBucketCommand({ Bucket }));
    });

    it('answers NoSuchBucket (404) for objects of a missing bucket', async () => {
      expect(
        await failure(client.send(new PutObjectCommand({ Bucket: newBucket(), Key: 'k', Body: 'x' }))),
      ).toEqual({
        name: 'NoSuchBucket',
        status: 404,
      });
      expect(await failure(client.send(new GetObjectCommand({ Bucket: newBucket(), Key: 'k' })))).toEqual({
        name: 'NoSuchBucket',
        status: 404,
      });
    });
  });

  describe('objects', () => {
    it('stores content, content type and user metadata, with ETag = quoted MD5', async () => {
      const Bucket = await createBucket();
      const body = '{"hello":"world"}';
      const put = await client.send(
        new PutObjectCommand({
          Bucket,
          Key: 'dir/hello.json',
          Body: body,
          ContentType: 'application/json',
          CacheControl: 'no-cache',
          Metadata: { sha256: 'abc', Workspace: 'acme' },
        }),
      );
      expect(put.ETag).toBe(md5(Buffer.from(body)));
      expect(put.VersionId).toBeUndefined();
      const got = await client.send(new GetObjectCommand({ Bucket, Key: 'dir/hello.json' }));
      expect(await got.Body?.transformToString()).toBe(body);
      expect(got).toMatchObject({
        ContentType: 'application/json',
        CacheControl: 'no-cache',
        ContentLength: body.length,
        ETag: put.ETag,
        Metadata: { sha256: 'abc', workspace: 'acme' },
      });
      expect(got.LastModified).toBeInstanceOf(Date);
      const head = await client.send(new HeadObjectCommand({ Bucket, Key: 'dir/hello.json' }));
      expect(head).toMatchObject({
        ContentLength: body.length,
        ETag: put.ETag,
        ContentType: 'application/json',
      });
    });

    it('answers NoSuchKey (404) on GET and a bodiless 404 on HEAD of a missing key', async () => {
      const Bucket = await createBucket();
      expect(await failure(client.send(new GetObjectCommand({ Bucket, Key: 'missing' })))).toEqual({
        name: 'NoSuchKey',
        status: 404,
      });
      expect(await failure(client.send(new HeadObjectCommand({ Bucket, Key: 'missing' })))).toEqual({
        name: 'NotFound',
        status: 404,
      });
      const raw = await fetch(`${s3.endpoint}/${Bucket}/missing`);
      const xml = await raw.text();
      expect(xml).toContain(
        '<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>',
      );
      expect(xml).toContain('<Key>missing</Key>');
    });

    it('round-trips a 5 MiB object with its CRC32 checksum validated by the client', async () => {
      const Bucket = await createBucket();
      const data = randomBytes(5 * 1024 * 1024);
      const put = await client.send(new PutObjectCommand({ Bucket, Key: 'big.bin', Body: data }));
      expect(put.ETag).toBe(md5(data));
      expect(put.ChecksumCRC32).toBeDefined();
      const got = await client.send(
        new GetObjectCommand({ Bucket, Key: 'big.bin', ChecksumMode: 'ENABLED' }),
      );
      expect(got.ChecksumCRC32).toBe(put.ChecksumCRC32);
      const back = await bytesOf(got.Body);
      expect(back.equals(data)).toBe(true);
    });

    it('decodes a streamed (aws-chunked, trailing checksum) upload', async () => {
      const Bucket = await createBucket();
      const data = randomBytes(3 * 1024 * 1024 + 17);
      const chunks = [data.subarray(0, 100_000), data.subarray(100_000, 2_000_000), data.subarray(2_000_000)];
      const put = await client.send(
        new PutObjectCommand({
          Bucket,
          Key: 'streamed.bin',
          Body: Readable.from(chunks),
          ContentLength: data.length,
          ContentType: 'application/zip',
        }),
      );
      expect(put.ETag).toBe(md5(data));
      const got = await client.send(
        new GetObjectCommand({ Bucket, Key: 'streamed.bin', ChecksumMode: 'ENABLED' }),
      );
      expect(got.ContentEncoding).toBeUndefined();
      expect(got.ContentType).toBe('application/zip');
      expect((await bytesOf(got.Body)).equals(data)).toBe(true);
    });

    it.each(['CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const)(
      'verifies and returns a %s checksum the client computed',
      async (ChecksumAlgorithm) => {
        const Bucket = await createBucket();
        const data = randomBytes(70_000);
        const put = await client.send(
          new PutObjectCommand({ Bucket, Key: 'c', Body: data, ChecksumAlgorithm }),
        );
        const field = `Checksum${ChecksumAlgorithm}` as const;
        expect(put[field]).toBeDefined();
        const got = await client.send(new GetObjectCommand({ Bucket, Key: 'c', ChecksumMode: 'ENABLED' }));
        expect(got[field]).toBe(put[field]);
        expect((await bytesOf(got.Body)).equals(data)).toBe(true);
      },
    );

    it('refuses a body whose checksum does not match with BadDigest and stores nothing', async () => {
      const Bucket = await createBucket();
      const wrong = Buffer.alloc(4).toString('base64');
      expect(
        await failure(
          client.send(new PutObjectCommand({ Bucket, Key: 'bad', Body: 'content', ChecksumCRC32: wrong })),
        ),
      ).toEqual({ name: 'BadDigest', status: 400 });
      expect(await failure(client.send(new HeadObjectCommand({ Bucket, Key: 'bad' })))).toMatchObject({
        status: 404,
      });
    });

    it('serves byte ranges', async () => {
      const Bucket = await createBucket();
      await client.send(new PutObjectCommand({ Bucket, Key: 'r', Body: '0123456789' }));
      const middle = await client.send(new GetObjectCommand({ Bucket, Key: 'r', Range: 'bytes=2-5' }));
      expect(await middle.Body?.transformToString()).toBe('2345');
      expect(middle.ContentRange).toBe('bytes 2-5/10');
      const suffix = await client.send(new GetObjectCommand({ Bucket, Key: 'r', Range: 'bytes=-3' }));
      expect(await suffix.Body?.transformToString()).toBe('789');
      expect(
        await failure(client.send(new GetObjectCommand({ Bucket, Key: 'r', Range: 'bytes=10-' }))),
      ).toEqual({
        name: 'InvalidRange',
        status: 416,
      });
    });

    it('keeps keys with spaces, unicode and reserved characters intact', async () => {
      const Bucket = await createBucket();
      const Key = 'a b/ünï+cødé/&<x>?#%.txt';
      await client.send(new PutObjectCommand({ Bucket, Key, Body: 'v' }));
      const got = await client.send(new GetObjectCommand({ Bucket, Key }));
      expect(await got.Body?.transformToString()).toBe('v');
      const listed = await client.send(new ListObjectsCommand({ Bucket }));
      expect(listed.Contents?.map((c) => c.Key)).toEqual([Key]);
    });

    it('creates only when absent with If-None-Match: * (412 PreconditionFailed otherwise)', async () => {
      const Bucket = await createBucket();
      await client.send(new PutObjectCommand({ Bucket, Key: 'once', Body: 'first', IfNoneMatch: '*' }));
      expect(
        await failure(
          client.send(new PutObjectCommand({ Bucket, Key: 'once', Body: 'second', IfNoneMatch: '*' })),
        ),
      ).toEqual({ name: 'PreconditionFailed', status: 412 });
      const got = await client.send(new GetObjectCommand({ Bucket, Key: 'once' }));
      expect(await got.Body?.transformToString()).toBe('first');
    });

    it('copies an object, keeping metadata (COPY) or replacing it (REPLACE)', async () => {
      const Bucket = await createBucket();
      const Other = await createBucket();
      await client.send(
        new PutObjectCommand({
          Bucket,
          Key: 'src',
          Body: 'payload',
          ContentType: 'text/plain',
          Metadata: { a: '1' },
        }),
      );
      const copy = await client.send(
        new CopyObjectCommand({ Bucket: Other, Key: 'copied key', CopySource: `${Bucket}/src` }),
      );
      expect(copy.CopyObjectResult?.ETag).toBe(md5(Buffer.from('payload')));
      const kept = await client.send(new GetObjectCommand({ Bucket: Other, Key: 'copied key' }));
      expect(await kept.Body?.transformToString()).toBe('payload');
      expect(kept).toMatchObject({ ContentType: 'text/plain', Metadata: { a: '1' } });
      await client.send(
        new CopyObjectCommand({
          Bucket,
          Key: 'src',
          CopySource: `${Bucket}/src`,
          MetadataDirective: 'REPLACE',
          ContentType: 'application/octet-stream',
          Metadata: { b: '2' },
        }),
      );
      const replaced = await client.send(new HeadObjectCommand({ Bucket, Key: 'src' }));
      expect(replaced).toMatchObject({ ContentType: 'application/octet-stream', Metadata: { b: '2' } });
      expect(
        await failure(
          client.send(new CopyObjectCommand({ Bucket, Key: 'src', CopySource: `${Bucket}/src` })),
        ),
      ).toEqual({ name: 'InvalidRequest', status: 400 });
      expect(
        await failure(
          client.send(new CopyObjectCommand({ Bucket, Key: 'x', CopySource: `${Bucket}/missing` })),
        ),
      ).toEqual({ name: 'NoSuchKey', status: 404 });
    });

    it('deletes several objects with DeleteObjects', async () => {
      const Bucket = await createBucket();
      for (const Key of ['a', 'b', 'c']) await client.send(new PutObjectCommand({ Bucket, Key, Body: Key }));
      const result = await client.send(
        new DeleteObjectsCommand({
          Bucket,
          Delete: { Objects: [{ Key: 'a' }, { Key: 'c' }, { Key: 'never' }] },
        }),
      );
      expect(result.Deleted?.map((d) => d.Key).sort()).toEqual(['a', 'c', 'never']);
      expect(result.Errors).toBeUndefined();
      const listed = await client.send(new ListObjectsCommand({ Bucket }));
      expect(listed.Contents?.map((c) => c.Key)).toEqual(['b']);
    });

    it('answers NotImplemented (501) for operations it does not support', async () => {
      const Bucket = await createBucket();
      await client.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x' }));
      expect(await failure(client.send(new GetObjectTaggingCommand({ Bucket, Key: 'k' })))).toEqual({
        name: 'NotImplemented',
        status: 501,
      });
    });
  });

  describe('ListObjectsV2', () => {
    it('lists by prefix and delimiter, paging with continuation tokens', async () => {
      const Bucket = await createBucket();
      const keys = ['a/1', 'a/2', 'a/b/3', 'b/4', 'c', 'd', 'e/5', 'e/6'];
      for (const Key of keys) await client.send(new PutObjectCommand({ Bucket, Key, Body: Key }));

      const pages = [];
      for await (const page of paginateListObjectsV2({ client, pageSize: 2 }, { Bucket, Delimiter: '/' })) {
        pages.push({
          keys: page.Contents?.map((c) => c.Key) ?? [],
          prefixes: page.CommonPrefixes?.map((p) => p.Prefix) ?? [],
          count: page.KeyCount,
        });
      }
      expect(pages.flatMap((p) => p.prefixes)).toEqual(['a/', 'b/', 'e/']);
      expect(pages.flatMap((p) => p.keys)).toEqual(['c', 'd']);
      expect(pages.every((p) => p.count === p.keys.length + p.prefixes.length && (p.count ?? 0) <= 2)).toBe(
        true,
      );
      expect(pages.length).toBe(3);

      const underA: string[] = [];
      for await (const page of paginateListObjectsV2({ client, pageSize: 1 }, { Bucket, Prefix: 'a/' })) {
        underA.push(...(page.Contents?.map((c) => c.Key ?? '') ?? []));
      }
      expect(underA).toEqual(['a/1', 'a/2', 'a/b/3']);

      const nested = await client.send(new ListObjectsV2Command({ Bucket, Prefix: 'a/', Delimiter: '/' }));
      expect(nested.Contents?.map((c) => c.Key)).toEqual(['a/1', 'a/2']);
      expect(nested.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/b/']);
      expect(nested.Contents?.[0]).toMatchObject({
        ETag: md5(Buffer.from('a/1')),
        Size: 3,
        StorageClass: 'STANDARD',
      });
    });
  });

  describe('versioning', () => {
    it('keeps versions, reads them by id, and hides a key behind a delete marker', async () => {
      const Bucket = await createBucket();
      expect((await client.send(new GetBucketVersioningCommand({ Bucket }))).Status).toBeUndefined();
      await client.send(
        new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }),
      );
      expect((await client.send(new GetBucketVersioningCommand({ Bucket }))).Status).toBe('Enabled');

      const v1 = await client.send(new PutObjectCommand({ Bucket, Key: 'snap', Body: 'one' }));
      const v2 = await client.send(new PutObjectCommand({ Bucket, Key: 'snap', Body: 'two' }));
      expect(v1.VersionId).toBeDefined();
      expect(v2.VersionId).not.toBe(v1.VersionId);

      const latest = await client.send(new GetObjectCommand({ Bucket, Key: 'snap' }));
      expect(await latest.Body?.transformToString()).toBe('two');
      expect(latest.VersionId).toBe(v2.VersionId);
      const first = await client.send(new GetObjectCommand({ Bucket, Key: 'snap', VersionId: v1.VersionId }));
      expect(await first.Body?.transformToString()).toBe('one');
      const headFirst = await client.send(
        new HeadObjectCommand({ Bucket, Key: 'snap', VersionId: v1.VersionId }),
      );
      expect(headFirst.ContentLength).toBe(3);

      const deleted = await client.send(new DeleteObjectCommand({ Bucket, Key: 'snap' }));
      expect(deleted.DeleteMarker).toBe(true);
      expect(deleted.VersionId).toBeDefined();
      expect(await failure(client.send(new GetObjectCommand({ Bucket, Key: 'snap' })))).toEqual({
        name: 'NoSuchKey',
        status: 404,
      });
      expect((await client.send(new ListObjectsCommand({ Bucket }))).Contents).toBeUndefined();

      const versions = await client.send(new ListObjectVersionsCommand({ Bucket }));
      expect(versions.Versions?.map((v) => [v.VersionId, v.IsLatest])).toEqual([
        [v2.VersionId, false],
        [v1.VersionId, false],
      ]);
      expect(versions.DeleteMarkers?.map((m) => [m.VersionId, m.IsLatest])).toEqual([
        [deleted.VersionId, true],
      ]);

      const undone = await client.send(
        new DeleteObjectCommand({ Bucket, Key: 'snap', VersionId: deleted.VersionId }),
      );
      expect(undone.DeleteMarker).toBe(true);
      const restored = await client.send(new GetObjectCommand({ Bucket, Key: 'snap' }));
      expect(await restored.Body?.transformToString()).toBe('two');

      expect(
        await failure(
          client.send(new GetObjectCommand({ Bucket, Key: 'snap', VersionId: 'no-such-version' })),
        ),
      ).toEqual({ name: 'NoSuchVersion', status: 404 });
    });

    it('pages ListObjectVersions with key and version-id markers', async () => {
      const Bucket = await createBucket();
      await client.send(
        new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }),
      );
      for (const body of ['1', '2', '3'])
        await client.send(new PutObjectCommand({ Bucket, Key: 'x', Body: body }));
      await client.send(new PutObjectCommand({ Bucket, Key: 'y', Body: 'y' }));
      const seen: string[] = [];
      let KeyMarker: string | undefined;
      let VersionIdMarker: string | undefined;
      for (;;) {
        const page = await client.send(
          new ListObjectVersionsCommand({ Bucket, MaxKeys: 2, KeyMarker, VersionIdMarker }),
        );
        seen.push(...(page.Versions?.map((v) => `${v.Key}:${v.Size}`) ?? []));
        if (!page.IsTruncated) break;
        KeyMarker = page.NextKeyMarker;
        VersionIdMarker = page.NextVersionIdMarker;
      }
      expect(seen).toEqual(['x:1', 'x:1', 'x:1', 'y:1']);
    });

    it('writes the null version while versioning is suspended', async () => {
      const Bucket = await createBucket();
      await client.send(
        new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }),
      );
      const kept = await client.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'kept' }));
      await client.send(
        new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Suspended' } }),
      );
      const a = await client.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'a' }));
      const b = await client.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'b' }));
      expect([a.VersionId, b.VersionId]).toEqual(['null', 'null']);
      const versions = await client.send(new ListObjectVersionsCommand({ Bucket }));
      expect(versions.Versions?.map((v) => v.VersionId)).toEqual(['null', kept.VersionId]);
    });

    it('refuses a malformed versioning configuration with MalformedXML', async () => {
      const Bucket = await createBucket();
      expect(
        await failure(
          client.send(
            new PutBucketVersioningCommand({
              Bucket,
              VersioningConfiguration: { Status: 'On' as 'Enabled' },
            }),
          ),
        ),
      ).toEqual({ name: 'MalformedXML', status: 400 });
      expect((await client.send(new GetBucketVersioningCommand({ Bucket }))).Status).toBeUndefined();
    });
  });

  it('keeps objects in dataDir across restarts', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'greco-s3-test-'));
    try {
      const first = await startS3Emulator({ dataDir });
      const c1 = new S3Client({
        endpoint: first.endpoint,
        region: localRegion,
        credentials: localCredentials,
      });
      await c1.send(new CreateBucketCommand({ Bucket: 'kept' }));
      await c1.send(
        new PutBucketVersioningCommand({ Bucket: 'kept', VersioningConfiguration: { Status: 'Enabled' } }),
      );
      const put = await c1.send(
        new PutObjectCommand({ Bucket: 'kept', Key: 'k', Body: 'persisted', Metadata: { m: 'v' } }),
      );
      c1.destroy();
      await first.close();

      const second = await startS3Emulator({ dataDir });
      const c2 = new S3Client({
        endpoint: second.endpoint,
        region: localRegion,
        credentials: localCredentials,
      });
      try {
        const got = await c2.send(new GetObjectCommand({ Bucket: 'kept', Key: 'k' }));
        expect(await got.Body?.transformToString()).toBe('persisted');
        expect(got).toMatchObject({ VersionId: put.VersionId, ETag: put.ETag, Metadata: { m: 'v' } });
        expect((await c2.send(new GetBucketVersioningCommand({ Bucket: 'kept' }))).Status).toBe('Enabled');
      } finally {
        c2.destroy();
        await second.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('accepts forcePathStyle clients on a localhost endpoint', async () => {
    const forced = new S3Client({
      endpoint: s3.endpoint.replace('127.0.0.1', 'localhost'),
      forcePathStyle: true,
      region: localRegion,
      credentials: localCredentials,
    });
    try {
      const Bucket = newBucket();
      await forced.send(new CreateBucketCommand({ Bucket }));
      await forced.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'path-style' }));
      const got = await client.send(new GetObjectCommand({ Bucket, Key: 'k' }));
      expect(await got.Body?.transformToString()).toBe('path-style');
    } finally {
      forced.destroy();
    }
  });
});
