import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { ContextKeys, GrecoConfigError, readGrecoConfig } from '../../lib/config.ts';
import { cdkJsonContext } from './support.ts';

function configFrom(context: Record<string, unknown>) {
  return readGrecoConfig(new App({ context }).node);
}

describe('readGrecoConfig', () => {
  it('defaults to prefix greco, a Cognito issuer and the Cognito claims', () => {
    expect(configFrom({})).toEqual({
      managedPrefix: 'greco',
      jwt: { kind: 'cognito' },
      workspaceClaim: 'custom:workspace',
      rolesClaim: 'cognito:groups',
      accountConcurrency: 1000,
    });
  });

  it.each([
    [5000, 5000],
    ['5000', 5000],
    [100, 100],
    [10_000_099, 10_000_099],
  ])('reads the raised account concurrency quota %j', (value, quota) => {
    expect(configFrom({ [ContextKeys.accountConcurrency]: value }).accountConcurrency).toBe(quota);
  });

  it.each([
    [true, true],
    ['true', true],
    [false, undefined],
    ['false', undefined],
  ])('reads greco:twoPersonRule %j as %j (on only when true)', (value, on) => {
    expect(configFrom({ [ContextKeys.twoPersonRule]: value }).twoPersonRule).toBe(on);
  });

  it('refuses a greco:twoPersonRule that is not true or false', () => {
    expect(() => configFrom({ [ContextKeys.twoPersonRule]: 'yes' })).toThrow(GrecoConfigError);
  });

  it('gives the same settings from cdk.json as its code defaults', () => {
    expect(configFrom(cdkJsonContext())).toEqual(configFrom({}));
  });

  it('reads an external issuer with a comma-separated audience', () => {
    const config = configFrom({
      [ContextKeys.jwtIssuer]: 'https://login.example.com/realms/platform',
      [ContextKeys.jwtAudience]: 'greco-cli, greco-ci',
    });
    expect(config.jwt).toEqual({
      kind: 'external',
      issuer: 'https://login.example.com/realms/platform',
      audience: ['greco-cli', 'greco-ci'],
    });
  });

  it.each(['http://127.0.0.1:4706', 'http://localhost:4706'])(
    'accepts the local cloud issuer %s: http on a loopback host only',
    (issuer) => {
      const config = configFrom({ [ContextKeys.jwtIssuer]: issuer, [ContextKeys.jwtAudience]: 'greco' });
      expect(config.jwt).toEqual({ kind: 'external', issuer, audience: ['greco'] });
    },
  );

  it('reads an audience given as a JSON array in cdk.json', () => {
    const config = configFrom({
      [ContextKeys.jwtIssuer]: 'https://issuer.example.com',
      [ContextKeys.jwtAudience]: ['a', 'b'],
    });
    expect(config.jwt).toEqual({
      kind: 'external',
      issuer: 'https://issuer.example.com',
      audience: ['a', 'b'],
    });
  });

  it('treats blank values like absent ones', () => {
    expect(configFrom({ [ContextKeys.jwtIssuer]: ' ', [ContextKeys.jwtAudience]: '' })).toEqual(
      configFrom({}),
    );
  });

  it('reads the prefix and claim names', () => {
    const config = configFrom({
      [ContextKeys.managedPrefix]: 'acme2',
      [ContextKeys.workspaceClaim]: 'https://acme.example/tenant',
      [ContextKeys.rolesClaim]: 'groups',
    });
    expect(config).toMatchObject({
      managedPrefix: 'acme2',
      workspaceClaim: 'https://acme.example/tenant',
      rolesClaim: 'groups',
    });
  });

  it.each([
    [{ [ContextKeys.managedPrefix]: 'Greco' }, ContextKeys.managedPrefix, /"Greco"/],
    [{ [ContextKeys.managedPrefix]: '1greco' }, ContextKeys.managedPrefix, /"1greco"/],
    [{ [ContextKeys.managedPrefix]: 'gr-eco' }, ContextKeys.managedPrefix, /"gr-eco"/],
    [{ [ContextKeys.managedPrefix]: 'a'.repeat(17) }, ContextKeys.managedPrefix, /1 to 16/],
    [{ [ContextKeys.managedPrefix]: 7 }, ContextKeys.managedPrefix, /must be a string, got 7/],
    [{ [ContextKeys.jwtIssuer]: 'https://issuer.example.com' }, ContextKeys.jwtAudience, /is required when/],
    [{ [ContextKeys.jwtAudience]: 'cli' }, ContextKeys.jwtIssuer, /is required when/],
    [
      { [ContextKeys.jwtIssuer]: 'http://issuer.example.com', [ContextKeys.jwtAudience]: 'cli' },
      ContextKeys.jwtIssuer,
      /https URL, got "http:\/\/issuer.example.com"/,
    ],
    [
      { [ContextKeys.jwtIssuer]: 'not a url', [ContextKeys.jwtAudience]: 'cli' },
      ContextKeys.jwtIssuer,
      /got "not a url"/,
    ],
    [
      { [ContextKeys.jwtIssuer]: 'https://issuer.example.com', [ContextKeys.jwtAudience]: 'cli,,ci' },
      ContextKeys.jwtAudience,
      /empty audience/,
    ],
    [
      { [ContextKeys.jwtIssuer]: 'https://issuer.example.com', [ContextKeys.jwtAudience]: [] },
      ContextKeys.jwtAudience,
      /at least one audience/,
    ],
    [
      {
        [ContextKeys.jwtIssuer]: 'https://issuer.example.com',
        [ContextKeys.jwtAudience]: Array.from({ length: 51 }, (_, i) => `aud${i}`).join(','),
      },
      ContextKeys.jwtAudience,
      /at most 50 audiences, got 51/,
    ],
    [{ [ContextKeys.workspaceClaim]: 'custom workspace' }, ContextKeys.workspaceClaim, /without spaces/],
    [{ [ContextKeys.rolesClaim]: { name: 'groups' } }, ContextKeys.rolesClaim, /must be a string/],
    [
      { [ContextKeys.accountConcurrency]: 99 },
      ContextKeys.accountConcurrency,
      /from 100 to 10000099, got 99/,
    ],
    [
      { [ContextKeys.accountConcurrency]: 10_000_100 },
      ContextKeys.accountConcurrency,
      /from 100 to 10000099, got 10000100/,
    ],
    [{ [ContextKeys.accountConcurrency]: 1500.5 }, ContextKeys.accountConcurrency, /an integer/],
    [{ [ContextKeys.accountConcurrency]: '1e4' }, ContextKeys.accountConcurrency, /got "1e4"/],
  ])('refuses %j naming %s', (context, key, message) => {
    const read = () => configFrom(context);
    expect(read).toThrow(GrecoConfigError);
    expect(read).toThrow(message);
    try {
      read();
    } catch (error) {
      expect((error as GrecoConfigError).key).toBe(key);
      expect((error as GrecoConfigError).message.startsWith(`context ${key}: `)).toBe(true);
    }
  });
});
