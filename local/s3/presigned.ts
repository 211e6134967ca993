import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { S3Error } from './errors.ts';

/**
 * SigV4 query-string authentication (presigned URLs), as S3 checks it: the `X-Amz-*` query
 * parameters, the signature over the canonical request (AWS Signature Version 4, "Authenticating
 * Requests: Using Query Parameters"), and the expiry.
 */

/** The access keys the emulator knows: access key id → secret access key. */
export type KnownKeys = ReadonlyMap<string, string>;

/** The query parameters of a presigned URL. */
const presignParameters = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
] as const;

/** Longest validity of a presigned URL, in seconds: 7 days (S3, "Sharing objects with presigned URLs"). */
export const presignMaxExpirySeconds = 604_800;

/** Whether the request is authenticated by query parameters (`X-Amz-Algorithm` present). */
export function isPresigned(query: URLSearchParams): boolean {
  return query.has('X-Amz-Algorithm');
}

/**
 * Checks a presigned request's signature and expiry; returns the query without the
 * authentication parameters (`X-Amz-*`), which select no operation.
 *
 * @param rawUrl - the request target as received (`/bucket/key?…`), not decoded
 * @throws S3Error AuthorizationQueryParametersError (400) when a parameter is missing or malformed,
 *   InvalidAccessKeyId (403) for an unknown key, AccessDenied (403) "Request has expired",
 *   SignatureDoesNotMatch (403) when the signature is not the one these keys give
 */
export function verifyPresigned(
  req: IncomingMessage,
  rawUrl: string,
  keys: KnownKeys,
  now: Date = new Date(),
): URLSearchParams {
  const query = new URL(rawUrl, 'http://localhost').searchParams;
  for (const name of presignParameters) {
    if (!query.has(name)) throw queryError(`Query-string authentication requires the ${name} parameter`);
  }
  const param = (name: (typeof presignParameters)[number]) => query.get(name) as string;
  if (param('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') {
    throw queryError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  }
  const [accessKeyId, ...scopeParts] = param('X-Amz-Credential').split('/');
  const scope = scopeParts.join('/');
  if (accessKeyId === undefined || scopeParts.length !== 4 || scopeParts[3] !== 'aws4_request') {
    throw queryError('Error parsing the X-Amz-Credential parameter; the Credential is mal-formed');
  }
  const amzDate = param('X-Amz-Date');
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined || !amzDate.startsWith(scopeParts[0] as string)) {
    throw queryError("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
  }
  const expires = Number(param('X-Amz-Expires'));
  if (!Number.isInteger(expires) || expires < 1 || expires > presignMaxExpirySeconds) {
    throw queryError(
      `X-Amz-Expires must be between 1 and ${presignMaxExpirySeconds} seconds (7 days), got ${param('X-Amz-Expires')}`,
    );
  }
  const secret = keys.get(accessKeyId);
  if (secret === undefined) {
    throw new S3Error(
      'InvalidAccessKeyId',
      403,
      'The AWS Access Key Id you provided does not exist in our records.',
      {
        details: { AWSAccessKeyId: accessKeyId },
      },
    );
  }
  const expiresAt = new Date(signedAt.getTime() + expires * 1000);
  if (now.getTime() > expiresAt.getTime()) {
    throw new S3Error('AccessDenied', 403, 'Request has expired', {
      details: {
        'X-Amz-Expires': String(expires),
        Expires: expiresAt.toISOString(),
        ServerTime: now.toISOString(),
      },
    });
  }

  const signedHeaders = param('X-Amz-SignedHeaders');
  const canonicalRequest = [
    req.method ?? 'GET',
    rawUrl.split('?')[0] ?? '/',
    canonicalQuery(rawUrl),
    canonicalHeaders(req, signedHeaders),
    signedHeaders,
    query.get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD',
  ].join('\n');
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  let key: Buffer = createHmac('sha256', `AWS4${secret}`)
    .update(scopeParts[0] as string)
    .digest();
  for (const part of scopeParts.slice(1)) key = createHmac('sha256', key).update(part).digest();
  const expected = createHmac('sha256', key).update(stringToSign).digest();
  const given = Buffer.from(param('X-Amz-Signature'), 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new S3Error(
      'SignatureDoesNotMatch',
      403,
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      {
        details: {
          AWSAccessKeyId: accessKeyId,
          StringToSign: stringToSign,
          CanonicalRequest: canonicalRequest,
        },
      },
    );
  }
  const rest = new URLSearchParams();
  for (const [name, value] of query) if (!name.startsWith('X-Amz-')) rest.append(name, value);
  return rest;
}

function queryError(message: string): S3Error {
  return new S3Error('AuthorizationQueryParametersError', 400, message);
}

/** `yyyyMMddTHHmmssZ` → Date. */
function parseAmzDate(text: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (match === null) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  return new Date(Date.UTC(y as number, (mo as number) - 1, d, h, mi, s));
}

/** SigV4's URI encoding: everything but unreserved characters, as `%XX` in upper case. */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Every query parameter but the signature, encoded, sorted by name then value. */
function canonicalQuery(rawUrl: string): string {
  const at = rawUrl.indexOf('?');
  const pairs = (at === -1 ? '' : rawUrl.slice(at + 1))
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const decode = (text: string) => decodeURIComponent(text.replace(/\+/g, ' '));
      const name = decode(eq === -1 ? pair : pair.slice(0, eq));
      const value = eq === -1 ? '' : decode(pair.slice(eq + 1));
      return [uriEncode(name), uriEncode(value)] as const;
    })
    .filter(([name]) => name !== 'X-Amz-Signature');
  pairs.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([name, value]) => `${name}=${value}`).join('&');
}

/** `name:value\n` for each signed header, values trimmed and inner spaces collapsed. */
function canonicalHeaders(req: IncomingMessage, signedHeaders: string): string {
  return signedHeaders
    .split(';')
    .map((name) => {
      const raw = req.headers[name];
      const value = (Array.isArray(raw) ? raw.join(',') : (raw ?? '')).trim().replace(/\s+/g, ' ');
      return `${name}:${value}\n`;
    })
    .join('');
}
