import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from '../http.ts';
import { type ChecksumAlgorithm, checksumAlgorithms, checksumHeader, computeChecksum } from './checksums.ts';
import { AwsChunkedError, decodeAwsChunked } from './chunked.ts';
import { S3Error } from './errors.ts';
import { MalformedXmlError, parseXml, type XmlElement, xmlDeclaration, xmlElement } from './xml.ts';

/**
 * What every operation of the S3 emulator shares: the parsed request, the answer writer, the
 * body reader that decodes aws-chunked framing and checks integrity headers, and the owner
 * reported in listings.
 */

/** ListObjects, ListObjectVersions and DeleteObjects handle at most 1,000 keys per request (S3 quota). */
export const maxKeysPerRequest = 1000;

/** The owner the emulator reports for every bucket and object. */
export const owner = {
  id: createHash('sha256').update('greco-local').digest('hex'),
  displayName: 'greco-local',
};

/** The parts of a request the operations need. */
export interface S3Request {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  readonly bucket: string | undefined;
  readonly key: string | undefined;
  readonly query: URLSearchParams;
  readonly requestId: string;
}

/** `NotImplemented` (501) naming the operation or feature the emulator lacks. */
export function notImplemented(what: string): S3Error {
  return new S3Error('NotImplemented', 501, `${what} is not supported by the local S3 emulator`);
}

/** Writes an answer with S3's request-id headers and, when given, an XML document as the body. */
export function send(
  r: S3Request,
  status: number,
  headers: Record<string, string | number | undefined> = {},
  xml?: string,
): void {
  const body = xml === undefined ? '' : `${xmlDeclaration}${xml}`;
  const out: Record<string, string | number> = { 'x-amz-request-id': r.requestId, 'x-amz-id-2': r.requestId };
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = value;
  if (xml !== undefined) out['content-type'] = 'application/xml';
  out['content-length'] = Buffer.byteLength(body);
  r.res.writeHead(status, out);
  r.res.end(body);
}

