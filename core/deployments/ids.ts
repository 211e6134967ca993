/**
 * Deployment ids: `dep-<26 lowercase base32 chars>` (RFC 4648 alphabet, lowercased; 130
 * bits). The id is also the Step Functions execution name (at most 80 characters of
 * `[A-Za-z0-9-_]`: 30 here) and the snapshot id of the deployment's model.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { ValidationError } from '../../domain/errors.ts';

const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';

/** What every deployment id looks like. */
export const deploymentIdPattern = /^dep-[a-z2-7]{26}$/;

/**
 * Largest `Idempotency-Key` greco accepts: 255 characters of visible ASCII or space (greco's
 * choice; the IETF Idempotency-Key draft leaves the length to the server).
 */
export const idempotencyKeyMaxLength = 255;

/** A new random deployment id. */
export function newDeploymentId(): string {
  return `dep-${base32(randomBytes(17))}`;
}

/**
 * The deployment id of a request with an `Idempotency-Key`: derived from the workspace, the
 * draft and the key, so the same request always names the same deployment (and execution).
 *
 * @example
 * deploymentIdFor('acme', 'draft-1', 'k-42'); // 'dep-…' (26 chars), always the same
 */
export function deploymentIdFor(workspace: string, draftId: string, idempotencyKey: string): string {
  const digest = createHash('sha256').update(`${workspace}\n${draftId}\n${idempotencyKey}`, 'utf8').digest();
  return `dep-${base32(digest.subarray(0, 17))}`;
}

/**
 * Reads an `Idempotency-Key` header: `undefined` when absent.
 * @throws ValidationError (400, field `headers.idempotency-key`) when empty, longer than
 *   {@link idempotencyKeyMaxLength} or not printable ASCII
 */
export function parseIdempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const key = header.trim();
  if (key.length === 0 || key.length > idempotencyKeyMaxLength || !/^[\x20-\x7e]+$/.test(key)) {
    throw new ValidationError([
      {
        field: 'headers.idempotency-key',
        message: `must be 1 to ${idempotencyKeyMaxLength} printable ASCII characters`,
      },
    ]);
  }
  return key;
}

function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  return out.slice(0, 26);
}
