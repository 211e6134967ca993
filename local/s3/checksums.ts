import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * The flexible checksum algorithms S3 accepts (`x-amz-checksum-<algorithm>` headers or
 * trailers), all full-object checksums, base64 of the big-endian digest.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 */
export const checksumAlgorithms = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const;

/** One of {@link checksumAlgorithms}. */
export type ChecksumAlgorithm = (typeof checksumAlgorithms)[number];

/** `CRC32` → `x-amz-checksum-crc32`. */
export function checksumHeader(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}

/** The algorithm named by `x-amz-checksum-<name>` or by a bare name, case-insensitive. */
export function parseChecksumAlgorithm(name: string): ChecksumAlgorithm | undefined {
  const bare = name
    .toLowerCase()
    .replace(/^x-amz-checksum-/, '')
    .toUpperCase();
  return checksumAlgorithms.find((a) => a === bare);
}

function makeCrc32Table(reversedPolynomial: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ reversedPolynomial : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** CRC-32C (Castagnoli), reflected polynomial 0x82F63B78. */
const crc32cTable = makeCrc32Table(0x82f63b78);

function crc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) c = (crc32cTable[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * CRC-64/NVME, reflected polynomial 0x9A6C9329AC4BC9B5, computed on two 32-bit halves
 * (`hi`, `lo`) so that no BigInt work happens per byte.
 */
const crc64Table = (() => {
  const hi = new Uint32Array(256);
  const lo = new Uint32Array(256);
  const polyHi = 0x9a6c9329;
  const polyLo = 0xac4bc9b5;
  for (let n = 0; n < 256; n++) {
    let h = 0;
    let l = n;
    for (let k = 0; k < 8; k++) {
      const lsb = l & 1;
      l = ((l >>> 1) | ((h & 1) << 31)) >>> 0;
      h = h >>> 1;
      if (lsb) {
        h = (h ^ polyHi) >>> 0;
        l = (l ^ polyLo) >>> 0;
      }
    }
    hi[n] = h;
    lo[n] = l;
  }
  return { hi, lo };
})();

function crc64nvme(data: Uint8Array): Buffer {
  let h = 0xffffffff;
  let l = 0xffffffff;
  for (const byte of data) {
    const index = (l ^ byte) & 0xff;
    // (crc >>> 8) ^ table[index], on 64 bits split in two.
    const shiftedLo = ((l >>> 8) | ((h & 0xff) << 24)) >>> 0;
    const shiftedHi = h >>> 8;
    h = (shiftedHi ^ (crc64Table.hi[index] ?? 0)) >>> 0;
    l = (shiftedLo ^ (crc64Table.lo[index] ?? 0)) >>> 0;
  }
  const out = Buffer.alloc(8);
  out.writeUInt32BE((h ^ 0xffffffff) >>> 0, 0);
  out.writeUInt32BE((l ^ 0xffffffff) >>> 0, 4);
  return out;
}

function uint32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0, 0);
  return out;
}

/** The base64 checksum of `data` with `algorithm`, as S3 writes it in `x-amz-checksum-*`. */
export function computeChecksum(algorithm: ChecksumAlgorithm, data: Uint8Array): string {
  switch (algorithm) {
    case 'CRC32':
      return uint32(crc32(data)).toString('base64');
    case 'CRC32C':
      return uint32(crc32c(data)).toString('base64');
    case 'CRC64NVME':
      return crc64nvme(data).toString('base64');
    case 'SHA1':
      return createHash('sha1').update(data).digest('base64');
    case 'SHA256':
      return createHash('sha256').update(data).digest('base64');
  }
}

/** Hex MD5 of `data`: the ETag of a single-part object, without its quotes. */
export function md5Hex(data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}
