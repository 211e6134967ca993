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
  /**
   * Name of the JWT claim that carries the caller's workspace id.
   * Unset: {@link defaultWorkspaceClaim} (the Cognito custom attribute).
   */
  workspaceClaim: 'GRECO_WORKSPACE_CLAIM',
  /**
   * Name of the JWT claim that carries the caller's roles (viewer, editor, approver, operator).
   * Unset: {@link defaultRolesClaim} (Cognito user-pool groups).
   */
  rolesClaim: 'GRECO_ROLES_CLAIM',
  /** Issuer (`iss`) of accepted JWTs; read by functions that verify tokens themselves (the hot path). */
  jwtIssuer: 'GRECO_JWT_ISSUER',
  /** Accepted JWT audiences (`aud` or `client_id`), comma-separated; with {@link EnvNames.jwtIssuer}. */
  jwtAudience: 'GRECO_JWT_AUDIENCE',
  /** URL of the issuer's JSON Web Key Set. Unset: `<issuer>/.well-known/jwks.json`. */
  jwksUrl: 'GRECO_JWKS_URL',
  /** Name of the EventBridge bus greco publishes to. Unset: `greco`. */
  eventBusName: 'GRECO_EVENT_BUS_NAME',
  /**
   * The conductor registry, a JSON array of `{ name, functionArn }` (`ConductorRegistration`),
   * set by the CDK from `lib/conductors.ts`; read by the deployment steps.
   */
  conductors: 'GRECO_CONDUCTORS',
  /** ARN of the deployment state machine (`deployment.asl.json`); read by the deployments API. */
  deploymentStateMachineArn: 'GRECO_DEPLOYMENT_STATE_MACHINE_ARN',
  /** Name of the S3 bucket that holds epoch snapshots and markers. */
  snapshotsBucket: 'GRECO_SNAPSHOTS_BUCKET',
  /** ARN of the execution role of data-plane functions: the only role the Lambda conductor may pass. */
  dataPlaneRoleArn: 'GRECO_DATA_PLANE_ROLE_ARN',
  /**
   * ARN of the permissions boundary (managed policy) of the per-workspace execution roles the
   * Lambda conductor creates (domain/data-plane-roles.ts). Unset: no per-workspace roles; every
   * function runs under {@link EnvNames.dataPlaneRoleArn} (a fallback, not the deployed setup).
   */
  dataPlaneBoundaryArn: 'GRECO_DATA_PLANE_BOUNDARY_ARN',
  /** The Lambda conductor's own Lambda API rate limit, in requests per second. Unset: 10. */
  conductorRateLimit: 'GRECO_CONDUCTOR_RATE_LIMIT',
  /**
   * The account's Lambda concurrent executions quota (context `greco:accountConcurrency`), which
   * bounds `reservedConcurrency` in drafts. Unset: 1,000, Lambda's default (domain/lambda-quotas.ts).
   */
  accountConcurrency: 'GRECO_ACCOUNT_CONCURRENCY',
  /**
   * The two-person rule (context `greco:twoPersonRule`): `true` when the approver who deploys a
   * draft must differ from its last editor. Unset or anything else: off.
   */
  twoPersonRule: 'GRECO_TWO_PERSON_RULE',
  /** The function's service name in logs and the `service` metric dimension (read by Powertools). */
  serviceName: 'POWERTOOLS_SERVICE_NAME',
  /** CloudWatch namespace of the function's metrics (read by Powertools Metrics). */
  metricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
} as const;

/** The workspace claim when {@link EnvNames.workspaceClaim} is unset: Cognito's custom attribute. */
export const defaultWorkspaceClaim = 'custom:workspace';

/** The roles claim when {@link EnvNames.rolesClaim} is unset: Cognito's group list. */
export const defaultRolesClaim = 'cognito:groups';

/** Reads a required environment variable. @throws Error naming the variable when it is unset or empty. */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is not set`);
  return value;
}

/** Reads an optional environment variable, `fallback` when it is unset or empty. */
export function optionalEnv(name: string, fallback: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  return value === undefined || value === '' ? fallback : value;
}
