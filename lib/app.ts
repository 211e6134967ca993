import type { App } from 'aws-cdk-lib';
import { ControlPlaneStack } from './control-plane-stack.ts';
import { addNagChecks } from './nag.ts';

/** Construct id of the control-plane stack, and so its CloudFormation stack name: a contract. */
export const controlPlaneStackId = 'GrecoControlPlane';

/** The stacks of a greco app. The data-plane controller stack joins in a later part. */
export interface GrecoStacks {
  readonly controlPlane: ControlPlaneStack;
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
    description: 'greco control plane: management API, config table, artifacts bucket',
  });
  return { controlPlane };
}
