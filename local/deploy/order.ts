import { isObject } from '../../domain/objects.ts';
import { DependencyCycleError, TemplateError } from './errors.ts';
import { isPseudoParameter, subReferences } from './intrinsics.ts';
import type { CfnTemplate } from './template.ts';

/**
 * The logical ids of resources that `value` refers to through `Ref`, `Fn::GetAtt` and
 * `Fn::Sub` (both forms). Parameters and pseudo parameters are not resources and are left out.
 */
export function referencedResources(value: unknown, resourceIds: ReadonlySet<string>): Set<string> {
  const found = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const element of node) visit(element);
      return;
    }
    if (!isObject(node)) return;
    const keys = Object.keys(node);
    if (keys.length === 1) {
      const argument = node[keys[0] as string];
      if (keys[0] === 'Ref' && typeof argument === 'string') {
        if (resourceIds.has(argument)) found.add(argument);
        return;
      }
      if (keys[0] === 'Fn::GetAtt') {
        const target =
          typeof argument === 'string'
            ? argument.split('.')[0]
            : Array.isArray(argument)
              ? argument[0]
              : undefined;
        if (typeof target === 'string' && resourceIds.has(target)) found.add(target);
        if (Array.isArray(argument)) visit(argument.slice(1));
        return;
      }
      if (keys[0] === 'Fn::Sub') {
        const [body, variables] = Array.isArray(argument) ? argument : [argument, {}];
        const local = isObject(variables) ? new Set(Object.keys(variables)) : new Set<string>();
        if (typeof body === 'string') {
          for (const name of subReferences(body)) {
            if (local.has(name) || isPseudoParameter(name)) continue;
            const target = name.split('.')[0] as string;
            if (resourceIds.has(target)) found.add(target);
          }
        }
        visit(variables);
        return;
      }
    }
    for (const element of Object.values(node)) visit(element);
  };
  visit(value);
  return found;
}

/**
 * For each resource of `template`, the resources it must wait for: its `DependsOn` plus every
 * resource its properties refer to.
 *
 * @throws TemplateError when `DependsOn` names a resource the template does not have
 */
export function resourceDependencies(template: CfnTemplate): Map<string, Set<string>> {
  const resources = template.Resources ?? {};
  const ids = new Set(Object.keys(resources));
  const dependencies = new Map<string, Set<string>>();
  for (const [logicalId, resource] of Object.entries(resources)) {
    const needs = referencedResources(resource.Properties ?? {}, ids);
    const dependsOn = resource.DependsOn === undefined ? [] : [resource.DependsOn].flat();
    for (const name of dependsOn) {
      if (!ids.has(name))
        throw new TemplateError(`Resources.${logicalId}.DependsOn: ${name} is not a resource`);
      needs.add(name);
    }
    needs.delete(logicalId);
    dependencies.set(logicalId, needs);
  }
  return dependencies;
}

/**
 * Orders `ids` so that each comes after everything it depends on, keeping the given order
 * among independent ids (so the result is deterministic).
 *
 * @param what what the ids are, for the cycle error (`resources of GrecoControlPlane`)
 * @throws DependencyCycleError naming one cycle, when there is one
 */
export function dependencyOrder(
  ids: readonly string[],
  dependencies: ReadonlyMap<string, ReadonlySet<string>>,
  what: string,
): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): void => {
    const current = state.get(id);
    if (current === 'done') return;
    if (current === 'visiting') {
      throw new DependencyCycleError(what, [...stack.slice(stack.indexOf(id)), id]);
    }
    state.set(id, 'visiting');
    stack.push(id);
    for (const dependency of dependencies.get(id) ?? []) visit(dependency);
    stack.pop();
    state.set(id, 'done');
    order.push(id);
  };
  for (const id of ids) visit(id);
  return order;
}

/**
 * Runs `work` for every id once all of its dependencies have finished, up to `concurrency` at
 * a time, as CloudFormation creates independent resources in parallel. Stops starting new work
 * at the first failure, waits for what is running, and rethrows that failure.
 *
 * @param order ids in dependency order (from {@link dependencyOrder})
 */
export async function runInDependencyOrder(
  order: readonly string[],
  dependencies: ReadonlyMap<string, ReadonlySet<string>>,
  work: (id: string) => Promise<void>,
  concurrency: number,
): Promise<void> {
  const done = new Set<string>();
  const started = new Set<string>();
  const running = new Map<string, Promise<void>>();
  let failure: { error: unknown } | undefined;
  const ready = (id: string): boolean =>
    !started.has(id) && [...(dependencies.get(id) ?? [])].every((dependency) => done.has(dependency));
  while (done.size < order.length && failure === undefined) {
    for (const id of order) {
      if (running.size >= concurrency) break;
      if (!ready(id)) continue;
      started.add(id);
      running.set(
        id,
        work(id).then(
          () => {
            done.add(id);
            running.delete(id);
          },
          (error: unknown) => {
            failure ??= { error };
            running.delete(id);
          },
        ),
      );
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  await Promise.all(running.values());
  if (failure !== undefined) throw failure.error;
  if (done.size < order.length) {
    const stuck = order.filter((id) => !done.has(id));
    throw new DependencyCycleError('work that never became ready', stuck);
  }
}