/** A request header, repeated values joined with commas. */
export function header(r: S3Request, name: string): string | undefined {
  const value = r.req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** A request body after aws-chunked decoding and integrity checks. */
export interface VerifiedBody {
  readonly data: Buffer;
  /** The flexible checksum the client sent (verified), if any. */
  readonly checksum?: { algorithm: ChecksumAlgorithm; value: string };
}

/**
 * Reads the body, decodes aws-chunked framing, and checks `x-amz-decoded-content-length`,
 * Content-MD5, `x-amz-content-sha256` and any `x-amz-checksum-*` header or trailer.
 *
 * @param limitBytes largest decoded body accepted, in bytes
 * @throws S3Error IncompleteBody, MalformedTrailerError, EntityTooLarge, InvalidDigest, BadDigest,
 *   XAmzContentSHA256Mismatch or InvalidRequest (400) naming the check that failed
 * @throws BodyTooLargeError when the raw body exceeds `limitBytes` plus 1 MiB of framing
 */
export async function readVerifiedBody(r: S3Request, limitBytes: number): Promise<VerifiedBody> {
  const raw = await readBody(r.req, limitBytes + 1024 * 1024);
  const contentSha256 = header(r, 'x-amz-content-sha256');
  const encodings = (header(r, 'content-encoding') ?? '').split(',').map((e) => e.trim().toLowerCase());
  let data = raw;
  let trailers: Readonly<Record<string, string>> = {};
  if (encodings.includes('aws-chunked') || contentSha256?.startsWith('STREAMING-')) {
    try {
      ({ data, trailers } = decodeAwsChunked(raw));
    } catch (error) {
      if (error instanceof AwsChunkedError) {
        throw new S3Error(
          'IncompleteBody',
          400,
          `The aws-chunked body is malformed: ${error.message}`,
          {},
          {
            cause: error,
          },
        );
      }
      throw error;
    }
    const decodedLength = header(r, 'x-amz-decoded-content-length');
    if (decodedLength !== undefined && Number(decodedLength) !== data.length) {
      throw new S3Error(
        'IncompleteBody',
        400,
        `You did not provide the number of bytes specified by the x-amz-decoded-content-length header (${decodedLength}, received ${data.length})`,
      );
    }
    const announced = (header(r, 'x-amz-trailer') ?? '')
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter((t) => t !== '');
    for (const name of announced) {
      if (trailers[name] === undefined) {
        throw new S3Error(
          'MalformedTrailerError',
          400,
          `The request did not contain the announced trailer ${name}`,
        );
      }
    }
  }
  if (data.length > limitBytes) {
    throw new S3Error('EntityTooLarge', 400, 'Your proposed upload exceeds the maximum allowed size', {
      details: { ProposedSize: String(data.length), MaxSizeAllowed: String(limitBytes) },
    });
  }
  const contentMd5 = header(r, 'content-md5');
  if (contentMd5 !== undefined) {
    if (Buffer.from(contentMd5, 'base64').length !== 16) {
      throw new S3Error('InvalidDigest', 400, 'The Content-MD5 you specified was invalid.', {
        details: { 'Content-MD5': contentMd5 },
      });
    }
    if (createHash('md5').update(data).digest('base64') !== contentMd5) {
      throw new S3Error('BadDigest', 400, 'The Content-MD5 you specified did not match what we received.', {
        details: { ExpectedDigest: contentMd5 },
      });
    }
  }
  if (contentSha256 !== undefined && /^[0-9a-f]{64}$/.test(contentSha256)) {
    const actual = createHash('sha256').update(data).digest('hex');
    if (actual !== contentSha256) {
      throw new S3Error(
        'XAmzContentSHA256Mismatch',
        400,
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
        { details: { ClientComputedContentSHA256: contentSha256, S3ComputedContentSHA256: actual } },
      );
    }
  }
  const sent: { algorithm: ChecksumAlgorithm; value: string }[] = [];
  for (const algorithm of checksumAlgorithms) {
    const name = checksumHeader(algorithm);
    const value = header(r, name) ?? trailers[name];
    if (value !== undefined) sent.push({ algorithm, value });
  }
  if (sent.length > 1) {
    throw new S3Error(
      'InvalidRequest',
      400,
      'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.',
    );
  }
  const checksum = sent[0];
  if (checksum !== undefined && computeChecksum(checksum.algorithm, data) !== checksum.value) {
    throw new S3Error(
      'BadDigest',
      400,
      `The ${checksum.algorithm} you specified did not match the calculated checksum.`,
    );
  }
  return checksum === undefined ? { data } : { data, checksum };
}

/** Whether the request carries Content-MD5 or an `x-amz-checksum-*` header or trailer. */
export function hasIntegrityHeader(r: S3Request): boolean {
  if (header(r, 'content-md5') !== undefined) return true;
  const trailer = (header(r, 'x-amz-trailer') ?? '').toLowerCase();
  return checksumAlgorithms.some(
    (a) => header(r, checksumHeader(a)) !== undefined || trailer.includes(checksumHeader(a)),
  );
}

/**
 * Reads and parses an XML body (at most 1 MiB); `undefined` when the body is empty.
 *
 * @throws S3Error MalformedXML (400) when the body is not well-formed XML
 */
export async function readXmlBody(r: S3Request): Promise<XmlElement | undefined> {
  const { data } = await readVerifiedBody(r, 1024 * 1024);
  if (data.length === 0) return undefined;
  try {
    return parseXml(data.toString('utf8'));
  } catch (error) {
    if (error instanceof MalformedXmlError) {
      throw new S3Error(
        'MalformedXML',
        400,
        'The XML you provided was not well-formed or did not validate against our published schema.',
        {},
        { cause: error },
      );
    }
    throw error;
  }
}

/** `MalformedXML` (400). */
export function malformedXml(): S3Error {
  return new S3Error(
    'MalformedXML',
    400,
    'The XML you provided was not well-formed or did not validate against our published schema.',
  );
}

/** The `<Owner>` element of listings. */
export function ownerXml(): string {
  return `<Owner>${xmlElement('ID', owner.id)}${xmlElement('DisplayName', owner.displayName)}</Owner>`;
}
