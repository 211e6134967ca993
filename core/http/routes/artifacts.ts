import { type FieldError, ValidationError } from '../../../domain/errors.ts';
import { isObject } from '../../../domain/objects.ts';
import { type ArtifactStore, uploadZipMaxBytes } from '../../artifacts.ts';
import { jsonResponse } from '../responses.ts';
import { requireBody } from '../router.ts';
import type { Routes } from '../types.ts';

/** What the artifact routes need. */
export interface ArtifactsRoutesDeps {
  readonly artifacts: ArtifactStore;
  /** Clock of the presigned URLs. @default - the system clock */
  readonly now?: () => Date;
}

/** The validated body of `POST /v1/artifacts`. */
export interface UploadRequest {
  /** SHA-256 of the zip, 64 lowercase hex characters. */
  readonly sha256: string;
  /** Size of the zip, in bytes: 1..{@link uploadZipMaxBytes}. */
  readonly sizeBytes: number;
}

/**
 * Validates the body of `POST /v1/artifacts`: `{ sha256, sizeBytes }` and nothing else.
 * @throws ValidationError (400) listing every bad field
 */
export function parseUploadRequest(body: unknown): UploadRequest {
  if (!isObject(body)) {
    throw new ValidationError([{ field: '', message: 'must be an object with sha256 and sizeBytes' }]);
  }
  const errors: FieldError[] = [];
  const { sha256, sizeBytes } = body;
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) {
    errors.push({
      field: 'sha256',
      message: `must be 64 lowercase hex characters (the zip's SHA-256), got ${JSON.stringify(sha256) ?? 'nothing'}`,
    });
  }
  if (
    typeof sizeBytes !== 'number' ||
    !Number.isSafeInteger(sizeBytes) ||
    sizeBytes < 1 ||
    sizeBytes > uploadZipMaxBytes
  ) {
    errors.push({
      field: 'sizeBytes',
      message: `must be an integer between 1 and ${uploadZipMaxBytes} bytes (Lambda's 50 MB zipped deployment package quota), got ${JSON.stringify(sizeBytes) ?? 'nothing'}`,
    });
  }
  for (const key of Object.keys(body)) {
    if (key !== 'sha256' && key !== 'sizeBytes') errors.push({ field: key, message: 'is not a known field' });
  }
  if (errors.length > 0) throw new ValidationError(errors);
  return { sha256: sha256 as string, sizeBytes: sizeBytes as number };
}

/**
 * The artifact routes (editor and up):
 * - `POST /v1/artifacts` (body `{ sha256, sizeBytes }`) → 201 `{ sha256, sizeBytes, upload: { url,
 *   method: 'PUT', headers, expiresAt } }`, a presigned PUT of the zip to the workspace's staging
 *   key (S3 refuses other bytes); 200 `{ sha256, sizeBytes }` and no upload when the artifacts
 *   bucket already holds the zip. A spec then refers to `{ "code": { "sha256": ... } }`: the zip
 *   is inspected (the checks of inline code) the first time a spec uses it.
 */
export function artifactsRoutes(deps: ArtifactsRoutesDeps): Routes {
  return {
    'POST /v1/artifacts': {
      role: 'editor',
      async handle(request) {
        const { sha256, sizeBytes } = parseUploadRequest(requireBody(request));
        const now = deps.now?.() ?? new Date();
        const answer = await deps.artifacts.createUpload(request.caller.workspace, sha256, sizeBytes, now);
        if (answer.stored !== undefined) {
          return jsonResponse(200, { sha256, sizeBytes: answer.stored.sizeBytes });
        }
        return jsonResponse(201, { sha256, sizeBytes, upload: answer.upload });
      },
    },
  };
}
