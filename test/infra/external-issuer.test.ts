import type { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvNames } from '../../domain/env.ts';
import { ContextKeys } from '../../lib/config.ts';
import {
  type CfnResource,
  functionsByService,
  handlerFunction,
  type SynthesizedGreco,
  synthesizeGreco,
} from './support.ts';

// As with `cdk deploy -c greco:jwtIssuer=... -c greco:jwtAudience=... -c ...`.
const issuer = 'https://login.example.com/realms/platform';
let synthesized: SynthesizedGreco;
let template: Template;

beforeAll(() => {
  synthesized = synthesizeGreco({
    [ContextKeys.jwtIssuer]: issuer,
    [ContextKeys.jwtAudience]: 'greco-cli,greco-ci',
    [ContextKeys.managedPrefix]: 'acme',
    [ContextKeys.workspaceClaim]: 'tenant',
    [ContextKeys.rolesClaim]: 'groups',
  });
  template = synthesized.template;
});

afterAll(() => synthesized?.cleanup());

describe('with an external JWT issuer', () => {
  it('the authorizer accepts that issuer and audiences', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: { Issuer: issuer, Audience: ['greco-cli', 'greco-ci'] },
    });
  });

  it('still puts the authorizer on every route', () => {
    const authorizers = Object.keys(template.findResources('AWS::ApiGatewayV2::Authorizer'));
    expect(authorizers).toHaveLength(1);
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')) as CfnResource[];
    expect(routes.length).toBeGreaterThan(0);
    for (const route of routes) {
      expect(route.Properties).toMatchObject({
        AuthorizationType: 'JWT',
        AuthorizerId: { Ref: authorizers[0] },
      });
    }
  });

  it('creates no Cognito user pool and outputs the issuer only', () => {
    const types = Object.values(template.toJSON().Resources as Record<string, CfnResource>).map(
      (r) => r.Type,
    );
    expect(types.filter((t) => t.startsWith('AWS::Cognito::'))).toEqual([]);
    template.hasOutput('JwtIssuer', { Value: issuer });
    expect(Object.keys(template.findOutputs('*')).sort()).toEqual([
      'ApiUrl',
      'ArtifactsBucketName',
      'ConfigTableName',
      'DeploymentStateMachineArn',
      'EventBusName',
      'JwtIssuer',
      'SnapshotsBucketName',
    ]);
  });

  it('passes the managed prefix and claim names to every API handler', () => {
    const services = [...functionsByService(template).keys()].filter((service) => service.endsWith('-api'));
    expect(services).toHaveLength(4);
    for (const service of services) {
      expect(handlerFunction(template, service).environment).toMatchObject({
        [EnvNames.managedPrefix]: 'acme',
        [EnvNames.workspaceClaim]: 'tenant',
        [EnvNames.rolesClaim]: 'groups',
      });
    }
  });
});
