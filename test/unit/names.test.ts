import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../domain/errors.ts';
import {
  conductorNamePattern,
  defaultManagedPrefix,
  functionNameCharactersPattern,
  lambdaFunctionNameMaxLength,
  lambdaFunctionNamePattern,
  managedFunctionName,
  managedPrefixPattern,
  maxFunctionNameLength,
  maxManagedPrefixLength,
  modelFunctionNamePattern,
  validateWorkspaceId,
  workspaceIdMaxLength,
  workspaceIdPattern,
} from '../../domain/names.ts';

describe('Lambda function names', () => {
  it("holds Lambda's 64-character limit", () => {
    expect(lambdaFunctionNameMaxLength).toBe(64);
  });

  it.each(['a', 'greco-acme-resize', 'A_b-1', 'x'.repeat(64)])('accepts the Lambda name %j', (name) => {
    expect(lambdaFunctionNamePattern.test(name)).toBe(true);
  });

  it.each(['', 'x'.repeat(65), 'a b', 'a/b', 'a:1', 'é', 'a.b'])('refuses the Lambda name %j', (name) => {
    expect(lambdaFunctionNamePattern.test(name)).toBe(false);
  });

  it.each(['resize', 'a_b', 'x-y-z', 'A1', 'x'.repeat(64)])('accepts the model name %j anywhere', (name) => {
    expect(modelFunctionNamePattern.test(name)).toBe(true);
  });

  it.each(['', 'x'.repeat(65), 'a/b', 'a b', '../x', 'é', 'a:1'])('refuses the model name %j', (name) => {
    expect(modelFunctionNamePattern.test(name)).toBe(false);
  });

  it('checks model name characters apart from their length', () => {
    expect(functionNameCharactersPattern.test('x'.repeat(100))).toBe(true);
    expect(functionNameCharactersPattern.test('')).toBe(false);
    expect(functionNameCharactersPattern.test('a#b')).toBe(false);
  });
});

describe('managed function names', () => {
  it('builds <prefix>-<workspace>-<name>', () => {
    expect(managedFunctionName('greco', 'acme', 'resize')).toBe('greco-acme-resize');
  });

  it.each([
    { prefix: 'greco', workspace: 'acme', max: 53 },
    { prefix: 'greco', workspace: 'w'.repeat(32), max: 25 },
    { prefix: 'p'.repeat(16), workspace: 'w'.repeat(32), max: 14 },
  ])('leaves $max characters of name for $prefix and $workspace', ({ prefix, workspace, max }) => {
    // Act
    const longest = managedFunctionName(
      prefix,
      workspace,
      'n'.repeat(maxFunctionNameLength(prefix, workspace)),
    );
    // Assess: the longest allowed name makes a Lambda name of exactly 64 characters.
    expect(maxFunctionNameLength(prefix, workspace)).toBe(max);
    expect(longest).toHaveLength(lambdaFunctionNameMaxLength);
    expect(lambdaFunctionNamePattern.test(longest)).toBe(true);
  });

  it('leaves room for a name with the longest prefix and workspace', () => {
    expect(
      maxFunctionNameLength('p'.repeat(maxManagedPrefixLength), 'w'.repeat(workspaceIdMaxLength)),
    ).toBeGreaterThan(0);
  });
});

describe('workspace ids', () => {
  it.each(['a', 'acme', 'team-7', 'a-', 'a'.repeat(32)])('accepts %j', (workspace) => {
    expect(workspaceIdPattern.test(workspace)).toBe(true);
    expect(() => validateWorkspaceId(workspace)).not.toThrow();
  });

  it.each([
    ['', 'must be 1 to 32 characters, got 0'],
    ['a'.repeat(33), 'must be 1 to 32 characters, got 33'],
    [
      '7team',
      'must start with a lowercase letter and contain only lowercase letters, digits and hyphens, got "7team"',
    ],
    [
      'Acme',
      'must start with a lowercase letter and contain only lowercase letters, digits and hyphens, got "Acme"',
    ],
    [
      'team_7',
      'must start with a lowercase letter and contain only lowercase letters, digits and hyphens, got "team_7"',
    ],
    [
      '-team',
      'must start with a lowercase letter and contain only lowercase letters, digits and hyphens, got "-team"',
    ],
    [
      'a#b',
      'must start with a lowercase letter and contain only lowercase letters, digits and hyphens, got "a#b"',
    ],
  ])('refuses %j with 400 naming the rule', (workspace, message) => {
    expect(workspaceIdPattern.test(workspace)).toBe(false);
    expect(() => validateWorkspaceId(workspace)).toThrow(ValidationError);
    expect(() => validateWorkspaceId(workspace)).toThrow(
      expect.objectContaining({
        name: 'ValidationError',
        status: 400,
        errors: [{ field: 'workspace', message }],
      }),
    );
  });
});

describe('managed prefixes', () => {
  it('defaults to greco, which is valid', () => {
    expect(defaultManagedPrefix).toBe('greco');
    expect(managedPrefixPattern.test(defaultManagedPrefix)).toBe(true);
  });

  it.each(['g', 'greco', 'acme2', 'p'.repeat(16)])('accepts %j', (prefix) => {
    expect(managedPrefixPattern.test(prefix)).toBe(true);
  });

  it.each(['', 'Greco', '2greco', 'gre-co', 'gre_co', 'p'.repeat(17)])('refuses %j', (prefix) => {
    expect(managedPrefixPattern.test(prefix)).toBe(false);
  });
});

describe('conductor names', () => {
  it.each(['lambda', 'a', 'step-functions', 'c'.repeat(32)])('accepts %j', (name) => {
    expect(conductorNamePattern.test(name)).toBe(true);
  });

  it.each(['', 'Lambda', '1lambda', 'a#b', 'a_b', 'c'.repeat(33)])('refuses %j', (name) => {
    expect(conductorNamePattern.test(name)).toBe(false);
  });
});
