import { strToU8, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { InvalidZipError, inspectZip, sha256Hex, unzippedCodeMaxBytes } from '../../core/zip.ts';

const handlerSource = strToU8('export const handler = async () => ({ statusCode: 200 });\n'.repeat(50));

/** A zip with a deflated file, a stored file and a directory, in that order. */
function sampleZip(): Uint8Array {
  return zipSync({
    'index.mjs': handlerSource,
    'lib/util.txt': [strToU8('stored as is'), { level: 0 }],
    assets: {},
  });
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Offset of the first central directory entry (the zips built here have no comment). */
function centralDirectoryOffset(bytes: Uint8Array): number {
  return view(bytes).getUint32(bytes.length - 22 + 16, true);
}

/** Deterministic pseudo-random bytes (xorshift32), so failures are reproducible. */
function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let state = seed;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = state & 0xff;
  }
  return out;
}

/** Rewrites a small zip's end records into their ZIP64 form (as zip tools do past 65,535 entries). */
function toZip64(bytes: Uint8Array): Uint8Array {
  const source = view(bytes);
  const end = bytes.length - 22;
  const entries = source.getUint16(end + 10, true);
  const size = source.getUint32(end + 12, true);
  const offset = source.getUint32(end + 16, true);
  const out = new Uint8Array(end + 56 + 20 + 22);
  out.set(bytes.subarray(0, end));
  const target = view(out);
  const zip64End = end;
  target.setUint32(zip64End, 0x06064b50, true);
  target.setBigUint64(zip64End + 4, 44n, true);
  target.setUint16(zip64End + 12, 45, true);
  target.setUint16(zip64End + 14, 45, true);
  target.setBigUint64(zip64End + 24, BigInt(entries), true);
  target.setBigUint64(zip64End + 32, BigInt(entries), true);
  target.setBigUint64(zip64End + 40, BigInt(size), true);
  target.setBigUint64(zip64End + 48, BigInt(offset), true);
  const locator = zip64End + 56;
  target.setUint32(locator, 0x07064b50, true);
  target.setBigUint64(locator + 8, BigInt(zip64End), true);
  target.setUint32(locator + 16, 1, true);
  const eocd = locator + 20;
  target.setUint32(eocd, 0x06054b50, true);
  target.setUint16(eocd + 8, 0xffff, true);
  target.setUint16(eocd + 10, 0xffff, true);
  target.setUint32(eocd + 12, 0xffffffff, true);
  target.setUint32(eocd + 16, 0xffffffff, true);
  return out;
}

function inspectError(bytes: Uint8Array, maxUncompressedBytes?: number): InvalidZipError {
  try {
    inspectZip(bytes, maxUncompressedBytes === undefined ? {} : { maxUncompressedBytes });
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidZipError);
    return error as InvalidZipError;
  }
  throw new Error('expected inspectZip to throw');
}

