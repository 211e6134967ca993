/**
 * Large code through the artifacts bucket: `POST /v1/artifacts` answers a presigned PUT, the
 * CLI sends the zip to it (progress on stderr), and the spec then refers to `{ sha256 }`.
 *
 * @module
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ApiClient } from './api.ts';
import type { CommandContext } from './command.ts';
import { CliError } from './errors.ts';

/**
 * Largest inline code a model request carries, in bytes of zip, all functions together: the API
 * refuses inline zips over 5 MiB (core/spec.ts `Limits.inlineZipMaxBytes`), and base64 (4/3) in a
 * JSON body through API Gateway into a Lambda function (6 MB synchronous payload quota) caps it at
 * about 4.4 MiB in practice; 4 MiB leaves room for the rest of the model.
 */
export const inlineCodeBudgetBytes = 4 * 1024 * 1024;

/** A presigned upload as `POST /v1/artifacts` answers it. */
interface UploadAnswer {
  readonly sha256: string;
  readonly upload?: {
    readonly url: string;
    readonly method: 'PUT';
    readonly headers: Record<string, string>;
  };
}

/** Bytes sent per write; progress is reported about every 10%. */
const chunkBytes = 256 * 1024;

/**
 * Uploads a zip through a presigned URL unless the artifacts bucket holds it already.
 *
 * @throws ApiError when `POST /v1/artifacts` is refused; CliError when S3 refuses the upload
 */
export async function uploadZip(
  api: ApiClient,
  name: string,
  zip: Uint8Array,
  sha256: string,
  ctx: CommandContext,
): Promise<void> {
  const { body } = await api.request<UploadAnswer>('POST', 'v1/artifacts', {
    body: { sha256, sizeBytes: zip.byteLength },
  });
  if (body.upload === undefined) {
    if (!ctx.json) ctx.io.err(`  ${name}: code already uploaded (sha256 ${sha256.slice(0, 12)})\n`);
    return;
  }
  await putPresigned(body.upload.url, body.upload.headers, zip, (sent) => {
    if (!ctx.json) {
      const percent = Math.floor((sent / zip.byteLength) * 100);
      ctx.io.err(`  uploading ${name}: ${percent}% of ${zip.byteLength} bytes\n`);
    }
  });
}

/** PUTs `bytes` to a presigned URL with exactly the signed headers; `progress` gets the bytes sent so far. */
function putPresigned(
  url: string,
  headers: Readonly<Record<string, string>>,
  bytes: Uint8Array,
  progress: (sentBytes: number) => void,
): Promise<void> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(target, { method: 'PUT', headers: { ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        if ((res.statusCode ?? 0) < 300) resolve();
        else {
          const text = Buffer.concat(chunks).toString('utf8');
          const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? 'an error';
          const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? '';
          reject(
            new CliError(`the artifacts bucket refused the upload (${res.statusCode} ${code}): ${message}`),
          );
        }
      });
      res.on('error', reject);
    });
    req.on('error', (error) =>
      reject(new CliError(`could not upload to ${target.host}: ${error.message}`, { cause: error })),
    );
    let sent = 0;
    let reported = -1;
    const step = Math.max(chunkBytes, Math.ceil(bytes.byteLength / 10));
    const writeNext = (): void => {
      while (sent < bytes.byteLength) {
        const end = Math.min(sent + chunkBytes, bytes.byteLength);
        const ok = req.write(bytes.subarray(sent, end));
        sent = end;
        if (Math.floor(sent / step) !== reported || sent === bytes.byteLength) {
          reported = Math.floor(sent / step);
          progress(sent);
        }
        if (!ok) {
          req.once('drain', writeNext);
          return;
        }
      }
      req.end();
    };
    writeNext();
  });
}
