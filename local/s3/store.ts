import { createHash, randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChecksumAlgorithm } from './checksums.ts';
import { noSuchBucket, noSuchKey, noSuchVersion, S3Error } from './errors.ts';

/** A bucket's versioning state; `undefined` until versioning was ever configured. */
export type VersioningStatus = 'Enabled' | 'Suspended';

/** One version of an object (or a delete marker), as kept in `<id>.json` next to `<id>.bin`. */
export interface ObjectVersion {
  readonly key: string;
  /** `'null'` for objects written while versioning was off or suspended, as S3 names them. */
  readonly versionId: string;
  /** Increases with every write in the store: orders versions newest first. */
  readonly seq: number;
  /** Name of the files holding this version (`<file>.json`, `<file>.bin`). */
  readonly file: string;
  readonly isDeleteMarker: boolean;
  /** Quoted MD5 hex of the content. Empty for delete markers. */
  readonly etag: string;
  /** Content length in bytes. */
  readonly size: number;
  /** ISO 8601, whole seconds (S3 reports Last-Modified to the second). */
  readonly lastModified: string;
  readonly contentType: string;
  /** `x-amz-meta-*` user metadata, names lowercased and without the prefix. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Stored representation headers: cache-control, content-disposition, content-encoding, content-language, expires. */
  readonly headers: Readonly<Record<string, string>>;
  /** The full-object checksum, verified on upload or computed by the emulator. */
  readonly checksum?: { readonly algorithm: ChecksumAlgorithm; readonly value: string };
}

/** What a write supplies; the store adds key, version id, sequence, file and date. */
export type NewObject = Omit<
  ObjectVersion,
  'key' | 'versionId' | 'seq' | 'file' | 'lastModified' | 'isDeleteMarker'
>;

interface BucketState {
  readonly name: string;
  readonly creationDate: string;
  versioning: VersioningStatus | undefined;
  /** Versions of each key, newest first. */
  readonly objects: Map<string, ObjectVersion[]>;
}

/** The outcome of a DeleteObject, as S3 reports it in headers or a `<Deleted>` element. */
export interface DeleteOutcome {
  /** The version id removed, or the id of the delete marker created. Absent on unversioned buckets. */
  readonly versionId?: string;
  /** True when a delete marker was created or the removed version was a delete marker. */
  readonly deleteMarker: boolean;
}

/** Bucket name rules of S3 general purpose buckets: 3-63 chars, lowercase, digits, dots, hyphens. */
const bucketNamePattern = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Whether `name` is a valid general purpose bucket name.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 */
export function isValidBucketName(name: string): boolean {
  return (
    bucketNamePattern.test(name) &&
    !name.includes('..') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name) &&
    !name.startsWith('xn--') &&
    !name.endsWith('-s3alias')
  );
}

function wholeSecondNow(): string {
  return new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
}

function newVersionId(): string {
  return randomBytes(24).toString('base64url');
}

function keyDir(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Orders strings by their UTF-8 bytes, as S3 lists keys. */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

async function writeJsonAtomically(path: string, value: unknown): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, JSON.stringify(value));
  await rename(temp, path);
}

/**
 * S3 buckets and objects kept in a folder: `buckets/<name>/bucket.json` and, per key,
 * `buckets/<name>/objects/<sha256(key)>/<file>.{bin,json}` (content and metadata). The index
 * lives in memory and is rebuilt from the folder by {@link S3Store.open}.
 */
export class S3Store {
  readonly root: string;
  readonly #buckets = new Map<string, BucketState>();
  #seq = 0;

  private constructor(root: string) {
    this.root = root;
  }

  /** Opens (and creates if needed) a store in `root`, loading what an earlier run left there. */
  static async open(root: string): Promise<S3Store> {
    const store = new S3Store(root);
    await mkdir(join(root, 'buckets'), { recursive: true });
    for (const entry of await readdir(join(root, 'buckets'), { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      await store.#loadBucket(entry.name);
    }
    return store;
  }

  async #loadBucket(name: string): Promise<void> {
    const dir = this.#bucketDir(name);
    let meta: { creationDate: string; versioning?: VersioningStatus };
    try {
      meta = JSON.parse(await readFile(join(dir, 'bucket.json'), 'utf8'));
    } catch {
      return;
    }
    const bucket: BucketState = {
      name,
      creationDate: meta.creationDate,
      versioning: meta.versioning,
      objects: new Map(),
    };
    const objectsDir = join(dir, 'objects');
    await mkdir(objectsDir, { recursive: true });
    for (const keyEntry of await readdir(objectsDir, { withFileTypes: true })) {
      if (!keyEntry.isDirectory()) continue;
      const files = await readdir(join(objectsDir, keyEntry.name));
      for (const file of files) {
        if (!file.endsWith('.json')) continue;
        const version = JSON.parse(
          await readFile(join(objectsDir, keyEntry.name, file), 'utf8'),
        ) as ObjectVersion;
        if (!version.isDeleteMarker && !files.includes(`${version.file}.bin`)) continue;
        const list = bucket.objects.get(version.key) ?? [];
        list.push(version);
        bucket.objects.set(version.key, list);
        this.#seq = Math.max(this.#seq, version.seq);
      }
    }
    for (const list of bucket.objects.values()) list.sort((a, b) => b.seq - a.seq);
    this.#buckets.set(name, bucket);
  }

  #bucketDir(name: string): string {
    return join(this.root, 'buckets', name);
  }

