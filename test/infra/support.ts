import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildGrecoApp, type GrecoStacks } from '../../lib/app.ts';

/** A synthesized greco app for template assertions; `cleanup()` removes its cloud assembly. */
export interface SynthesizedGreco {
  readonly app: App;
  readonly stacks: GrecoStacks;
  /** The control-plane template. Synthesizing it ran the cdk-nag packs: it exists only if they passed. */
  readonly template: Template;
  readonly cleanup: () => void;
}

/** The `context` of cdk.json: what `cdk synth` passes to the app. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

/**
 * Synthesizes the greco app the way `cdk synth -c key=value` does: cdk.json's context, then
 * `overrides` on top, into a temporary cloud assembly.
 */
export function synthesizeGreco(overrides: Record<string, unknown> = {}): SynthesizedGreco {
  const outdir = mkdtempSync(join(tmpdir(), 'greco-infra-'));
  const app = new App({ outdir, context: { ...cdkJsonContext(), ...overrides } });
  const stacks = buildGrecoApp(app);
  try {
    const template = Template.fromStack(stacks.controlPlane);
    return { app, stacks, template, cleanup: () => rmSync(outdir, { recursive: true, force: true }) };
  } catch (error) {
    rmSync(outdir, { recursive: true, force: true });
    throw error;
  }
}

/** A CloudFormation resource as in a template. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

/** The logical id of the only resource of `type`; fails when there is not exactly one. */
export function onlyLogicalId(template: Template, type: string, props?: object): string {
  const ids = Object.keys(
    template.findResources(type, props === undefined ? undefined : { Properties: props }),
  );
  if (ids.length !== 1)
    throw new Error(`expected exactly one ${type}, found ${ids.length}: ${ids.join(', ')}`);
  return ids[0] as string;
}

/** Lambda functions by their `POWERTOOLS_SERVICE_NAME` (functions-api, drafts-api, audit-api). */
export function functionsByService(template: Template): Map<string, { id: string; resource: CfnResource }> {
  const byService = new Map<string, { id: string; resource: CfnResource }>();
  for (const [id, resource] of Object.entries(template.findResources('AWS::Lambda::Function'))) {
    const props = (resource as CfnResource).Properties ?? {};
    const env = (props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    const service = env.POWERTOOLS_SERVICE_NAME;
    if (typeof service !== 'string') throw new Error(`function ${id} has no POWERTOOLS_SERVICE_NAME`);
    byService.set(service, { id, resource: resource as CfnResource });
  }
  return byService;
}

/** One IAM policy statement, with `Action` and `Resource` always as arrays. */
export interface Statement {
  readonly Effect: string;
  readonly Action: string[];
  readonly Resource: unknown[];
  readonly Condition?: unknown;
}

/** Every statement of the identity policies attached to role `roleId` (inline or AWS::IAM::Policy). */
export function roleStatements(template: Template, roleId: string): Statement[] {
  const statements: unknown[] = [];
  const role = template.findResources('AWS::IAM::Role')[roleId] as CfnResource | undefined;
  if (role === undefined) throw new Error(`no role ${roleId}`);
  for (const policy of (role.Properties?.Policies as { PolicyDocument: { Statement: unknown[] } }[]) ?? []) {
    statements.push(...policy.PolicyDocument.Statement);
  }
  for (const resource of Object.values(template.findResources('AWS::IAM::Policy'))) {
    const props = (resource as CfnResource).Properties ?? {};
    const roles = (props.Roles as unknown[]) ?? [];
    if (!roles.some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId }))) continue;
    statements.push(...(props.PolicyDocument as { Statement: unknown[] }).Statement);
  }
  return statements.map((raw) => {
    const s = raw as { Effect: string; Action: unknown; Resource: unknown; Condition?: unknown };
    return {
      Effect: s.Effect,
      Action: (Array.isArray(s.Action) ? s.Action : [s.Action]) as string[],
      Resource: Array.isArray(s.Resource) ? s.Resource : [s.Resource],
      ...(s.Condition === undefined ? {} : { Condition: s.Condition }),
    };
  });
}

/** `{ "Fn::GetAtt": [id, "Arn"] }`. */
export function arnOf(logicalId: string): unknown {
  return { 'Fn::GetAtt': [logicalId, 'Arn'] };
}

/** A handler function of the template, with the references tests follow. */
export interface HandlerFunction {
  readonly id: string;
  readonly properties: Record<string, unknown>;
  readonly environment: Record<string, unknown>;
  /** Logical id of its execution role. */
  readonly roleId: string;
  /** Logical id of its log group (`LoggingConfig.LogGroup`). */
  readonly logGroupId: string;
}

/** The handler whose `POWERTOOLS_SERVICE_NAME` is `service`; fails when there is none. */
export function handlerFunction(template: Template, service: string): HandlerFunction {
  const fn = functionsByService(template).get(service);
  if (fn === undefined) throw new Error(`no function with POWERTOOLS_SERVICE_NAME ${service}`);
  const properties = fn.resource.Properties ?? {};
  const environment = (properties.Environment as { Variables?: Record<string, unknown> } | undefined)
    ?.Variables;
  const role = properties.Role as { 'Fn::GetAtt'?: [string, string] } | undefined;
  const logGroup = (properties.LoggingConfig as { LogGroup?: { Ref?: string } } | undefined)?.LogGroup?.Ref;
  if (role?.['Fn::GetAtt'] === undefined) throw new Error(`function ${fn.id} has no role of this stack`);
  if (logGroup === undefined) throw new Error(`function ${fn.id} has no LoggingConfig.LogGroup`);
  return {
    id: fn.id,
    properties,
    environment: environment ?? {},
    roleId: role['Fn::GetAtt'][0],
    logGroupId: logGroup,
  };
}