describe('inspectZip', () => {
  it('lists the entries and the uncompressed size of a well-formed zip', () => {
    const result = inspectZip(sampleZip());
    expect(result.entries).toEqual(['index.mjs', 'lib/util.txt', 'assets/']);
    expect(result.uncompressedBytes).toBe(handlerSource.length + 'stored as is'.length);
  });

  it('reads ZIP64 end records', () => {
    expect(inspectZip(toZip64(sampleZip())).entries).toEqual(['index.mjs', 'lib/util.txt', 'assets/']);
  });

  it('accepts an archive comment after the end record', () => {
    const zip = sampleZip();
    const comment = strToU8('built by greco tests');
    const withComment = new Uint8Array(zip.length + comment.length);
    withComment.set(zip);
    withComment.set(comment, zip.length);
    view(withComment).setUint16(zip.length - 22 + 20, comment.length, true);
    expect(inspectZip(withComment).entries).toHaveLength(3);
  });

  it('answers 400 with the invalid-zip problem type', () => {
    const error = inspectError(new Uint8Array(0));
    expect(error.status).toBe(400);
    expect(error.toProblem()).toMatchObject({ type: 'https://greco.dev/problems/invalid-zip', status: 400 });
  });

  it.each([
    ['empty input', () => new Uint8Array(0), 'empty (0 bytes)'],
    ['fewer bytes than an end record', () => new Uint8Array(21), 'too short to be a zip'],
    ['random bytes', () => pseudoRandomBytes(4096, 0x9e3779b9), 'no end of central directory record'],
    [
      'a text file',
      () => strToU8('{"hello":"world"} this is not a zip at all'),
      'no end of central directory record',
    ],
    ['an archive without entries', () => zipSync({}), 'contains no files'],
    ['an archive of directories only', () => zipSync({ src: {}, lib: {} }), 'contains no files'],
  ])('rejects %s', (_case, build, message) => {
    expect(inspectError(build()).message).toContain(message);
  });

  it.each([1, 10, 21, 22, 40, 100])('rejects a zip truncated by %i bytes', (cut) => {
    const zip = sampleZip();
    expect(inspectError(zip.subarray(0, zip.length - cut)).message).toMatch(/truncated|corrupt|missing/);
  });

  it('rejects a zip whose leading bytes were cut', () => {
    const zip = sampleZip();
    expect(inspectError(zip.subarray(10)).message).toMatch(/truncated|corrupt|missing/);
  });

  it('rejects an entry whose stored bytes no longer match their CRC-32', () => {
    const zip = sampleZip().slice();
    const stored = new TextDecoder('latin1').decode(zip).indexOf('stored as is');
    zip[stored] = (zip[stored] as number) ^ 0x20;
    expect(inspectError(zip).message).toBe('"lib/util.txt" fails its CRC-32 check: the zip is corrupt');
  });

  it('rejects corrupted deflate data', () => {
    const zip = sampleZip().slice();
    const dataStart = 30 + 'index.mjs'.length;
    for (let i = dataStart; i < dataStart + 8; i++) zip[i] = 0xff;
    expect(inspectError(zip).message).toMatch(
      /^"index\.mjs" (is not valid deflate data|inflates to|fails its CRC-32)/,
    );
  });

  it('rejects an entry that inflates beyond its declared size', () => {
    const zip = sampleZip().slice();
    view(zip).setUint32(centralDirectoryOffset(zip) + 24, 10, true);
    expect(inspectError(zip).message).toBe('"index.mjs" inflates to more than its declared 10 bytes');
  });

  it("rejects a declared total above Lambda's 250 MB unzipped quota before inflating anything", () => {
    const zip = sampleZip().slice();
    view(zip).setUint32(centralDirectoryOffset(zip) + 24, unzippedCodeMaxBytes + 1, true);
    expect(inspectError(zip).message).toBe(
      `the code package unzips to ${unzippedCodeMaxBytes + 1 + 'stored as is'.length} bytes; the limit is 262144000 bytes (Lambda's 250 MB unzipped deployment package quota)`,
    );
  });

  it.each([
    [handlerSource.length + 12, 'accepts'],
    [handlerSource.length + 11, 'rejects'],
  ])('with a limit of %i bytes %s the sample', (limit, outcome) => {
    if (outcome === 'accepts')
      expect(inspectZip(sampleZip(), { maxUncompressedBytes: limit }).entries).toHaveLength(3);
    else expect(inspectError(sampleZip(), limit).message).toContain('unzips to');
  });

  it('rejects encrypted entries', () => {
    const zip = sampleZip().slice();
    view(zip).setUint16(centralDirectoryOffset(zip) + 8, 0x0001, true);
    expect(inspectError(zip).message).toBe('entry "index.mjs" is encrypted; Lambda cannot read it');
  });

  it('rejects compression methods other than stored and deflate', () => {
    const zip = sampleZip().slice();
    view(zip).setUint16(centralDirectoryOffset(zip) + 10, 14, true);
    expect(inspectError(zip).message).toBe(
      'entry "index.mjs" uses compression method 14; only stored (0) and deflate (8) are supported',
    );
  });

  it.each(['../escape.js', '/etc/passwd', 'lib/../../x'])('rejects the entry name %j', (name) => {
    expect(inspectError(zipSync({ [name]: strToU8('x') })).message).toContain('must be a relative path');
  });
});

describe('sha256Hex', () => {
  it.each([
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  ])('hashes %j to its FIPS 180-2 digest', (text, digest) => {
    expect(sha256Hex(strToU8(text))).toBe(digest);
  });
});
