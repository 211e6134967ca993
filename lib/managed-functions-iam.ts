/**
 * IAM that keeps greco's principals to greco's own data-plane functions, by condition and not only
 * by name: the Lambda conductor and the hot-path controller act on a function named with the
 * managed prefix only when it carries the tag `greco:managed=true`, and the conductor may create
 * a function only with that tag (docs/security.md, "What IAM enforces").
 *
 * Which condition keys Lambda supports, per action (Service Authorization Reference, "Actions,
 * resources, and condition keys for AWS Lambda"): `aws:ResourceTag/${TagKey}` on every action on
 * a `function`, `function alias` or `function version` resource, the ones used here included
 * (tags live on the function, so an alias or version ARN is judged by its function's tags);
 * `aws:RequestTag/${TagKey}` only on `CreateFunction` and `TagResource`; `aws:TagKeys` only on
 * `CreateFunction`, `TagResource` and `UntagResource`. `GetAccountSettings` has no resource and no
 * condition key. A function being created has no tags yet, so `CreateFunction` is held by
 * `aws:RequestTag`, not `aws:ResourceTag`.
 *
 * @module
 */
import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import { Effect, type IGrantable, ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { workspaceLogGroupName, workspaceRolePath } from '../domain/data-plane-roles.ts';
import { GrecoTags } from '../domain/tags.ts';

/** `aws:ResourceTag/greco:managed = true`: the function is one greco manages. */
export const managedFunctionCondition = {
  StringEquals: { [`aws:ResourceTag/${GrecoTags.managed}`]: 'true' },
} as const;

/**
 * Lambda actions that read a function named with the managed prefix whatever its tags: the
 * conductor reads a function before it creates one, to veto a name taken by a function greco does
 * not manage (NAME_NOT_MANAGED), and the hot path answers 404 for such a function; both need to
 * see it, and its tags (`GetFunction` returns tags only with `lambda:ListTags`).
 */
export const prefixReadActions: readonly string[] = [
  'lambda:GetFunction',
  'lambda:GetFunctionConfiguration',
  'lambda:ListTags',
];

/**
 * The Lambda conductor's statements on managed functions, one per condition, from the list of
 * actions it calls (lib/conductors.ts):
 * - `ReadFunctionsWithManagedPrefix`: {@link prefixReadActions}, on the name prefix;
 * - `CreateManagedFunctionsOnly`: `CreateFunction`, and `TagResource` for its tags (Lambda
 *   authorizes tags on create as `TagResource`), only with `greco:managed=true`,
 *   `greco:workspace` and `greco:function` in the request, and never `greco:suspended`;
 * - `ManagedFunctionsOnly`: every other action, on functions tagged `greco:managed=true` only;
 * - `TagManagedFunctionsOnly`: `TagResource` on those functions, never of the hot path's
 *   `greco:suspended`, and of `greco:managed` only as `true`;
 * - `UntagManagedFunctionsOnly`: `UntagResource` on those functions, of user tags only (no
 *   `greco:` key).
 *
 * What IAM cannot tell apart: a `TagResource` that carries greco's three tags onto an existing
 * function of the prefix that greco does not manage looks like the tags of a `CreateFunction`. The
 * conductor never does it (it vetoes such a name, NAME_NOT_MANAGED); docs/security.md says so.
 *
 * @param resources - the managed functions and their qualified ARNs, `function:<prefix>-*` and `:*`
 * @param actions - every Lambda action the conductor calls on them
 */
export function conductorFunctionStatements(
  resources: readonly string[],
  actions: readonly string[],
): PolicyStatement[] {
  const of = (...names: string[]) => actions.filter((action) => names.includes(action));
  const reads = of(...prefixReadActions);
  const creates = of('lambda:CreateFunction');
  const tags = of('lambda:TagResource');
  const untags = of('lambda:UntagResource');
  const others = actions.filter((action) => ![...reads, ...creates, ...tags, ...untags].includes(action));
  const noSuspendedTag = { 'ForAllValues:StringNotEquals': { 'aws:TagKeys': [GrecoTags.suspended] } };
  const statement = (sid: string, statementActions: string[], conditions?: Record<string, unknown>) =>
    new PolicyStatement({
      sid,
      effect: Effect.ALLOW,
      actions: statementActions,
      resources: [...resources],
      ...(conditions === undefined ? {} : { conditions }),
    });
  return [
    statement('ReadFunctionsWithManagedPrefix', reads),
    statement('CreateManagedFunctionsOnly', creates.length > 0 ? [...creates, ...tags] : [], {
      StringEquals: { [`aws:RequestTag/${GrecoTags.managed}`]: 'true' },
      Null: {
        [`aws:RequestTag/${GrecoTags.workspace}`]: 'false',
        [`aws:RequestTag/${GrecoTags.functionName}`]: 'false',
      },
      ...noSuspendedTag,
    }),
    statement('ManagedFunctionsOnly', others, managedFunctionCondition),
    statement('TagManagedFunctionsOnly', tags, {
      ...managedFunctionCondition,
      StringEqualsIfExists: { [`aws:RequestTag/${GrecoTags.managed}`]: 'true' },
      ...noSuspendedTag,
    }),
    statement('UntagManagedFunctionsOnly', untags, {
      ...managedFunctionCondition,
      'ForAllValues:StringNotLike': { 'aws:TagKeys': ['greco:*'] },
    }),
  ].filter((s) => s.actions.length > 0);
}

/** Properties of {@link DataPlaneBoundary}. */
export interface DataPlaneBoundaryProps {
  /** Prefix of managed function names; the boundary covers `/greco/<prefix>/workspaces/*` log groups. */
  readonly managedPrefix: string;
}

/**
 * The permissions boundary of every per-workspace execution role the conductor creates
 * (domain/data-plane-roles.ts): at most create and write the workspace log groups of this
 * deployment. Whatever inline policy a role gets, its permissions stay within this.
 */
export class DataPlaneBoundary extends Construct {
  readonly policy: ManagedPolicy;

  constructor(scope: Construct, id: string, props: DataPlaneBoundaryProps) {
    super(scope, id);
    const groups = Stack.of(this).formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: `${workspaceLogGroupName(props.managedPrefix, '')}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.policy = new ManagedPolicy(this, 'Policy', {
      description: `Permissions boundary of greco's per-workspace data-plane roles (${workspaceRolePath(props.managedPrefix)}): workspace logs only`,
      statements: [
        new PolicyStatement({
          sid: 'WorkspaceLogGroupsOnly',
          effect: Effect.ALLOW,
          actions: ['logs:CreateLogGroup'],
          resources: [groups],
        }),
        new PolicyStatement({
          sid: 'WorkspaceLogStreamsOnly',
          effect: Effect.ALLOW,
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [`${groups}:*`],
        }),
      ],
    });
    Validations.of(this.policy).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:${workspaceLogGroupName(props.managedPrefix, '')}*]`,
        reason:
          'A permissions boundary, not a grant: it caps the per-workspace roles the conductor creates at run time, one per ' +
          'workspace, to the workspace log groups of this deployment (/greco/<prefix>/workspaces/<workspace>).',
      },
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:${workspaceLogGroupName(props.managedPrefix, '')}*:*]`,
        reason: 'Log streams of the workspace log groups only, as the boundary of the per-workspace roles.',
      },
    );
  }
}

