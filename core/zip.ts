/**
 * Checks on code packages (.zip) before greco stores or deploys them: the archive must be one
 * that Lambda can unpack, and within Lambda's unzipped-size quota. Nothing is written to disk.
 *
 * The zip layout followed is PKWARE's APPNOTE.TXT (local file headers, optional data
 * descriptors, central directory, end of central directory record, and the ZIP64 variants of the
 * last two). Hostile archives are refused on their structure, before any byte is inflated:
 * entries must tile the archive (every byte before the central directory belongs to exactly one
 * entry, so no two entries share or overlap data and nothing is hidden between them), names must
 * be unique relative paths, and the declared sizes bound the inflate work by Lambda's own quota.
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { Inflate } from 'fflate';
import { GrecoError } from '../domain/errors.ts';
import { hasControlCharacter } from '../domain/text.ts';

/**
 * Largest unzipped deployment package Lambda accepts, in bytes: "250 MB" in the Lambda quotas
 * page ("Deployment package (.zip file archive) size: 250 MB (unzipped)"); the API's error says
 * "Unzipped size must be smaller than 262144000 bytes".
 */
export const unzippedCodeMaxBytes = 262_144_000;

/** 400: the code package is not a well-formed zip Lambda could deploy. */
export class InvalidZipError extends GrecoError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { status: 400, title: 'Invalid code package', slug: 'invalid-zip' }, options);
    this.name = 'InvalidZipError';
  }
}

/** What {@link inspectZip} found in a well-formed archive. */
export interface ZipInspection {
  /** Entry names in central-directory order, directories (ending in `/`) included. */
  readonly entries: string[];
  /** Sum of the entries' uncompressed sizes, in bytes (checked by inflating every entry). */
  readonly uncompressedBytes: number;
}

/** Options of {@link inspectZip}. */
export interface InspectZipOptions {
  /**
   * Largest total uncompressed size accepted, in bytes.
   * @default unzippedCodeMaxBytes (Lambda's 250 MB unzipped quota)
   */
  readonly maxUncompressedBytes?: number;
  /**
   * Inflate work shared with other archives of the same request: this archive's declared
   * uncompressed size is taken from it before anything is inflated.
   * @default - no limit beyond `maxUncompressedBytes`
   */
  readonly budget?: InflateBudget;
}

/**
 * Uncompressed bytes that several archives may inflate together: what one request (a model of
 * many functions with inline zips) may cost in inflate and CRC work. The default is Lambda's
 * 250 MB unzipped deployment package quota ({@link unzippedCodeMaxBytes}): one request may
 * inflate at most what one function may hold.
 *
 * @example
 * const budget = new InflateBudget();
 * for (const zip of zips) inspectZip(zip, { budget });
 */
export class InflateBudget {
  /** The budget, in uncompressed bytes. */
  readonly limitBytes: number;
  #remainingBytes: number;

  /** @param limitBytes - uncompressed bytes, at least 0; defaults to {@link unzippedCodeMaxBytes} */
  constructor(limitBytes: number = unzippedCodeMaxBytes) {
    if (!Number.isSafeInteger(limitBytes) || limitBytes < 0) {
      throw new RangeError(`limitBytes must be a non-negative integer, got ${limitBytes}`);
    }
    this.limitBytes = limitBytes;
    this.#remainingBytes = limitBytes;
  }

  /** Uncompressed bytes still available, in bytes. */
  get remainingBytes(): number {
    return this.#remainingBytes;
  }

  /**
   * Takes `bytes` from the budget.
   * @throws InvalidZipError (400, `invalid-zip`) when fewer than `bytes` remain; nothing is taken then
   */
  take(bytes: number): void {
    if (bytes > this.#remainingBytes) {
      throw new InvalidZipError(
        `the code packages of this request unzip to more than ${this.limitBytes} bytes together (this one declares ${bytes} bytes, ${this.#remainingBytes} are left): one request may inflate at most Lambda's 250 MB unzipped deployment package quota; upload larger code to the artifacts bucket and send its sha256`,
      );
    }
    this.#remainingBytes -= bytes;
  }
}

