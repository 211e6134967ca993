import type { App } from 'aws-cdk-lib';
import { ControlPlaneStack } from './control-plane-stack.ts';
import { DataPlaneControllerStack } from './data-plane-controller-stack.ts';
import { addNagChecks } from './nag.ts';

/** Construct id of the control-plane stack, and so its CloudFormation stack name: a contract. */
export const controlPlaneStackId = 'GrecoControlPlane';

/** Construct id of the data-plane controller (hot path) stack: a contract. */
export const dataPlaneControllerStackId = 'GrecoDataPlaneController';

/** The stacks of a greco app. */
export interface GrecoStacks {
  readonly controlPlane: ControlPlaneStack;
  readonly dataPlaneController: DataPlaneControllerStack;
}

/**
 * Adds greco's stacks to `app` and the cdk-nag rule packs over all of them. Settings come from the
 * app's context (see lib/config.ts `ContextKeys`). Used by bin/greco.ts and by the infra tests, so
 * both synthesize the same app.
 *
 * @throws GrecoConfigError when a context value is invalid.
 * @example
 * const app = new App({ context: { 'greco:managedPrefix': 'acme' } });
 * const { controlPlane } = buildGrecoApp(app);
 */
export function buildGrecoApp(app: App): GrecoStacks {
  addNagChecks(app);
  const controlPlane = new ControlPlaneStack(app, controlPlaneStackId, {
    description:
      'greco control plane: management API, config table, buckets, deployment state machine, conductors, event bus',
  });
  const { config } = controlPlane;
  // With an external issuer both stacks get plain values and stay independent. With the default
  // Cognito pool the controller imports the pool's issuer and client id from the control plane
  // (a CloudFormation export): set greco:jwtIssuer/greco:jwtAudience to decouple them fully.
  const dataPlaneController = new DataPlaneControllerStack(app, dataPlaneControllerStackId, {
    description: 'greco data-plane controller: the hot path that starts and suspends managed functions',
    managedPrefix: config.managedPrefix,
    jwtIssuer: controlPlane.auth.jwtIssuer,
    jwtAudience: controlPlane.auth.jwtAudience,
    workspaceClaim: config.workspaceClaim,
    rolesClaim: config.rolesClaim,
  });
  return { controlPlane, dataPlaneController };
}
