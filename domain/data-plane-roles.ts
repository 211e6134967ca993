/**
 * Per-workspace execution roles of data-plane functions: their IAM path and names, the log group
 * each workspace's functions write to, and the policies of each role. Defined once for the CDK app
 * (which lets the Lambda conductor create roles under this path, only with the data-plane
 * permissions boundary) and the Lambda conductor (which creates a workspace's role at run time,
 * since workspaces come and go with tokens, not with deployments of the CDK app).
 *
 * Why a log group per workspace rather than Lambda's `/aws/lambda/<function>`: managed function
 * names are `<prefix>-<workspace>-<name>` and workspace ids contain hyphens, so no IAM pattern on
 * `/aws/lambda/<prefix>-acme-*` can leave out workspace `acme-dev`'s functions. A log group ARN
 * followed by `:*` matches that one group exactly, so `/greco/<prefix>/workspaces/acme:*` is
 * acme's and nobody else's. The conductor points functions at it with `LoggingConfig.LogGroup`.
 *
 * @module
 */

/**
 * IAM path of the per-workspace roles of a deployment with managed prefix `prefix`:
 * `/greco/<prefix>/workspaces/` (IAM paths are 1 to 512 characters, `/`-delimited).
 *
 * @example
 * workspaceRolePath('greco'); // '/greco/greco/workspaces/'
 */
export function workspaceRolePath(prefix: string): string {
  return `/greco/${prefix}/workspaces/`;
}

/**
 * Name of a workspace's execution role: `<prefix>-ws-<workspace>`, at most 16 + 4 + 32 = 52
 * characters, within IAM's 64 for role names (domain/names.ts bounds the prefix and workspace id).
 *
 * @example
 * workspaceRoleName('greco', 'acme'); // 'greco-ws-acme'
 */
export function workspaceRoleName(prefix: string, workspace: string): string {
  return `${prefix}-ws-${workspace}`;
}

/**
 * The log group every function of a workspace writes to (`LoggingConfig.LogGroup` of
 * CreateFunction and UpdateFunctionConfiguration): `/greco/<prefix>/workspaces/<workspace>`.
 *
 * @example
 * workspaceLogGroupName('greco', 'acme'); // '/greco/greco/workspaces/acme'
 */
export function workspaceLogGroupName(prefix: string, workspace: string): string {
  return `/greco/${prefix}/workspaces/${workspace}`;
}

/** Where an ARN points: the partition, Region and account of the deployment. */
export interface ArnEnvironment {
  /** `aws`, `aws-cn`, `aws-us-gov`. */
  readonly partition: string;
  readonly region: string;
  /** 12-digit account id. */
  readonly account: string;
}

/** An IAM policy document as JSON (`CreateRole` `AssumeRolePolicyDocument`, `PutRolePolicy` `PolicyDocument`). */
export interface PolicyDocumentJson {
  readonly Version: '2012-10-17';
  readonly Statement: readonly Readonly<Record<string, unknown>>[];
}

/** Trust policy of every workspace role: assumed by Lambda only. */
export const workspaceRoleTrustPolicy: PolicyDocumentJson = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
};

/** Name of the inline policy the conductor puts on a workspace role (`PutRolePolicy` `PolicyName`). */
export const workspaceRolePolicyName = 'workspace-logs';

/**
 * The inline policy of a workspace's role: create its workspace's log group, and write streams and
 * events in it, nothing else. The permissions boundary (lib/managed-functions-iam.ts) caps it too.
 *
 * @example
 * workspaceRolePolicy({ partition: 'aws', region: 'eu-west-1', account: '123456789012' }, 'greco', 'acme');
 */
export function workspaceRolePolicy(
  env: ArnEnvironment,
  prefix: string,
  workspace: string,
): PolicyDocumentJson {
  const group = `arn:${env.partition}:logs:${env.region}:${env.account}:log-group:${workspaceLogGroupName(prefix, workspace)}`;
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['logs:CreateLogGroup'], Resource: group },
      { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: `${group}:*` },
    ],
  };
}
