/**
 * The conductor registry: which conductors a deployment runs, and how each is built. The state
 * machine iterates over the registry at run time (its Map states take `conductors` from the
 * begin step, which reads `GRECO_CONDUCTORS`), so adding a conductor is one entry here, not new
 * states: `lib/constructs/deployments.ts` builds each entry's function from its handler folder,
 * wires its environment and grants, and registers it. The recipe is in docs/conductors.md,
 * "How to add a conductor".
 *
 * @module
 */
import { fileURLToPath } from 'node:url';
import { Arn, ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, Grant, type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { BucketGrants, type IBucket } from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import { type ConductorRegistration, lambdaConductorName } from '../core/deployments/types.ts';
import { workspaceRolePath } from '../domain/data-plane-roles.ts';
import { EnvNames } from '../domain/env.ts';
import { conductorNamePattern } from '../domain/names.ts';
import { codeKeyPrefix } from './constructs/artifacts-bucket.ts';
import type { GrecoFunction } from './constructs/greco-function.ts';
import {
  conductorFunctionStatements,
  type DataPlaneBoundary,
  grantWorkspaceRoles,
} from './managed-functions-iam.ts';
import { nagReference, sharedNagReasons } from './nag.ts';

/**
 * Lambda's maximum function timeout, 900 s (Lambda quotas, "Function timeout"). A conductor works
 * in batches of at most its remaining time minus a margin and returns `done: false` to be called
 * again, so a long timeout means fewer, larger batches and a shorter execution history.
 */
export const conductorTimeout = Duration.minutes(15);

/** Default Lambda API rate of the Lambda conductor, in requests per second: below the account's 15/s (Lambda quotas, "Control plane API requests"), leaving the rest to the hot path. */
export const defaultConductorRateLimit = 10;

/** What a conductor's `configure` may grant access to and wire into its environment. */
export interface ConductorResources {
  /** The config table (change items, progress items, epochs). */
  readonly table: ITable;
  /** The code zips, `code/<sha256>.zip`. */
  readonly artifactsBucket: IBucket;
  /** Epoch snapshots and markers (read by conductors that honour the retention). */
  readonly snapshotsBucket: IBucket;
  /** The shared execution role of data-plane functions: the fallback of {@link dataPlaneBoundary}. */
  readonly dataPlaneRole: IRole;
  /**
   * The permissions boundary of the per-workspace execution roles the Lambda conductor creates.
   * @default - no per-workspace roles: every function runs under {@link dataPlaneRole}
   */
  readonly dataPlaneBoundary?: DataPlaneBoundary;
  /** Prefix of managed data-plane function names, `<prefix>-<workspace>-<name>`. */
  readonly managedPrefix: string;
  /** The Lambda conductor's own Lambda API rate, in requests per second. */
  readonly conductorRateLimit: number;
}

/** One conductor of the registry: its name, its handler and the permissions it needs. */
export interface ConductorDefinition {
  /** Registry name, `[a-z][a-z0-9-]*`: `ConductorRegistration.name`, the `RESULT#<conductor>#` key. */
  readonly name: string;
  /** The handler folder under `lambdas/` (its `index.ts` exports `handler`). */
  readonly handler: string;
  /** What the function does, shown in the Lambda console. */
  readonly description: string;
  /** Memory in MiB (128..10240, Lambda quotas). */
  readonly memoryMiB: number;
  /** Environment variables the conductor reads beyond the table name, by `EnvNames`. */
  environment(resources: ConductorResources): Record<string, string>;
  /** Grants the conductor's function what it needs, by `grantXxx` or statements with written reasons. */
  configure(fn: GrecoFunction, resources: ConductorResources): void;
}

/**
 * Lambda API actions the Lambda conductor calls on managed functions (`function:<prefix>-*` and
 * their versions and aliases `:*`), and nothing else: prepare (create, update, wait, publish),
 * commit (alias, concurrency and its tag through `applyCommittedConcurrency`), abort (delete
 * versions and functions). `GetFunction` returns tags only with `lambda:ListTags` (Lambda Developer
 * Guide, "Using tags on Lambda functions").
 */
export const lambdaConductorFunctionActions = [
  'lambda:CreateFunction',
  'lambda:GetFunction',
  'lambda:GetFunctionConfiguration',
  'lambda:UpdateFunctionCode',
  'lambda:UpdateFunctionConfiguration',
  'lambda:PublishVersion',
  'lambda:ListVersionsByFunction',
  'lambda:DeleteFunction',
  'lambda:CreateAlias',
  'lambda:GetAlias',
  'lambda:UpdateAlias',
  'lambda:DeleteAlias',
  'lambda:ListAliases',
  'lambda:GetFunctionConcurrency',
  'lambda:PutFunctionConcurrency',
  'lambda:DeleteFunctionConcurrency',
  'lambda:TagResource',
  'lambda:UntagResource',
  'lambda:ListTags',
] as const;

/** The Lambda conductor: stages, votes on, commits and aborts changes of managed Lambda functions. */
export const lambdaConductor: ConductorDefinition = {
  name: lambdaConductorName,
  handler: 'lambda-conductor',
  description: 'greco Lambda conductor: prepare, commit and abort of managed data-plane functions',
  memoryMiB: 1024,
  environment: (resources) => ({
    [EnvNames.artifactsBucket]: resources.artifactsBucket.bucketName,
    [EnvNames.snapshotsBucket]: resources.snapshotsBucket.bucketName,
    [EnvNames.dataPlaneRoleArn]: resources.dataPlaneRole.roleArn,
    [EnvNames.managedPrefix]: resources.managedPrefix,
    [EnvNames.conductorRateLimit]: String(resources.conductorRateLimit),
    ...(resources.dataPlaneBoundary === undefined
      ? {}
      : { [EnvNames.dataPlaneBoundaryArn]: resources.dataPlaneBoundary.policy.managedPolicyArn }),
  }),
  configure(fn, resources) {
    const stack = Stack.of(fn);
    resources.table.grantReadWriteData(fn.function);

    const managed = Arn.format(
      {
        service: 'lambda',
        resource: 'function',
        resourceName: `${resources.managedPrefix}-*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      },
      stack,
    );
    // Tag conditions keep IAM itself to greco's functions, not only the prefix (lib/managed-functions-iam.ts).
    for (const statement of conductorFunctionStatements(
      [managed, `${managed}:*`],
      lambdaConductorFunctionActions,
    )) {
      fn.function.addToRolePolicy(statement);
    }
    fn.function.addToRolePolicy(
      new PolicyStatement({
        sid: 'AccountSettings',
        effect: Effect.ALLOW,
        actions: ['lambda:GetAccountSettings'],
        resources: ['*'],
      }),
    );
    fn.function.addToRolePolicy(
      new PolicyStatement({
        sid: 'PassDataPlaneRoleToLambdaOnly',
        effect: Effect.ALLOW,
        actions: ['iam:PassRole'],
        resources: [resources.dataPlaneRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' } },
      }),
    );
    // One execution role per workspace, created at run time with the boundary (domain/data-plane-roles.ts).
    if (resources.dataPlaneBoundary !== undefined) {
      grantWorkspaceRoles(fn.function, {
        managedPrefix: resources.managedPrefix,
        boundary: resources.dataPlaneBoundary,
      });
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/${workspaceRolePath(resources.managedPrefix).slice(1)}*]`,
        reason:
          'One execution role per workspace, created at run time as workspaces appear: the grant covers the roles under ' +
          'the /greco/<prefix>/workspaces/ path only; CreateRole and PutRolePolicy only with the data-plane permissions ' +
          'boundary, PassRole only to Lambda, GetRole read-only.',
      });
    }
    // Code zips: GetObject on code/* only. Snapshots: GetObject (retention). ListBucket on both, so that
    // a missing object answers 404 (CODE_MISSING) rather than 403 (S3 API Reference, GetObject).
    const codeObjects = `${codeKeyPrefix}*`;
    BucketGrants.fromBucket(resources.artifactsBucket).actionsOnObjectKeys(
      fn.function,
      codeObjects,
      's3:GetObject',
    );
    BucketGrants.fromBucket(resources.snapshotsBucket).actionsOnObjectKeys(fn.function, '*', 's3:GetObject');
    Grant.addToPrincipal({
      grantee: fn.function,
      actions: ['s3:ListBucket'],
      resourceArns: [resources.artifactsBucket.bucketArn, resources.snapshotsBucket.bucketArn],
    });

    Validations.of(fn.role).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:${resources.managedPrefix}-*]`,
        reason: sharedNagReasons.managedFunctions,
      },
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:${resources.managedPrefix}-*:*]`,
        reason:
          'Versions and aliases of the managed functions only (PublishVersion, the live alias, DeleteFunction of a ' +
          'version): qualified ARNs function:<name>:<qualifier> within the managed prefix.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::${nagReference(fn, resources.artifactsBucket.bucketArn)}/${codeObjects}]`,
        reason: sharedNagReasons.codeObjects,
      },
      {
        id: `AwsSolutions-IAM5[Resource::${nagReference(fn, resources.snapshotsBucket.bucketArn)}/*]`,
        reason: sharedNagReasons.snapshotObjects,
      },
    );
  },
};

