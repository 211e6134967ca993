/**
 * Names of the environment variables through which the CDK stacks wire values into handlers.
 * Defined once here; `lib/` sets them and `lambdas/` reads them, so a rename cannot drift.
 */
export const EnvNames = {
  /** Name of the DynamoDB config table. */
  configTable: 'GRECO_CONFIG_TABLE',
  /** Name of the S3 bucket that holds code zips by SHA-256. */
  artifactsBucket: 'GRECO_ARTIFACTS_BUCKET',
  /** Prefix of every managed data-plane function name: `<prefix>-<workspace>-<name>`. */
  managedPrefix: 'GRECO_MANAGED_PREFIX',
} as const;

/** Reads a required environment variable. @throws Error naming the variable when it is unset or empty. */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is not set`);
  return value;
}
