/**
 * Checks on code packages (.zip) before greco stores or deploys them: the archive must be one
 * that Lambda can unpack, and within Lambda's unzipped-size quota. Nothing is written to disk.
 *
 * The zip layout followed is PKWARE's APPNOTE.TXT (local file headers, central directory, end
 * of central directory record, and the ZIP64 variants of the last two).
 */
import { createHash } from 'node:crypto';
import { Inflate } from 'fflate';
import { GrecoError } from './errors.ts';

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
}

const Signature = {
  localFile: 0x04034b50,
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
/** Compressed bytes fed to the inflater at a time: bounds memory to ~1,032 × this per step. */
const inflateChunkBytes = 4096;

interface CentralEntry {
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
 * Checks that `bytes` are a well-formed zip without extracting it: the end of central directory
 * record (ZIP64 too), every central directory entry and the local header it points at, and
 * every entry's data, which is inflated in bounded chunks and checked against the declared size
 * and CRC-32. Entries must be stored or deflated (the methods Lambda reads), unencrypted, with
 * relative names; the archive must hold at least one file.
 *
 * @param bytes - the archive, at most a few MiB in practice (greco's inline limit is 5 MiB)
 * @returns entry names and the total uncompressed size in bytes
 * @throws InvalidZipError (400, `invalid-zip`) naming what is wrong, e.g. truncation, a CRC
 *   mismatch, or a total above Lambda's 250 MB unzipped quota
 * @example
 * const { entries, uncompressedBytes } = inspectZip(zipBytes);
 */
export function inspectZip(bytes: Uint8Array, options: InspectZipOptions = {}): ZipInspection {
  const maxUncompressedBytes = options.maxUncompressedBytes ?? unzippedCodeMaxBytes;
  if (bytes.length === 0) throw new InvalidZipError('the code package is empty (0 bytes)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries = readCentralDirectory(bytes, view);

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

  let total = 0;
  for (const entry of entries) {
    const data = localData(bytes, view, entry);
    total += checkEntryData(entry, data);
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

function readCentralDirectory(bytes: Uint8Array, view: DataView): CentralEntry[] {
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

  if (entryCount === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    const locator = end - RecordSize.zip64Locator;
    if (locator < 0 || view.getUint32(locator, true) !== Signature.zip64Locator) {
      throw new InvalidZipError(
        'the end of central directory record points to a ZIP64 record that is missing',
      );
    }
    const zip64End = readUint64(view, locator + 8);
    if (
      zip64End + RecordSize.zip64End > locator ||
      view.getUint32(zip64End, true) !== Signature.zip64EndOfCentralDirectory
    ) {
      throw new InvalidZipError('the ZIP64 end of central directory record is missing or corrupt');
    }
    diskNumber = view.getUint32(zip64End + 16, true);
    centralDirectoryDisk = view.getUint32(zip64End + 20, true);
    entryCount = readUint64(view, zip64End + 32);
    directorySize = readUint64(view, zip64End + 40);
    directoryOffset = readUint64(view, zip64End + 48);
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
  return entries;
}

function checkEntryHeader(entry: CentralEntry, index: number, count: number): void {
  const label = entry.name === '' ? `entry ${index + 1} of ${count}` : `entry "${entry.name}"`;
  if (entry.name === '') throw new InvalidZipError(`${label} has an empty name`);
  if (entry.name.startsWith('/') || entry.name.split(/[/\\]/).includes('..')) {
    throw new InvalidZipError(`${label} must be a relative path without ".." segments`);
  }
  if ((entry.flags & 0x0001) !== 0) throw new InvalidZipError(`${label} is encrypted; Lambda cannot read it`);
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

function localData(bytes: Uint8Array, view: DataView, entry: CentralEntry): Uint8Array {
  const at = entry.localHeaderOffset;
  if (at + RecordSize.localFile > bytes.length || view.getUint32(at, true) !== Signature.localFile) {
    throw new InvalidZipError(`the local header of "${entry.name}" is missing or corrupt`);
  }
  const nameLength = view.getUint16(at + 26, true);
  const extraLength = view.getUint16(at + 28, true);
  const localName = bytes.subarray(at + RecordSize.localFile, at + RecordSize.localFile + nameLength);
  if (!sameBytes(localName, entry.nameBytes)) {
    throw new InvalidZipError(`the local header of "${entry.name}" names a different file`);
  }
  const start = at + RecordSize.localFile + nameLength + extraLength;
  const end = start + entry.compressedSize;
  if (end > bytes.length) throw new InvalidZipError(`the data of "${entry.name}" is truncated`);
  return bytes.subarray(start, end);
}

/** Inflates (or copies) one entry's data in bounded steps; returns its verified size in bytes. */
function checkEntryData(entry: CentralEntry, data: Uint8Array): number {
  let size = 0;
  let crc = 0xffffffff;
  if (entry.method === compressionStored) {
    if (data.length !== entry.uncompressedSize) {
      throw new InvalidZipError(
        `"${entry.name}" is stored with ${data.length} bytes but declares ${entry.uncompressedSize}`,
      );
    }
    size = data.length;
    crc = updateCrc32(crc, data);
  } else {
    let ended = false;
    const inflater = new Inflate((chunk, final) => {
      size += chunk.length;
      if (size > entry.uncompressedSize) {
        throw new InvalidZipError(
          `"${entry.name}" inflates to more than its declared ${entry.uncompressedSize} bytes`,
        );
      }
      crc = updateCrc32(crc, chunk);
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
  if ((crc ^ 0xffffffff) >>> 0 !== entry.crc32) {
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

const crcTable: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO-HDLC, as zip uses) running update; start at 0xffffffff, finish with `^ 0xffffffff`. */
function updateCrc32(crc: number, data: Uint8Array): number {
  let c = crc;
  for (let i = 0; i < data.length; i++)
    c = (crcTable[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return c;
}