/** Options of {@link grantWorkspaceRoles}. */
export interface WorkspaceRolesGrantOptions {
  /** Prefix of managed function names; the roles live under `/greco/<prefix>/workspaces/`. */
  readonly managedPrefix: string;
  /** The boundary every role must be created with. */
  readonly boundary: DataPlaneBoundary;
}

/**
 * Lets `grantee` (the Lambda conductor) create and keep per-workspace execution roles, and pass
 * them to Lambda: `iam:CreateRole` and `iam:PutRolePolicy` only under
 * `/greco/<prefix>/workspaces/` and only with the data-plane boundary (`iam:PermissionsBoundary`),
 * `iam:GetRole` of those roles, `iam:PassRole` of them to Lambda only. No delete, no boundary
 * change, no managed-policy attachment.
 *
 * Condition keys per action (Service Authorization Reference, "Actions, resources, and condition
 * keys for AWS Identity and Access Management"): `iam:PermissionsBoundary` is in the request
 * context of `CreateRole` (with `aws:RequestTag`, `aws:TagKeys`) and `PutRolePolicy` (the role's
 * boundary), not of `GetRole`, which has no condition key of its own and so gets a statement
 * without one (`ReadWorkspaceRoles`); `iam:PassedToService` is `PassRole`'s.
 */
export function grantWorkspaceRoles(grantee: IGrantable, options: WorkspaceRolesGrantOptions): void {
  const roles = Stack.of(options.boundary).formatArn({
    service: 'iam',
    region: '',
    resource: 'role',
    resourceName: `${workspaceRolePath(options.managedPrefix).slice(1)}*`,
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
  const withBoundary = {
    StringEquals: { 'iam:PermissionsBoundary': options.boundary.policy.managedPolicyArn },
  };
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'WorkspaceRolesWithBoundaryOnly',
      effect: Effect.ALLOW,
      actions: ['iam:CreateRole', 'iam:PutRolePolicy'],
      resources: [roles],
      conditions: withBoundary,
    }),
  );
  // GetRole has no `iam:PermissionsBoundary` in its request context: under that condition it
  // would always be denied. It reads roles of the workspace path only.
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'ReadWorkspaceRoles',
      effect: Effect.ALLOW,
      actions: ['iam:GetRole'],
      resources: [roles],
    }),
  );
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'PassWorkspaceRolesToLambdaOnly',
      effect: Effect.ALLOW,
      actions: ['iam:PassRole'],
      resources: [roles],
      conditions: { StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' } },
    }),
  );
}
