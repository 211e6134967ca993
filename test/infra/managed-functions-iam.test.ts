/**
 * The building blocks of per-workspace execution roles (lib/managed-functions-iam.ts): the
 * permissions boundary, and what the conductor may do with roles, on a stack of their own.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { DataPlaneBoundary, grantWorkspaceRoles } from '../../lib/managed-functions-iam.ts';

let template: Template;
let boundaryId: string;

beforeAll(() => {
  const stack = new Stack(new App(), 'Roles');
  const boundary = new DataPlaneBoundary(stack, 'Boundary', { managedPrefix: 'acme' });
  const conductor = new Role(stack, 'Conductor', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
  grantWorkspaceRoles(conductor, { managedPrefix: 'acme', boundary });
  template = Template.fromStack(stack);
  boundaryId = Object.keys(template.findResources('AWS::IAM::ManagedPolicy'))[0] as string;
});

const rolesUnderPath = {
  'Fn::Join': [
    '',
    ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/greco/acme/workspaces/*'],
  ],
};

describe('grantWorkspaceRoles', () => {
  it('creates and writes the inline policy of roles under the workspace path only with the boundary', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'WorkspaceRolesWithBoundaryOnly',
            Effect: 'Allow',
            Action: ['iam:CreateRole', 'iam:PutRolePolicy'],
            Resource: rolesUnderPath,
            Condition: { StringEquals: { 'iam:PermissionsBoundary': { Ref: boundaryId } } },
          },
        ]),
      },
    });
  });

  it('reads roles under the workspace path without the boundary condition GetRole does not support', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'ReadWorkspaceRoles',
            Effect: 'Allow',
            Action: 'iam:GetRole',
            Resource: rolesUnderPath,
          },
        ]),
      },
    });
  });

  it('passes those roles to Lambda only', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'PassWorkspaceRolesToLambdaOnly',
            Effect: 'Allow',
            Action: 'iam:PassRole',
            Resource: rolesUnderPath,
            Condition: { StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' } },
          },
        ]),
      },
    });
  });

  it('grants no other IAM action: no delete, no boundary change, no managed-policy attachment', () => {
    const actions = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) =>
      (policy.Properties.PolicyDocument.Statement as { Action: string | string[] }[]).flatMap(
        (s) => s.Action,
      ),
    );
    expect(actions.sort()).toEqual(['iam:CreateRole', 'iam:GetRole', 'iam:PassRole', 'iam:PutRolePolicy']);
  });
});

describe('DataPlaneBoundary', () => {
  it("allows only the deployment's workspace log groups", () => {
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: [
          Match.objectLike({ Action: 'logs:CreateLogGroup', Resource: Match.anyValue() }),
          Match.objectLike({ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'] }),
        ],
      },
    });
    const document = JSON.stringify(template.findResources('AWS::IAM::ManagedPolicy'));
    expect(document).toContain(':log-group:/greco/acme/workspaces/*"');
    expect(document).toContain(':log-group:/greco/acme/workspaces/*:*"');
  });
});
