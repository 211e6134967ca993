import { describe, expect, it } from 'vitest';
import { computeChecksum, parseChecksumAlgorithm } from '../../local/s3/checksums.ts';
import { AwsChunkedError, decodeAwsChunked } from '../../local/s3/chunked.ts';
import { isValidBucketName } from '../../local/s3/store.ts';
import { escapeXml, MalformedXmlError, parseXml } from '../../local/s3/xml.ts';

/** Big-endian bytes of a hex check value, base64, as S3 writes checksums. */
function b64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

describe('S3 checksums', () => {
  // Check values of the catalogue of CRC algorithms for the ASCII input "123456789".
  it.each([
    ['CRC32', b64('cbf43926')],
    ['CRC32C', b64('e3069283')],
    ['CRC64NVME', b64('ae8b14860a799888')],
    ['SHA1', b64('f7c3bc1d808e04732adf679965ccc34ca7ae3441')],
    ['SHA256', b64('15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225')],
  ] as const)('computes %s of "123456789"', (algorithm, expected) => {
    expect(computeChecksum(algorithm, Buffer.from('123456789'))).toBe(expected);
  });

  it.each([
    ['x-amz-checksum-crc32', 'CRC32'],
    ['crc64nvme', 'CRC64NVME'],
    ['SHA256', 'SHA256'],
    ['md5', undefined],
  ])('reads the algorithm name %s as %s', (name, expected) => {
    expect(parseChecksumAlgorithm(name)).toBe(expected);
  });
});

describe('aws-chunked decoding', () => {
  it('joins unsigned chunks and reads the trailing checksum', () => {
    const body = Buffer.from('5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n');
    const decoded = decodeAwsChunked(body);
    expect(decoded.data.toString()).toBe('hello world');
    expect(decoded.trailers).toEqual({ 'x-amz-checksum-crc32': 'DUoRhQ==' });
  });

  it('ignores chunk signatures of signed streaming bodies', () => {
    const sig = 'a'.repeat(64);
    const body = Buffer.from(`3;chunk-signature=${sig}\r\nabc\r\n0;chunk-signature=${sig}\r\n\r\n`);
    expect(decodeAwsChunked(body)).toEqual({ data: Buffer.from('abc'), trailers: {} });
  });

  it.each([
    ['a size that is not hex', 'zz\r\nabc\r\n0\r\n\r\n'],
    ['a chunk shorter than its size', '9\r\nabc\r\n0\r\n\r\n'],
    ['data not followed by CRLF', '2\r\nabc\r\n0\r\n\r\n'],
    ['a header without CRLF', '3'],
    ['a trailer without colon', '0\r\nbroken\r\n\r\n'],
  ])('rejects %s', (_what, text) => {
    expect(() => decodeAwsChunked(Buffer.from(text))).toThrow(AwsChunkedError);
  });
});

describe('S3 XML', () => {
  it('parses a Delete request with namespaces, entities and CDATA', () => {
    const root = parseXml(
      '<?xml version="1.0"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a&amp;b&#13;</Key></Object><Object><Key><![CDATA[<c>]]></Key><VersionId>v1</VersionId></Object><Quiet>true</Quiet></Delete>',
    );
    expect(root.name).toBe('Delete');
    const keys = root.children.filter((c) => c.name === 'Object').map((o) => o.children[0]?.text);
    expect(keys).toEqual(['a&b\r', '<c>']);
  });

  it.each([
    ['mismatched tags', '<a><b></a></b>'],
    ['an unclosed element', '<a><b></b>'],
    ['two roots', '<a/><b/>'],
    ['no element', '   '],
    ['text outside the root', 'x<a/>'],
  ])('rejects %s', (_what, text) => {
    expect(() => parseXml(text)).toThrow(MalformedXmlError);
  });

  it('escapes markup and control characters', () => {
    expect(escapeXml(`a<b>&"'\r\n`)).toBe('a&lt;b&gt;&amp;&quot;&apos;&#13;&#10;');
  });
});

describe('bucket names', () => {
  it.each([
    ['greco-artifacts', true],
    ['a.b.c', true],
    ['ab', false],
    ['Upper', false],
    ['under_score', false],
    ['-leading', false],
    ['double..dot', false],
    ['192.168.1.1', false],
    ['x'.repeat(64), false],
  ])('%s is valid: %s', (name, valid) => {
    expect(isValidBucketName(name)).toBe(valid);
  });
});
