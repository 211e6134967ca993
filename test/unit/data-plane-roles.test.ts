import { describe, expect, it } from 'vitest';
import {
  workspaceLogGroupName,
  workspaceRoleName,
  workspaceRolePath,
  workspaceRolePolicy,
  workspaceRoleTrustPolicy,
} from '../../domain/data-plane-roles.ts';
import { maxManagedPrefixLength, workspaceIdMaxLength } from '../../domain/names.ts';

const env = { partition: 'aws', region: 'eu-west-1', account: '123456789012' };

describe('per-workspace data-plane roles', () => {
  it('name the role, its path and its log group after the prefix and the workspace', () => {
    expect(workspaceRolePath('greco')).toBe('/greco/greco/workspaces/');
    expect(workspaceRoleName('greco', 'acme')).toBe('greco-ws-acme');
    expect(workspaceLogGroupName('greco', 'acme')).toBe('/greco/greco/workspaces/acme');
  });

  it("keep role names within IAM's 64 characters for the longest prefix and workspace id", () => {
    const name = workspaceRoleName('p'.repeat(maxManagedPrefixLength), 'w'.repeat(workspaceIdMaxLength));
    expect(name.length).toBeLessThanOrEqual(64);
  });

  it("let a workspace's role write its own log group and no other, not even a workspace with a longer id", () => {
    // Act
    const policy = workspaceRolePolicy(env, 'greco', 'acme');

    // Assess: the `:*` right after the group name leaves out /greco/greco/workspaces/acme-dev.
    expect(policy.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogGroup'],
        Resource: 'arn:aws:logs:eu-west-1:123456789012:log-group:/greco/greco/workspaces/acme',
      },
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: 'arn:aws:logs:eu-west-1:123456789012:log-group:/greco/greco/workspaces/acme:*',
      },
    ]);
  });

  it('are assumed by Lambda only', () => {
    expect(workspaceRoleTrustPolicy.Statement).toEqual([
      { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ]);
  });
});