const Signature = {
  localFile: 0x04034b50,
  dataDescriptor: 0x08074b50,
  centralFile: 0x02014b50,
  endOfCentralDirectory: 0x06054b50,
  zip64EndOfCentralDirectory: 0x06064b50,
  zip64Locator: 0x07064b50,
} as const;

/** Size of the fixed part of each record, in bytes (APPNOTE 4.3.7, 4.3.12, 4.3.14–16). */
const RecordSize = {
  localFile: 30,
  centralFile: 46,
  endOfCentralDirectory: 22,
  zip64Locator: 20,
  zip64End: 56,
};
const maxCommentBytes = 0xffff;
const compressionStored = 0;
const compressionDeflate = 8;
/** General purpose flags (APPNOTE 4.4.4): bit 0 encrypted, bit 3 sizes and CRC in a data descriptor. */
const Flag = { encrypted: 0x0001, dataDescriptor: 0x0008 } as const;
/** `C:` and the like: a Windows drive, which makes a name absolute on extractors that honour it. */
const driveLetter = /^[A-Za-z]:/;
/** Compressed bytes fed to the inflater at a time: bounds memory to ~1,032 × this per step. */
const inflateChunkBytes = 4096;

interface CentralEntry {
  /** 1-based position in the central directory, for messages. */
  readonly position: number;
  readonly name: string;
  readonly nameBytes: Uint8Array;
  readonly flags: number;
  readonly method: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly localHeaderOffset: number;
}

/**
 * Checks that `bytes` are a well-formed zip without extracting it, in this order, so that a
 * hostile archive is refused before any byte is inflated:
 * 1. the end of central directory record (ZIP64 too) and every central directory entry: names
 *    are non-empty relative paths without `..` segments, backslashes, drive letters or control
 *    characters (NUL included); entries are stored or deflated (the methods Lambda reads) and
 *    unencrypted;
 * 2. the declared uncompressed sizes, against `maxUncompressedBytes`;
 * 3. the layout: every entry's local header matches its central entry, and the entries, sorted
 *    by offset, tile the archive from byte 0 to the central directory (local header, data, and
 *    the data descriptor when flag bit 3 says so): no two entries share or overlap bytes, and
 *    no byte is hidden between them;
 * 4. names: unique once `.` and empty segments are dropped, and no file is also the parent of
 *    another entry;
 * 5. the declared sizes against the request's `budget`;
 * 6. every entry's data, inflated in bounded chunks and checked against its declared size and
 *    CRC-32 (and the local header's, when it states them).
 *
 * Since entries tile the archive and inflating stops past the declared size, the inflate work is
 * bounded by the declared total, itself bounded by Lambda's 250 MB unzipped quota.
 *
 * @param bytes - the archive, at most a few MiB in practice (greco's inline limit is 5 MiB)
 * @returns entry names and the total uncompressed size in bytes
 * @throws InvalidZipError (400, `invalid-zip`) naming what is wrong, e.g. truncation, a CRC
 *   mismatch, entries that share data, a duplicate name, or a total above Lambda's 250 MB
 *   unzipped quota
 * @example
 * const { entries, uncompressedBytes } = inspectZip(zipBytes);
 */
