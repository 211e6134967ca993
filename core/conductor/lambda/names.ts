/**
 * How the Lambda conductor recognises its own work on the data plane (docs/conductors.md,
 * "Idempotency rules"): the alias it points, and the descriptions it gives the functions it
 * creates and the versions it publishes.
 *
 * @module
 */

/** Name of the alias that serves a function's live version. */
export const liveAlias = 'live';

/** The `Description` CreateFunction gives a function, naming the deployment that created it. */
export function createdDescription(deploymentId: string): string {
  return `Managed by greco; created by deployment ${deploymentId}`;
}

/** The `Description` of a version, naming the deployment that published it. */
export function versionDescription(deploymentId: string): string {
  return `greco deployment ${deploymentId}`;
}

/**
 * Lambda's `CodeSha256` (base64) of a zip known by its hex SHA-256.
 *
 * @example
 * base64Sha256('e3b0c442…b855'); // '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='
 */
export function base64Sha256(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}
