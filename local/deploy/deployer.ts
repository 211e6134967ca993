import type { AssemblyStack, CloudAssembly } from './assembly.ts';
import { LocalDeployError, ResourceCreateError, UnsupportedResourceError } from './errors.ts';
import { IntrinsicResolver } from './intrinsics.ts';
import { PhysicalNames } from './names.ts';
import { dependencyOrder, resourceDependencies, runInDependencyOrder } from './order.ts';
import { type StartedHttpApi, startHttpApis } from './provision/http-api.ts';
import { provisioners } from './provision/index.ts';
import type { DeployServices, RunningHttpEndpoint, StackDeployState } from './provision/types.ts';

/** One deployed resource: what CloudFormation would show as its physical id, and its attributes. */
export interface DeployedResource {
  readonly type: string;
  /** The value of `Ref`: a name, an id or an ARN, depending on the type (as CloudFormation). */
  readonly physicalId: string;
  /** The `Fn::GetAtt` attributes, e.g. `Arn`. */
  readonly attributes: Readonly<Record<string, unknown>>;
}

/** One deployed stack. */
export interface DeployedStack {
  readonly stackName: string;
  /** `Outputs`, resolved, by output name. */
  readonly outputs: Readonly<Record<string, unknown>>;
  /** Exported output values by export name. */
  readonly exports: Readonly<Record<string, unknown>>;
  /** Resources by logical id (resources whose `Condition` is false are absent, as in CloudFormation). */
  readonly resources: Readonly<Record<string, DeployedResource>>;
  /** The stack's HTTP APIs, started once all its resources were created. */
  readonly httpApis: readonly StartedHttpApi[];
}

/** Progress of {@link deployAssembly}, for the lines `npm start` prints. */
export interface StackDeployedEvent {
  readonly stackName: string;
  readonly resourceCount: number;
  /** Time the stack took, in milliseconds. */
  readonly elapsedMs: number;
}

/** Options of {@link deployAssembly}. */
export interface DeployOptions {
  readonly assembly: CloudAssembly;
  readonly services: DeployServices;
  /** @default - random CloudFormation-like suffixes */
  readonly names?: PhysicalNames;
  /** Resources created at the same time within a stack. @default 8 */
  readonly concurrency?: number;
  /** Called after each stack. @default - nothing */
  readonly onStackDeployed?: (event: StackDeployedEvent) => void;
}

/** What {@link deployAssembly} deployed, and how to stop the HTTP endpoints it started. */
export interface Deployment {
  /** By stack name, in deployment order. */
  readonly stacks: Readonly<Record<string, DeployedStack>>;
  /** Stops the HTTP APIs and function URLs started by the deploy. The emulators are not touched. */
  close(): Promise<void>;
}

/**
 * Refuses the assembly if any resource (in any stack) has a type, or a form of a type, that the
 * local cloud cannot run. Called before anything is created, so that a deploy never stops half
 * way on an unsupported type and nothing is skipped silently.
 *
 * @throws UnsupportedResourceError naming the stack, logical id and type of the first one found
 */
export function checkAssemblySupported(assembly: Pick<CloudAssembly, 'stacks'>): void {
  for (const stack of assembly.stacks) {
    for (const [logicalId, resource] of Object.entries(stack.template.Resources ?? {})) {
      const provisioner = provisioners[resource.Type];
      if (provisioner === undefined)
        throw new UnsupportedResourceError(stack.stackName, logicalId, resource.Type);
      const reason = provisioner.check?.(resource);
      if (reason !== undefined)
        throw new UnsupportedResourceError(stack.stackName, logicalId, resource.Type, reason);
    }
  }
}

/**
 * Deploys every stack of a cloud assembly into the local emulators, in dependency order: each
 * stack's resources are created once the resources they refer to exist (several at a time, as
 * CloudFormation does), with intrinsics resolved against what was created; then its HTTP APIs
 * start and its outputs and exports are resolved.
 *
 * @throws UnsupportedResourceError before anything is created, for a type the local cloud cannot run
 * @throws TemplateError for an intrinsic that cannot be resolved
 * @throws ResourceCreateError when an emulator refuses a resource (its error is the `cause`)
 */