export function inspectZip(bytes: Uint8Array, options: InspectZipOptions = {}): ZipInspection {
  const maxUncompressedBytes = options.maxUncompressedBytes ?? unzippedCodeMaxBytes;
  if (bytes.length === 0) throw new InvalidZipError('the code package is empty (0 bytes)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { entries, directoryOffset } = readCentralDirectory(bytes, view);

  let declaredTotal = 0;
  for (const entry of entries) declaredTotal += entry.uncompressedSize;
  if (declaredTotal > maxUncompressedBytes) {
    throw new InvalidZipError(
      `the code package unzips to ${declaredTotal} bytes; the limit is ${maxUncompressedBytes} bytes (Lambda's 250 MB unzipped deployment package quota)`,
    );
  }
  if (!entries.some((entry) => !entry.name.endsWith('/'))) {
    throw new InvalidZipError('the zip contains no files');
  }
  const spans = checkLayout(bytes, view, entries, directoryOffset);
  checkNamesUnique(entries);
  options.budget?.take(declaredTotal);

  let total = 0;
  for (const span of spans) {
    total += checkEntryData(span.entry, bytes.subarray(span.dataStart, span.dataEnd));
    checkLocalSums(span);
  }
  return { entries: entries.map((entry) => entry.name), uncompressedBytes: total };
}

/** Lowercase hex SHA-256 of `bytes` (64 characters): how greco names code artifacts. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function findEndOfCentralDirectory(bytes: Uint8Array, view: DataView): number {
  const last = bytes.length - RecordSize.endOfCentralDirectory;
  const first = Math.max(0, last - maxCommentBytes);
  for (let at = last; at >= first; at--) {
    if (
      view.getUint32(at, true) === Signature.endOfCentralDirectory &&
      at + RecordSize.endOfCentralDirectory + view.getUint16(at + 20, true) === bytes.length
    ) {
      return at;
    }
  }
  return -1;
}

/** The central directory's entries, and where it starts (where the last entry must end). */
interface CentralDirectory {
  readonly entries: CentralEntry[];
  /** Offset of the first central directory entry, in bytes from the start of the archive. */
  readonly directoryOffset: number;
}

/**
 * Offset of the ZIP64 end of central directory record that the locator before the end record at
 * `end` points to (APPNOTE 4.3.14, 4.3.15), or `undefined` when there is none and none is required.
 * @throws InvalidZipError when the record is required (`saturated`) but missing or corrupt
 */
function findZip64End(view: DataView, end: number, saturated: boolean): number | undefined {
  const locator = end - RecordSize.zip64Locator;
  if (locator < 0 || view.getUint32(locator, true) !== Signature.zip64Locator) {
    if (!saturated) return undefined;
    throw new InvalidZipError('the end of central directory record points to a ZIP64 record that is missing');
  }
  const zip64End = readUint64(view, locator + 8);
  if (
    zip64End + RecordSize.zip64End <= locator &&
    view.getUint32(zip64End, true) === Signature.zip64EndOfCentralDirectory &&
    zip64End + 12 + readUint64(view, zip64End + 4) === locator
  ) {
    return zip64End;
  }
  if (!saturated) return undefined;
  throw new InvalidZipError('the ZIP64 end of central directory record is missing or corrupt');
}

function readCentralDirectory(bytes: Uint8Array, view: DataView): CentralDirectory {
  if (bytes.length < RecordSize.endOfCentralDirectory) {
    throw new InvalidZipError(
      `the code package is ${bytes.length} bytes, too short to be a zip (the end of central directory record alone is 22 bytes)`,
    );
  }
  const end = findEndOfCentralDirectory(bytes, view);
  if (end < 0) {
    throw new InvalidZipError('no end of central directory record found: not a zip, or a truncated one');
  }
  let diskNumber = view.getUint16(end + 4, true);
  let centralDirectoryDisk = view.getUint16(end + 6, true);
  let entryCount = view.getUint16(end + 10, true);
  let directorySize = view.getUint32(end + 12, true);
  let directoryOffset = view.getUint32(end + 16, true);
  let directoryLimit = end;

  // ZIP64 end records sit between the central directory and the end record. They are required when
  // a field of the end record is saturated, and some writers (Info-ZIP reading from a pipe) add
  // them anyway; then both must agree, so that every reader sees the same directory.
  const saturated = entryCount === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff;
  const zip64End = findZip64End(view, end, saturated);
  if (zip64End !== undefined) {
    const zip64 = {
      diskNumber: view.getUint32(zip64End + 16, true),
      centralDirectoryDisk: view.getUint32(zip64End + 20, true),
      entryCount: readUint64(view, zip64End + 32),
      directorySize: readUint64(view, zip64End + 40),
      directoryOffset: readUint64(view, zip64End + 48),
    };
    if (
      (entryCount !== 0xffff && entryCount !== zip64.entryCount) ||
      (directorySize !== 0xffffffff && directorySize !== zip64.directorySize) ||
      (directoryOffset !== 0xffffffff && directoryOffset !== zip64.directoryOffset)
    ) {
      throw new InvalidZipError(
        'the end of central directory record and its ZIP64 record disagree: the zip is corrupt',
      );
    }
    ({ diskNumber, centralDirectoryDisk, entryCount, directorySize, directoryOffset } = zip64);
    directoryLimit = zip64End;
  }
  if (diskNumber !== 0 || centralDirectoryDisk !== 0) {
    throw new InvalidZipError('multi-volume (split) zips are not supported');
  }
  if (directoryOffset + directorySize > directoryLimit) {
    throw new InvalidZipError(
      'the central directory extends past the end of central directory record: the zip is truncated or corrupt',
    );
  }
  if (directoryOffset + directorySize < directoryLimit) {
    throw new InvalidZipError(
      `${directoryLimit - directoryOffset - directorySize} bytes between the central directory and the end of central directory record belong to nothing: the zip is corrupt or hides data`,
    );
  }

  const entries: CentralEntry[] = [];
  const directoryEnd = directoryOffset + directorySize;
  let at = directoryOffset;
  for (let index = 0; index < entryCount; index++) {
    if (at + RecordSize.centralFile > directoryEnd || view.getUint32(at, true) !== Signature.centralFile) {
      throw new InvalidZipError(
        `central directory entry ${index + 1} of ${entryCount} is missing or corrupt`,
      );
    }
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const next = at + RecordSize.centralFile + nameLength + extraLength + commentLength;
    if (next > directoryEnd) {
      throw new InvalidZipError(`central directory entry ${index + 1} of ${entryCount} is truncated`);
    }
    const nameBytes = bytes.subarray(at + RecordSize.centralFile, at + RecordSize.centralFile + nameLength);
    const extra = bytes.subarray(
      at + RecordSize.centralFile + nameLength,
      at + RecordSize.centralFile + nameLength + extraLength,
    );
    let compressedSize = view.getUint32(at + 20, true);
    let uncompressedSize = view.getUint32(at + 24, true);
    let localHeaderOffset = view.getUint32(at + 42, true);
    if (
      uncompressedSize === 0xffffffff ||
      compressedSize === 0xffffffff ||
      localHeaderOffset === 0xffffffff
    ) {
      const zip64 = findExtraField(extra, 0x0001);
      if (zip64 === undefined) {
        throw new InvalidZipError(`central directory entry ${index + 1} lacks its ZIP64 extra field`);
      }
      const extraView = new DataView(zip64.buffer, zip64.byteOffset, zip64.byteLength);
      let offset = 0;
      const take = (): number => {
        if (offset + 8 > zip64.length) {
          throw new InvalidZipError(`central directory entry ${index + 1} has a short ZIP64 extra field`);
        }
        const value = readUint64(extraView, offset);
        offset += 8;
        return value;
      };
      if (uncompressedSize === 0xffffffff) uncompressedSize = take();
      if (compressedSize === 0xffffffff) compressedSize = take();
      if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
    }
    const entry: CentralEntry = {
      position: index + 1,
      name: new TextDecoder().decode(nameBytes),
      nameBytes,
      flags: view.getUint16(at + 8, true),
      method: view.getUint16(at + 10, true),
      crc32: view.getUint32(at + 16, true),
      compressedSize,
      uncompressedSize,
      localHeaderOffset,
    };
    checkEntryHeader(entry, index, entryCount);
    entries.push(entry);
    at = next;
  }
  if (at !== directoryEnd) {
    throw new InvalidZipError(
      `the central directory is ${directorySize} bytes but its ${entryCount} entries take ${at - directoryOffset}`,
    );
  }
  return { entries, directoryOffset };
}

function checkEntryHeader(entry: CentralEntry, index: number, count: number): void {
  const label = entry.name === '' ? `entry ${index + 1} of ${count}` : `entry ${JSON.stringify(entry.name)}`;
  if (entry.name === '') throw new InvalidZipError(`${label} has an empty name`);
  if (hasControlCharacter(entry.name)) {
    throw new InvalidZipError(`${label} has a control character (NUL included) in its name`);
  }
  if (entry.name.includes('\\')) {
    throw new InvalidZipError(
      `${label} has a backslash in its name; zip names separate folders with "/" (APPNOTE 4.4.17)`,
    );
  }
  if (entry.name.startsWith('/') || driveLetter.test(entry.name) || entry.name.split('/').includes('..')) {
    throw new InvalidZipError(
      `${label} must be a relative path without ".." segments (no leading "/" or drive letter)`,
    );
  }
  if ((entry.flags & Flag.encrypted) !== 0) {
    throw new InvalidZipError(`${label} is encrypted; Lambda cannot read it`);
  }
  if (entry.method !== compressionStored && entry.method !== compressionDeflate) {
    throw new InvalidZipError(
      `${label} uses compression method ${entry.method}; only stored (0) and deflate (8) are supported`,
    );
  }
  if (entry.name.endsWith('/') && entry.uncompressedSize !== 0) {
    throw new InvalidZipError(
      `${label} is a directory but declares ${entry.uncompressedSize} bytes of content`,
    );
  }
}

/** Where one entry lies in the archive, read from its local header. */
interface EntrySpan {
  readonly entry: CentralEntry;
  /** Offset of the local header. */
  readonly start: number;
  readonly dataStart: number;
  /** `dataStart` plus the compressed size. */
  readonly dataEnd: number;
  /**
   * Where the entry may end: `dataEnd`, or after each form of data descriptor (APPNOTE 4.3.9:
   * with or without its signature, 4- or 8-byte sizes) whose values match the central entry.
   */
  readonly ends: readonly number[];
  /** CRC-32 and uncompressed size the local header states; absent with a data descriptor. */
  readonly localSums?: { readonly crc32: number; readonly uncompressedSize: number };
}

/**
 * Reads every entry's local header and checks that the entries tile the archive: sorted by
 * offset, the first starts at byte 0, each starts where the previous one ends, and the last ends
 * where the central directory starts. Two entries at one offset, overlapping entries (one
 * entry's header inside another's data) and bytes that belong to no entry are refused.
 */
function checkLayout(
  bytes: Uint8Array,
  view: DataView,
  entries: readonly CentralEntry[],
  directoryOffset: number,
): EntrySpan[] {
  const spans = entries
    .map((entry) => readLocalHeader(bytes, view, entry, directoryOffset))
    .sort((a, b) => a.start - b.start);
  let ends: readonly number[] = [0];
  let previous: EntrySpan | undefined;
  for (const span of [...spans, undefined]) {
    const start = span === undefined ? directoryOffset : span.start;
    const what = span === undefined ? 'the central directory' : `entry ${describeEntry(span.entry)}`;
    if (previous !== undefined && span !== undefined && span.start === previous.start) {
      throw new InvalidZipError(
        `entries ${describeEntry(previous.entry)} and ${describeEntry(span.entry)} share the local header at offset ${start}: every entry must have its own data`,
      );
    }
    if (!ends.includes(start)) {
      const end = Math.min(...ends);
      const after =
        previous === undefined ? 'the start of the archive' : `entry ${describeEntry(previous.entry)}`;
      throw new InvalidZipError(
        start < end
          ? `${what} starts at offset ${start}, inside ${after}, which ends at offset ${end}: entries must not overlap`
          : `${start - end} bytes at offset ${end}, between ${after} and ${what}, belong to no entry: entries must follow each other without gaps`,
      );
    }
    ends = span?.ends ?? [];
    previous = span;
  }
  return spans;
}

function readLocalHeader(
  bytes: Uint8Array,
  view: DataView,
  entry: CentralEntry,
  directoryOffset: number,
): EntrySpan {
  const at = entry.localHeaderOffset;
  const label = describeEntry(entry);
  if (at + RecordSize.localFile > directoryOffset || view.getUint32(at, true) !== Signature.localFile) {
    throw new InvalidZipError(`the local header of ${label} is missing or corrupt`);
  }
  const flags = view.getUint16(at + 6, true);
  const method = view.getUint16(at + 8, true);
  const nameLength = view.getUint16(at + 26, true);
  const extraLength = view.getUint16(at + 28, true);
  const nameStart = at + RecordSize.localFile;
  const localName = bytes.subarray(nameStart, Math.min(nameStart + nameLength, bytes.length));
  if (!sameBytes(localName, entry.nameBytes)) {
    throw new InvalidZipError(`the local header of ${label} names a different file`);
  }
  if (method !== entry.method || (flags & Flag.dataDescriptor) !== (entry.flags & Flag.dataDescriptor)) {
    throw new InvalidZipError(
      `the local header of ${label} disagrees with the central directory on its compression method or flags`,
    );
  }
  const dataStart = nameStart + nameLength + extraLength;
  const dataEnd = dataStart + entry.compressedSize;
  if (dataEnd > directoryOffset) throw new InvalidZipError(`the data of ${label} is truncated`);

  if ((flags & Flag.dataDescriptor) !== 0) {
    const ends = dataDescriptorEnds(view, entry, dataEnd, directoryOffset);
    if (ends.length === 0) {
      throw new InvalidZipError(
        `the data descriptor of ${label} is missing or disagrees with the central directory`,
      );
    }
    return { entry, start: at, dataStart, dataEnd, ends };
  }
  let compressedSize = view.getUint32(at + 18, true);
  let uncompressedSize = view.getUint32(at + 22, true);
  if (compressedSize === 0xffffffff || uncompressedSize === 0xffffffff) {
    // A ZIP64 local header holds both sizes in its extra field (APPNOTE 4.5.3).
    const zip64 = findExtraField(bytes.subarray(nameStart + nameLength, dataStart), 0x0001);
    if (zip64 === undefined || zip64.length < 16) {
      throw new InvalidZipError(`the local header of ${label} lacks its ZIP64 sizes`);
    }
    const extraView = new DataView(zip64.buffer, zip64.byteOffset, zip64.byteLength);
    uncompressedSize = readUint64(extraView, 0);
    compressedSize = readUint64(extraView, 8);
  }
  if (compressedSize !== entry.compressedSize) {
    throw new InvalidZipError(
      `the local header of ${label} declares ${compressedSize} compressed bytes but the central directory ${entry.compressedSize}`,
    );
  }
  return {
    entry,
    start: at,
    dataStart,
    dataEnd,
    ends: [dataEnd],
    localSums: { crc32: view.getUint32(at + 14, true), uncompressedSize },
  };
}

/** Ends of the data descriptor forms after `dataEnd` whose CRC-32 and sizes match the entry. */
function dataDescriptorEnds(view: DataView, entry: CentralEntry, dataEnd: number, limit: number): number[] {
  const ends: number[] = [];
  for (const signed of [true, false]) {
    const at = signed ? dataEnd + 4 : dataEnd;
    if (signed && (at > limit || view.getUint32(dataEnd, true) !== Signature.dataDescriptor)) continue;
    for (const sizeBytes of [4, 8]) {
      const end = at + 4 + 2 * sizeBytes;
      if (end > limit || view.getUint32(at, true) !== entry.crc32) continue;
      const read = (offset: number): number =>
        sizeBytes === 4 ? view.getUint32(offset, true) : Number(view.getBigUint64(offset, true));
      if (read(at + 4) === entry.compressedSize && read(at + 4 + sizeBytes) === entry.uncompressedSize) {
        ends.push(end);
      }
    }
  }
  return ends;
}

/**
 * Refuses two entries that would unpack to the same path (`a/b`, `a//b` and `./a/b` are one path)
 * and a file that is also the parent folder of another entry (`lib` and `lib/x.js`).
 */
function checkNamesUnique(entries: readonly CentralEntry[]): void {
  const byPath = new Map<string, CentralEntry>();
  const files = new Map<string, CentralEntry>();
  for (const entry of entries) {
    const path = normalizedPath(entry.name);
    const same = byPath.get(path);
    if (same !== undefined) {
      throw new InvalidZipError(
        `entries ${describeEntry(same)} and ${describeEntry(entry)} unpack to the same path ${JSON.stringify(path)}: names must be unique`,
      );
    }
    byPath.set(path, entry);
    if (!entry.name.endsWith('/')) files.set(path, entry);
  }
  for (const [path, entry] of byPath) {
    for (let slash = path.indexOf('/'); slash >= 0; slash = path.indexOf('/', slash + 1)) {
      const file = files.get(path.slice(0, slash));
      if (file !== undefined) {
        throw new InvalidZipError(
          `entry ${describeEntry(file)} is a file but also the folder of ${describeEntry(entry)}`,
        );
      }
    }
  }
}

/** A name without `.` and empty segments or a trailing `/`: `./a//b/` → `a/b`. */
function normalizedPath(name: string): string {
  return name
    .split('/')
    .filter((segment) => segment !== '' && segment !== '.')
    .join('/');
}

/** The local header's CRC-32 and size, when it states them, must be the central directory's. */
function checkLocalSums(span: EntrySpan): void {
  const sums = span.localSums;
  if (sums === undefined) return;
  if (sums.crc32 !== span.entry.crc32 || sums.uncompressedSize !== span.entry.uncompressedSize) {
    throw new InvalidZipError(
      `the local header of ${describeEntry(span.entry)} disagrees with the central directory on its CRC-32 or size`,
    );
  }
}

function describeEntry(entry: CentralEntry): string {
  return entry.name === '' ? `${entry.position}` : JSON.stringify(entry.name);
}

/** Inflates (or copies) one entry's data in bounded steps; returns its verified size in bytes. */
function checkEntryData(entry: CentralEntry, data: Uint8Array): number {
  let size = 0;
  let crc = 0;
  if (entry.method === compressionStored) {
    if (data.length !== entry.uncompressedSize) {
      throw new InvalidZipError(
        `"${entry.name}" is stored with ${data.length} bytes but declares ${entry.uncompressedSize}`,
      );
    }
    size = data.length;
    crc = crc32(data, crc);
  } else {
    let ended = false;
    const inflater = new Inflate((chunk, final) => {
      size += chunk.length;
      if (size > entry.uncompressedSize) {
        throw new InvalidZipError(
          `"${entry.name}" inflates to more than its declared ${entry.uncompressedSize} bytes`,
        );
      }
      crc = crc32(chunk, crc);
      if (final) ended = true;
    });
    try {
      if (data.length === 0) inflater.push(data, true);
      for (let offset = 0; offset < data.length; offset += inflateChunkBytes) {
        const stop = Math.min(data.length, offset + inflateChunkBytes);
        inflater.push(data.subarray(offset, stop), stop === data.length);
      }
    } catch (error) {
      if (error instanceof InvalidZipError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new InvalidZipError(`"${entry.name}" is not valid deflate data (${reason})`, { cause: error });
    }
    if (!ended || size !== entry.uncompressedSize) {
      throw new InvalidZipError(
        `"${entry.name}" inflates to ${size} bytes but declares ${entry.uncompressedSize}`,
      );
    }
  }
  if (crc >>> 0 !== entry.crc32) {
    throw new InvalidZipError(`"${entry.name}" fails its CRC-32 check: the zip is corrupt`);
  }
  return size;
}

function findExtraField(extra: Uint8Array, id: number): Uint8Array | undefined {
  const view = new DataView(extra.buffer, extra.byteOffset, extra.byteLength);
  let at = 0;
  while (at + 4 <= extra.length) {
    const fieldId = view.getUint16(at, true);
    const size = view.getUint16(at + 2, true);
    if (at + 4 + size > extra.length) return undefined;
    if (fieldId === id) return extra.subarray(at + 4, at + 4 + size);
    at += 4 + size;
  }
  return undefined;
}

/** Reads a little-endian 64-bit unsigned integer; values above 2^53 cannot be real offsets here. */
function readUint64(view: DataView, at: number): number {
  if (at < 0 || at + 8 > view.byteLength)
    throw new InvalidZipError('a ZIP64 field points outside the archive');
  const value = view.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER))
    throw new InvalidZipError('a ZIP64 size or offset is out of range');
  return Number(value);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
