import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvNames } from '../../domain/env.ts';
import { ControlPlaneMetrics } from '../../domain/metrics.ts';
import { functionsByService, handlerFunction, type SynthesizedGreco, synthesizeGreco } from './support.ts';

let greco: SynthesizedGreco;

beforeAll(() => {
  greco = synthesizeGreco();
});

afterAll(() => greco?.cleanup());

describe('observability of the functions', () => {
  it('gives every control-plane function its own service name and the control-plane metrics namespace', () => {
    // Act
    const byService = functionsByService(greco.template);

    // Assess
    expect([...byService.keys()]).toEqual(
      expect.arrayContaining([
        'functions-api',
        'drafts-api',
        'audit-api',
        'deployments-api',
        'deployment-steps',
        'lambda-conductor',
      ]),
    );
    for (const service of byService.keys()) {
      const variables = handlerFunction(greco.template, service).environment;
      expect(variables, service).toMatchObject({
        [EnvNames.serviceName]: service,
        [EnvNames.metricsNamespace]: ControlPlaneMetrics.namespace,
      });
    }
  });

  it('leaves the hot-path controller without a Powertools metrics namespace: it writes its own EMF lines', () => {
    // Act
    const controller = handlerFunction(
      Template.fromStack(greco.stacks.dataPlaneController),
      'hotpath-controller',
    );

    // Assess
    const variables = controller.environment;
    expect(variables).toHaveProperty(EnvNames.serviceName, 'hotpath-controller');
    expect(variables).not.toHaveProperty(EnvNames.metricsNamespace);
  });
});