export async function deployAssembly(options: DeployOptions): Promise<Deployment> {
  checkAssemblySupported(options.assembly);
  const names = options.names ?? new PhysicalNames();
  const exports = new Map<string, unknown>();
  const endpoints: RunningHttpEndpoint[] = [];
  const urlRewrites = new Map<string, string>();
  const stacks: Record<string, DeployedStack> = {};
  const close = async (): Promise<void> => {
    const open = endpoints.splice(0);
    await Promise.all(open.map((endpoint) => endpoint.close()));
  };
  try {
    for (const stack of options.assembly.stacks) {
      const started = Date.now();
      const deployed = await deployStack(stack, { ...options, names, exports, endpoints, urlRewrites });
      stacks[stack.stackName] = deployed;
      options.onStackDeployed?.({
        stackName: stack.stackName,
        resourceCount: Object.keys(deployed.resources).length,
        elapsedMs: Date.now() - started,
      });
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { stacks, close };
}

interface StackContext extends DeployOptions {
  readonly names: PhysicalNames;
  readonly exports: Map<string, unknown>;
  readonly endpoints: RunningHttpEndpoint[];
  readonly urlRewrites: Map<string, string>;
}

/** Replaces, inside every string of `value`, each AWS URL of a local endpoint by its local URL. */
export function rewriteUrls(value: unknown, rewrites: ReadonlyMap<string, string>): unknown {
  if (rewrites.size === 0) return value;
  if (typeof value === 'string') {
    let out = value;
    for (const [from, to] of rewrites) out = out.replaceAll(from, to);
    return out;
  }
  if (Array.isArray(value)) return value.map((element) => rewriteUrls(element, rewrites));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, element]) => [key, rewriteUrls(element, rewrites)]),
    );
  }
  return value;
}

async function deployStack(stack: AssemblyStack, context: StackContext): Promise<DeployedStack> {
  const { stackName, template } = stack;
  const { services } = context;
  const resolver = new IntrinsicResolver({
    stackName,
    template,
    region: services.region,
    accountId: services.accountId,
    parameterValues: stack.parameterValues,
    exports: context.exports,
  });
  const templateResources = template.Resources ?? {};
  const created = Object.keys(templateResources).filter((logicalId) =>
    resolver.isConditionTrue(templateResources[logicalId]?.Condition, `${stackName}: Resources.${logicalId}`),
  );
  // A dependency on a resource whose condition is false (e.g. in the untaken branch of Fn::If)
  // is dropped; a Ref that actually reaches it fails in the resolver with a clear message.
  const createdSet = new Set(created);
  const dependencies = new Map(
    [...resourceDependencies(template)]
      .filter(([logicalId]) => createdSet.has(logicalId))
      .map(([logicalId, needs]) => [logicalId, new Set([...needs].filter((need) => createdSet.has(need)))]),
  );
  const order = dependencyOrder(created, dependencies, `resources of ${stackName}`);
  const state: StackDeployState = {
    stackName,
    httpApis: new Map(),
    endpoints: context.endpoints,
    urlRewrites: context.urlRewrites,
  };
  const resolve = (value: unknown, path: string): unknown =>
    rewriteUrls(resolver.resolve(value, path), context.urlRewrites);
  const resources: Record<string, DeployedResource> = {};
  await runInDependencyOrder(
    order,
    dependencies,
    async (logicalId) => {
      const resource = templateResources[logicalId];
      if (resource === undefined) return;
      const provisioner = provisioners[resource.Type];
      if (provisioner === undefined) throw new UnsupportedResourceError(stackName, logicalId, resource.Type);
      const properties = resolver.resolve(
        resource.Properties ?? {},
        `${stackName}: Resources.${logicalId}.Properties`,
      );
      let reference: Awaited<ReturnType<typeof provisioner.provision>>;
      try {
        reference = await provisioner.provision({
          stackName,
          logicalId,
          resource,
          properties: properties as Record<string, unknown>,
          services,
          assembly: context.assembly,
          names: context.names,
          state,
        });
      } catch (error) {
        if (error instanceof LocalDeployError) throw error;
        throw new ResourceCreateError(stackName, logicalId, resource.Type, { cause: error });
      }
      resolver.setResource(logicalId, reference);
      resources[logicalId] = {
        type: resource.Type,
        physicalId: reference.ref,
        attributes: reference.attributes,
      };
    },
    context.concurrency ?? 8,
  );
  const httpApis = await startHttpApis(state, (spec) => services.startHttpEndpoint(spec));
  const outputs: Record<string, unknown> = {};
  const stackExports: Record<string, unknown> = {};
  for (const [name, output] of Object.entries(template.Outputs ?? {})) {
    const path = `${stackName}: Outputs.${name}`;
    if (!resolver.isConditionTrue(output.Condition, path)) continue;
    const value = resolve(output.Value, `${path}.Value`);
    outputs[name] = value;
    if (output.Export !== undefined) {
      const exportName = String(resolver.resolve(output.Export.Name, `${path}.Export.Name`));
      if (context.exports.has(exportName)) {
        throw new LocalDeployError(`${path}: export ${exportName} is already exported by another stack`);
      }
      context.exports.set(exportName, value);
      stackExports[exportName] = value;
    }
  }
  return { stackName, outputs, exports: stackExports, resources, httpApis };
}
