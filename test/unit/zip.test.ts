import { crc32 } from 'node:zlib';
import { deflateSync, strToU8, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import {
  InflateBudget,
  InvalidZipError,
  inspectZip,
  sha256Hex,
  unzippedCodeMaxBytes,
} from '../../core/zip.ts';

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

/** One entry as a zip writer lays it out: stored or deflated, with or without a data descriptor. */
interface CraftedEntry {
  readonly name: string;
  readonly content: Uint8Array;
  readonly deflate?: boolean;
  /** Flag bit 3: sizes and CRC after the data, with the optional signature or without. */
  readonly descriptor?: 'signed' | 'unsigned';
}

/** What the central directory says of an entry. */
interface CentralFields {
  readonly name: string;
  readonly method: number;
  readonly flags: number;
  readonly crc: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly offset: number;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** An entry's local record (APPNOTE 4.3.7–4.3.9) and its central fields, for a given offset. */
function localRecord(entry: CraftedEntry, offset: number): { bytes: Uint8Array; central: CentralFields } {
  const name = strToU8(entry.name);
  const data = entry.deflate === true ? deflateSync(entry.content) : entry.content;
  const central: CentralFields = {
    name: entry.name,
    method: entry.deflate === true ? 8 : 0,
    flags: entry.descriptor === undefined ? 0 : 0x0008,
    crc: crc32(entry.content),
    compressedSize: data.length,
    uncompressedSize: entry.content.length,
    offset,
  };
  const header = new Uint8Array(30 + name.length);
  const h = view(header);
  h.setUint32(0, 0x04034b50, true);
  h.setUint16(4, 20, true);
  h.setUint16(6, central.flags, true);
  h.setUint16(8, central.method, true);
  if (entry.descriptor === undefined) {
    h.setUint32(14, central.crc, true);
    h.setUint32(18, central.compressedSize, true);
    h.setUint32(22, central.uncompressedSize, true);
  }
  h.setUint16(26, name.length, true);
  header.set(name, 30);
  const parts = [header, data];
  if (entry.descriptor !== undefined) {
    const signed = entry.descriptor === 'signed';
    const descriptor = new Uint8Array(signed ? 16 : 12);
    const d = view(descriptor);
    if (signed) d.setUint32(0, 0x08074b50, true);
    d.setUint32(signed ? 4 : 0, central.crc, true);
    d.setUint32(signed ? 8 : 4, central.compressedSize, true);
    d.setUint32(signed ? 12 : 8, central.uncompressedSize, true);
    parts.push(descriptor);
  }
  return { bytes: concat(parts), central };
}

function centralRecord(fields: CentralFields): Uint8Array {
  const name = strToU8(fields.name);
  const record = new Uint8Array(46 + name.length);
  const c = view(record);
  c.setUint32(0, 0x02014b50, true);
  c.setUint16(4, 20, true);
  c.setUint16(6, 20, true);
  c.setUint16(8, fields.flags, true);
  c.setUint16(10, fields.method, true);
  c.setUint32(16, fields.crc, true);
  c.setUint32(20, fields.compressedSize, true);
  c.setUint32(24, fields.uncompressedSize, true);
  c.setUint16(28, name.length, true);
  c.setUint32(42, fields.offset, true);
  record.set(name, 46);
  return record;
}

/**
 * A zip laid out by hand: entries and raw bytes (hidden data) in order, then the central
 * directory (as `central` rewrites it), `beforeEnd` bytes, and the end record.
 */
function craftZip(
  layout: readonly (CraftedEntry | Uint8Array)[],
  options: { central?: (fields: CentralFields[]) => CentralFields[]; beforeEnd?: Uint8Array } = {},
): Uint8Array {
  const parts: Uint8Array[] = [];
  const fields: CentralFields[] = [];
  let offset = 0;
  for (const item of layout) {
    const bytes = item instanceof Uint8Array ? item : localRecord(item, offset).bytes;
    if (!(item instanceof Uint8Array)) fields.push(localRecord(item, offset).central);
    parts.push(bytes);
    offset += bytes.length;
  }
  const central = (options.central?.(fields) ?? fields).map(centralRecord);
  const directory = concat(central);
  const end = new Uint8Array(22);
  const e = view(end);
  e.setUint32(0, 0x06054b50, true);
  e.setUint16(8, central.length, true);
  e.setUint16(10, central.length, true);
  e.setUint32(12, directory.length, true);
  e.setUint32(16, offset, true);
  return concat([...parts, directory, options.beforeEnd ?? new Uint8Array(0), end]);
}

const indexEntry: CraftedEntry = { name: 'index.mjs', content: handlerSource, deflate: true };
const utilEntry: CraftedEntry = { name: 'lib/util.txt', content: strToU8('stored as is') };

function inspectError(
  bytes: Uint8Array,
  maxUncompressedBytes?: number,
  budget?: InflateBudget,
): InvalidZipError {
  try {
    inspectZip(bytes, {
      ...(maxUncompressedBytes === undefined ? {} : { maxUncompressedBytes }),
      ...(budget === undefined ? {} : { budget }),
    });
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

describe('inspectZip against hostile layouts', () => {
  it('refuses the 13 KB zip whose 262 central-directory entries all point at one deflated 1 MB entry', () => {
    // Prepare: one deflated entry of 1,000,000 bytes, listed 262 times (262 MB declared, under 250 MiB).
    const bomb = craftZip([{ name: 'a.js', content: new Uint8Array(1_000_000), deflate: true }], {
      central: ([only]) => Array.from({ length: 262 }, () => only as CentralFields),
    });
    expect(bomb.length).toBeLessThan(15_000);

    // Act
    const error = inspectError(bomb);

    // Assess
    expect(error.message).toBe(
      'entries "a.js" and "a.js" share the local header at offset 0: every entry must have its own data',
    );
  });

  it('refuses an entry whose local header lies inside the data of another (overlapping entries)', () => {
    // Prepare: a stored entry whose content is a whole second entry, which the directory lists too.
    const inner = localRecord({ name: 'b.js', content: strToU8('export default 1;') }, 0);
    const outerName = 'a.js';
    const zip = craftZip([{ name: outerName, content: inner.bytes }], {
      central: (fields) => [...fields, { ...inner.central, offset: 30 + outerName.length }],
    });

    // Act
    const error = inspectError(zip);

    // Assess
    expect(error.message).toBe(
      `entry "b.js" starts at offset 34, inside entry "a.js", which ends at offset ${34 + inner.bytes.length}: entries must not overlap`,
    );
  });

  it.each([
    [
      'between two entries',
      [indexEntry, new Uint8Array(7), utilEntry],
      /^7 bytes at offset \d+, between entry "index\.mjs" and entry "lib\/util\.txt", belong to no entry/,
    ],
    [
      'before the first entry',
      [new Uint8Array(64), indexEntry],
      /^64 bytes at offset 0, between the start of the archive and entry "index\.mjs", belong to no entry/,
    ],
    [
      'between the last entry and the central directory',
      [indexEntry, new Uint8Array(5)],
      /^5 bytes at offset \d+, between entry "index\.mjs" and the central directory, belong to no entry/,
    ],
  ] as const)('refuses bytes hidden %s', (_where, layout, message) => {
    expect(inspectError(craftZip(layout)).message).toMatch(message);
  });

  it('refuses bytes hidden between the central directory and the end record', () => {
    const zip = craftZip([indexEntry], { beforeEnd: strToU8('hidden') });
    expect(inspectError(zip).message).toBe(
      '6 bytes between the central directory and the end of central directory record belong to nothing: the zip is corrupt or hides data',
    );
  });

  it('refuses a local header whose compressed size differs from the central directory', () => {
    const zip = craftZip([utilEntry, indexEntry]);
    view(zip).setUint32(18, 11, true);
    expect(inspectError(zip).message).toBe(
      'the local header of "lib/util.txt" declares 11 compressed bytes but the central directory 12',
    );
  });

  it.each([
    ['signed', 'signed'],
    ['unsigned', 'unsigned'],
  ] as const)(
    'accepts entries followed by %s data descriptors, as streaming writers make them',
    (_form, descriptor) => {
      const zip = craftZip([
        { ...indexEntry, descriptor },
        { ...utilEntry, descriptor },
      ]);
      expect(inspectZip(zip).entries).toEqual(['index.mjs', 'lib/util.txt']);
    },
  );

  it('refuses a data descriptor that disagrees with the central directory', () => {
    const zip = craftZip([{ ...utilEntry, descriptor: 'signed' }]);
    const descriptorAt = 30 + utilEntry.name.length + utilEntry.content.length;
    view(zip).setUint32(descriptorAt + 8, 99, true);
    expect(inspectError(zip).message).toBe(
      'the data descriptor of "lib/util.txt" is missing or disagrees with the central directory',
    );
  });

  it('refuses ZIP64 end records that disagree with the end record', () => {
    const zip = toZip64(sampleZip());
    const end = zip.length - 22;
    view(zip).setUint16(end + 8, 3, true);
    view(zip).setUint16(end + 10, 2, true);
    view(zip).setUint32(end + 12, view(zip).getUint32(end - 20 - 56 + 40, true), true);
    view(zip).setUint32(end + 16, view(zip).getUint32(end - 20 - 56 + 48, true), true);
    expect(inspectError(zip).message).toBe(
      'the end of central directory record and its ZIP64 record disagree: the zip is corrupt',
    );
  });

  it('accepts ZIP64 end records written although not required, as Info-ZIP does from a pipe', () => {
    const zip = toZip64(sampleZip());
    const end = zip.length - 22;
    const zip64End = end - 20 - 56;
    view(zip).setUint16(end + 8, 3, true);
    view(zip).setUint16(end + 10, 3, true);
    view(zip).setUint32(end + 12, view(zip).getUint32(zip64End + 40, true), true);
    view(zip).setUint32(end + 16, view(zip).getUint32(zip64End + 48, true), true);
    expect(inspectZip(zip).entries).toEqual(['index.mjs', 'lib/util.txt', 'assets/']);
  });
});

describe('inspectZip against hostile names', () => {
  it.each([
    ['a NUL', 'index\u0000.mjs', 'has a control character (NUL included) in its name'],
    ['a newline', 'index\n.mjs', 'has a control character (NUL included) in its name'],
    ['a backslash', 'lib\\util.js', 'has a backslash in its name'],
    ['a drive letter', 'C:/Windows/x.js', 'must be a relative path without ".." segments'],
    ['a drive-relative name', 'c:x.js', 'must be a relative path without ".." segments'],
  ])('refuses a name with %s', (_what, name, message) => {
    expect(inspectError(craftZip([{ name, content: strToU8('x') }])).message).toContain(message);
  });

  it.each([
    ['the same name twice', ['a.js', 'a.js'], '"a.js" and "a.js" unpack to the same path "a.js"'],
    ['a name with an empty segment', ['lib/a.js', 'lib//a.js'], 'unpack to the same path "lib/a.js"'],
    ['a name with a "." segment', ['a.js', './a.js'], 'unpack to the same path "a.js"'],
    ['a file and a folder of one path', ['lib', 'lib/'], 'unpack to the same path "lib"'],
  ])('refuses %s', (_what, names, message) => {
    const zip = craftZip(
      names.map((name) => ({ name, content: name.endsWith('/') ? new Uint8Array(0) : strToU8(name) })),
    );
    expect(inspectError(zip).message).toContain(message);
  });

  it('refuses a file that is also the folder of another entry', () => {
    const zip = craftZip([
      { name: 'lib', content: strToU8('a file') },
      { name: 'lib/a.js', content: strToU8('x') },
    ]);
    expect(inspectError(zip).message).toBe('entry "lib" is a file but also the folder of "lib/a.js"');
  });
});

describe('InflateBudget', () => {
  it('refuses the archive that would take a request past its budget, before inflating it', () => {
    // Prepare: a budget of two sample zips and a bit; the third zip is refused whole.
    const size = inspectZip(sampleZip()).uncompressedBytes;
    const budget = new InflateBudget(size * 2 + 1);
    inspectZip(sampleZip(), { budget });
    inspectZip(sampleZip(), { budget });

    // Act
    const error = inspectError(sampleZip(), undefined, budget);

    // Assess
    expect(error.message).toBe(
      `the code packages of this request unzip to more than ${size * 2 + 1} bytes together (this one declares ${size} bytes, 1 are left): one request may inflate at most Lambda's 250 MB unzipped deployment package quota; upload larger code to the artifacts bucket and send its sha256`,
    );
    expect(budget.remainingBytes).toBe(1);
  });

  it("defaults to Lambda's 250 MB unzipped quota", () => {
    expect(new InflateBudget().limitBytes).toBe(unzippedCodeMaxBytes);
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