  #versionPath(bucket: string, key: string, file: string, ext: 'bin' | 'json'): string {
    return join(this.#bucketDir(bucket), 'objects', keyDir(key), `${file}.${ext}`);
  }

  #bucket(name: string): BucketState {
    const bucket = this.#buckets.get(name);
    if (bucket === undefined) throw noSuchBucket(name);
    return bucket;
  }

  /** Every bucket, ordered by name. */
  listBuckets(): { name: string; creationDate: string }[] {
    return [...this.#buckets.values()]
      .map((b) => ({ name: b.name, creationDate: b.creationDate }))
      .sort((a, b) => compareUtf8(a.name, b.name));
  }

  /** Whether the bucket exists. */
  hasBucket(name: string): boolean {
    return this.#buckets.has(name);
  }

  /** @throws S3Error InvalidBucketName (400), BucketAlreadyOwnedByYou (409) */
  async createBucket(name: string): Promise<void> {
    if (!isValidBucketName(name)) {
      throw new S3Error('InvalidBucketName', 400, 'The specified bucket is not valid.', {
        details: { BucketName: name },
      });
    }
    if (this.#buckets.has(name)) {
      throw new S3Error(
        'BucketAlreadyOwnedByYou',
        409,
        'Your previous request to create the named bucket succeeded and you already own it.',
        { details: { BucketName: name } },
      );
    }
    const bucket: BucketState = {
      name,
      creationDate: wholeSecondNow(),
      versioning: undefined,
      objects: new Map(),
    };
    this.#buckets.set(name, bucket);
    await mkdir(join(this.#bucketDir(name), 'objects'), { recursive: true });
    await this.#saveBucket(bucket);
  }

  async #saveBucket(bucket: BucketState): Promise<void> {
    await writeJsonAtomically(join(this.#bucketDir(bucket.name), 'bucket.json'), {
      creationDate: bucket.creationDate,
      versioning: bucket.versioning,
    });
  }

  /** @throws S3Error NoSuchBucket (404), BucketNotEmpty (409) while any version or delete marker remains */
  async deleteBucket(name: string): Promise<void> {
    const bucket = this.#bucket(name);
    if (bucket.objects.size > 0) {
      throw new S3Error('BucketNotEmpty', 409, 'The bucket you tried to delete is not empty', {
        details: { BucketName: name },
      });
    }
    this.#buckets.delete(name);
    await rm(this.#bucketDir(name), { recursive: true, force: true });
  }

  /** The bucket's versioning status; `undefined` if it was never configured. @throws S3Error NoSuchBucket */
  versioning(name: string): VersioningStatus | undefined {
    return this.#bucket(name).versioning;
  }

  /** @throws S3Error NoSuchBucket */
  async setVersioning(name: string, status: VersioningStatus): Promise<void> {
    const bucket = this.#bucket(name);
    bucket.versioning = status;
    await this.#saveBucket(bucket);
  }

  /**
   * The current version of `key`, or the version `versionId`.
   *
   * @throws S3Error NoSuchBucket; NoSuchKey when absent or the current version is a delete
   *   marker; NoSuchVersion for an unknown `versionId`; MethodNotAllowed (405) when
   *   `versionId` names a delete marker
   */
  getVersion(bucketName: string, key: string, versionId?: string): ObjectVersion {
    const bucket = this.#bucket(bucketName);
    const versions = bucket.objects.get(key) ?? [];
    if (versionId === undefined) {
      const latest = versions[0];
      if (latest === undefined) throw noSuchKey(key);
      if (latest.isDeleteMarker) throw noSuchKey(key, { versionId: latest.versionId });
      return latest;
    }
    const version = versions.find((v) => v.versionId === versionId);
    if (version === undefined) throw noSuchVersion(key, versionId);
    if (version.isDeleteMarker) {
      throw new S3Error(
        'MethodNotAllowed',
        405,
        'The specified method is not allowed against this resource.',
        {
          details: { Method: 'GET', ResourceType: 'DeleteMarker' },
          headers: { 'x-amz-delete-marker': 'true', 'x-amz-version-id': versionId, allow: 'DELETE' },
        },
      );
    }
    return version;
  }

  /** The current version of `key` if there is one that is not a delete marker. @throws S3Error NoSuchBucket */
  currentVersion(bucketName: string, key: string): ObjectVersion | undefined {
    const latest = this.#bucket(bucketName).objects.get(key)?.[0];
    return latest === undefined || latest.isDeleteMarker ? undefined : latest;
  }

  /** Opens a version's content for reading. The handle stays valid if the version is removed meanwhile. */
  async openContent(bucketName: string, version: ObjectVersion): Promise<FileHandle> {
    return open(this.#versionPath(bucketName, version.key, version.file, 'bin'), 'r');
  }

  /** Reads a version's whole content. */
  async readContent(bucketName: string, version: ObjectVersion): Promise<Buffer> {
    return readFile(this.#versionPath(bucketName, version.key, version.file, 'bin'));
  }

  /**
   * Writes a new version of `key`: a fresh version id when versioning is Enabled, otherwise the
   * `'null'` version, replacing the previous `'null'` one.
   *
   * @throws S3Error NoSuchBucket
   */
  async putObject(bucketName: string, key: string, data: Buffer, object: NewObject): Promise<ObjectVersion> {
    const bucket = this.#bucket(bucketName);
    const version: ObjectVersion = {
      ...object,
      key,
      versionId: bucket.versioning === 'Enabled' ? newVersionId() : 'null',
      seq: ++this.#seq,
      file: randomBytes(12).toString('hex'),
      isDeleteMarker: false,
      lastModified: wholeSecondNow(),
    };
    await mkdir(join(this.#bucketDir(bucketName), 'objects', keyDir(key)), { recursive: true });
    await writeFile(this.#versionPath(bucketName, key, version.file, 'bin'), data);
    await writeJsonAtomically(this.#versionPath(bucketName, key, version.file, 'json'), version);
    await this.#insert(bucket, version);
    return version;
  }

  async #insert(bucket: BucketState, version: ObjectVersion): Promise<void> {
    if (!this.#buckets.has(bucket.name)) {
      await this.#removeFiles(bucket.name, version);
      throw noSuchBucket(bucket.name);
    }
    const versions = bucket.objects.get(version.key) ?? [];
    const replaced = version.versionId === 'null' ? versions.filter((v) => v.versionId === 'null') : [];
    const kept = versions.filter((v) => !replaced.includes(v));
    kept.unshift(version);
    kept.sort((a, b) => b.seq - a.seq);
    bucket.objects.set(version.key, kept);
    for (const old of replaced) await this.#removeFiles(bucket.name, old);
  }

  async #removeFiles(bucketName: string, version: ObjectVersion): Promise<void> {
    await rm(this.#versionPath(bucketName, version.key, version.file, 'json'), { force: true });
    await rm(this.#versionPath(bucketName, version.key, version.file, 'bin'), { force: true });
  }

  /**
   * DeleteObject. Without `versionId`: removes the object on an unversioned bucket, adds a
   * delete marker when versioning is Enabled (a `'null'` one, replacing the `'null'` version,
   * when Suspended). With `versionId`: removes that version for good; an unknown version is
   * not an error, as in S3.
   *
   * @throws S3Error NoSuchBucket
   */
  async deleteObject(bucketName: string, key: string, versionId?: string): Promise<DeleteOutcome> {
    const bucket = this.#bucket(bucketName);
    const versions = bucket.objects.get(key) ?? [];
    if (versionId !== undefined) {
      const version = versions.find((v) => v.versionId === versionId);
      if (version === undefined) return { versionId, deleteMarker: false };
      const rest = versions.filter((v) => v !== version);
      if (rest.length === 0) bucket.objects.delete(key);
      else bucket.objects.set(key, rest);
      await this.#removeFiles(bucketName, version);
      return { versionId, deleteMarker: version.isDeleteMarker };
    }
    if (bucket.versioning === undefined) {
      bucket.objects.delete(key);
      for (const version of versions) await this.#removeFiles(bucketName, version);
      return { deleteMarker: false };
    }
    const marker: ObjectVersion = {
      key,
      versionId: bucket.versioning === 'Enabled' ? newVersionId() : 'null',
      seq: ++this.#seq,
      file: randomBytes(12).toString('hex'),
      isDeleteMarker: true,
      etag: '',
      size: 0,
      lastModified: wholeSecondNow(),
      contentType: '',
      metadata: {},
      headers: {},
    };
    await mkdir(join(this.#bucketDir(bucketName), 'objects', keyDir(key)), { recursive: true });
    await writeJsonAtomically(this.#versionPath(bucketName, key, marker.file, 'json'), marker);
    await this.#insert(bucket, marker);
    return { versionId: marker.versionId, deleteMarker: true };
  }

  /** Keys whose current version is an object (not a delete marker), in UTF-8 order. @throws S3Error NoSuchBucket */
  currentObjects(bucketName: string, prefix: string): ObjectVersion[] {
    const bucket = this.#bucket(bucketName);
    const out: ObjectVersion[] = [];
    for (const [key, versions] of bucket.objects) {
      const latest = versions[0];
      if (latest !== undefined && !latest.isDeleteMarker && key.startsWith(prefix)) out.push(latest);
    }
    return out.sort((a, b) => compareUtf8(a.key, b.key));
  }

  /** Every version and delete marker under `prefix`: keys in UTF-8 order, each newest first. @throws S3Error NoSuchBucket */
  allVersions(bucketName: string, prefix: string): ObjectVersion[] {
    const bucket = this.#bucket(bucketName);
    const keys = [...bucket.objects.keys()].filter((k) => k.startsWith(prefix)).sort(compareUtf8);
    return keys.flatMap((k) => bucket.objects.get(k) ?? []);
  }
}