/** The registry: every conductor a deployment runs. The Lambda conductor is the first. */
export const conductorRegistry: readonly ConductorDefinition[] = [lambdaConductor];

/**
 * Checks a registry: names match `conductorNamePattern` (domain/names.ts: `[a-z][a-z0-9-]`, 1 to 32
 * characters, as the deployment steps require of `GRECO_CONDUCTORS`) and are unique.
 * @throws Error naming the bad or repeated name.
 */
export function validateConductorRegistry(registry: readonly ConductorDefinition[]): void {
  if (registry.length === 0)
    throw new Error('the conductor registry must list at least one conductor, got []');
  const seen = new Set<string>();
  for (const conductor of registry) {
    if (!conductorNamePattern.test(conductor.name)) {
      throw new Error(
        `conductor name must match ${conductorNamePattern}, got ${JSON.stringify(conductor.name)}`,
      );
    }
    if (seen.has(conductor.name))
      throw new Error(`conductor name ${JSON.stringify(conductor.name)} is registered twice`);
    seen.add(conductor.name);
  }
}

/**
 * The value of `GRECO_CONDUCTORS`: the registrations as a JSON array (tokens resolve at deploy time).
 *
 * @example
 * conductorsEnvironmentValue(stack, [{ name: 'lambda', functionArn: fn.functionArn }])
 * // '[{"name":"lambda","functionArn":"arn:aws:lambda:...:function:..."}]' once deployed
 */
export function conductorsEnvironmentValue(
  scope: IConstruct,
  registrations: readonly ConductorRegistration[],
): string {
  return Stack.of(scope).toJsonString(registrations.map(({ name, functionArn }) => ({ name, functionArn })));
}

/** Absolute path of a handler's entry, `lambdas/<handler>/index.ts`. */
export function handlerEntry(handler: string): string {
  return fileURLToPath(new URL(`../lambdas/${handler}/index.ts`, import.meta.url));
}
