/**
 * Decoding of the `aws-chunked` content encoding that SDK v3 uses for streamed uploads: each
 * chunk is `<hex size>[;chunk-signature=<sig>]\r\n<bytes>\r\n`, the last one has size 0 and is
 * followed by trailer lines `name:value\r\n` (e.g. `x-amz-checksum-crc32:<base64>`) and an
 * empty line. Chunk signatures are not checked: the local cloud does not verify SigV4.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 */

/** Thrown for a body whose aws-chunked framing is broken. */
export class AwsChunkedError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AwsChunkedError';
  }
}

/** A decoded aws-chunked body: the payload and the trailers, names lowercased. */
export interface DecodedChunkedBody {
  readonly data: Buffer;
  readonly trailers: Readonly<Record<string, string>>;
}

const crlf = Buffer.from('\r\n');

function readLine(body: Buffer, from: number): { line: string; next: number } | undefined {
  const end = body.indexOf(crlf, from);
  if (end === -1) return undefined;
  return { line: body.subarray(from, end).toString('latin1'), next: end + 2 };
}

/**
 * Decodes a whole aws-chunked body.
 *
 * @throws AwsChunkedError when a chunk header is not hex, a chunk is cut short, or a chunk's
 *   data is not followed by CRLF
 */
export function decodeAwsChunked(body: Buffer): DecodedChunkedBody {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const header = readLine(body, offset);
    if (header === undefined) throw new AwsChunkedError('chunk header is not terminated by CRLF');
    const sizeText = header.line.split(';', 1)[0]?.trim() ?? '';
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) {
      throw new AwsChunkedError(`chunk size ${JSON.stringify(sizeText)} is not hexadecimal`);
    }
    const size = Number.parseInt(sizeText, 16);
    offset = header.next;
    if (size === 0) break;
    if (offset + size + 2 > body.length) throw new AwsChunkedError('chunk data is shorter than its size');
    parts.push(body.subarray(offset, offset + size));
    offset += size;
    if (!body.subarray(offset, offset + 2).equals(crlf)) {
      throw new AwsChunkedError('chunk data is not followed by CRLF');
    }
    offset += 2;
  }
  const trailers: Record<string, string> = {};
  while (offset < body.length) {
    const next = readLine(body, offset);
    const line = next === undefined ? body.subarray(offset).toString('latin1') : next.line;
    offset = next === undefined ? body.length : next.next;
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon === -1) throw new AwsChunkedError(`trailer ${JSON.stringify(line)} has no colon`);
    trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { data: Buffer.concat(parts), trailers };
}
