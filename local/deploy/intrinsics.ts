import { isObject } from '../../domain/objects.ts';
import { TemplateError } from './errors.ts';
import type { CfnTemplate } from './template.ts';

/**
 * What `{"Ref": "AWS::NoValue"}` resolves to: the property (or list element) holding it is
 * removed, as CloudFormation does.
 */
export const NoValue: unique symbol = Symbol('AWS::NoValue');

/** What a deployed resource answers to `Ref` and `Fn::GetAtt`. */
export interface DeployedReference {
  /** The value of `{"Ref": logicalId}`: a name, an id or an ARN, depending on the type. */
  readonly ref: string;
  /** The values of `{"Fn::GetAtt": [logicalId, name]}` by attribute name (e.g. `Arn`). */
  readonly attributes: Readonly<Record<string, unknown>>;
}

/** The stack a template is deployed as: names and pseudo parameter values. */
export interface StackScope {
  readonly stackName: string;
  readonly template: CfnTemplate;
  /** `AWS::Region`. */
  readonly region: string;
  /** `AWS::AccountId`, 12 digits. */
  readonly accountId: string;
  /** `AWS::Partition`. @default 'aws' */
  readonly partition?: string;
  /** `AWS::URLSuffix`. @default 'amazonaws.com' */
  readonly urlSuffix?: string;
  /** `AWS::StackId`. @default - `arn:<partition>:cloudformation:<region>:<account>:stack/<name>/local` */
  readonly stackId?: string;
  /** Values given for template `Parameters`, overriding their `Default`. @default - defaults only */
  readonly parameterValues?: Readonly<Record<string, string>>;
  /** Exports of the stacks deployed before this one (`Fn::ImportValue`), by export name. @default - none */
  readonly exports?: ReadonlyMap<string, unknown>;
}

/** Names of the pseudo parameters CloudFormation defines. */
const pseudoParameters = new Set([
  'AWS::Region',
  'AWS::AccountId',
  'AWS::Partition',
  'AWS::URLSuffix',
  'AWS::StackName',
  'AWS::StackId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
]);

/** True for `AWS::Region` and the other pseudo parameters. */
export function isPseudoParameter(name: string): boolean {
  return pseudoParameters.has(name);
}

/**
 * The names a `Fn::Sub` string refers to, as written: `Param`, `Resource.Attribute`,
 * `AWS::Region`; `${!Literal}` escapes are left out.
 */
export function subReferences(text: string): string[] {
  const names: string[] = [];
  for (const match of text.matchAll(/\$\{([^}]*)\}/g)) {
    const inner = match[1] ?? '';
    if (!inner.startsWith('!')) names.push(inner.trim());
  }
  return names;
}

type ParameterValue = { readonly value: unknown } | { readonly ssmName: string };

/**
 * Resolves CloudFormation intrinsic functions in a template's values against the resources
 * deployed so far.
 *
 * Supported: `Ref` (resources, parameters, pseudo parameters including `AWS::NoValue`),
 * `Fn::GetAtt` (both forms), `Fn::Join`, `Fn::Sub` (string and `[string, vars]` forms, `${!x}`
 * escapes), `Fn::Select`, `Fn::Split`, `Fn::If`, `Fn::FindInMap`, `Fn::ImportValue`,
 * `Fn::Base64`, `Fn::GetAZs`, `Fn::Length`, `Fn::ToJsonString`; in `Conditions`: `Fn::Equals`,
 * `Fn::And`, `Fn::Or`, `Fn::Not` and `Condition`. Parameters of type
 * `AWS::SSM::Parameter::Value<…>` (CDK's `BootstrapVersion`) resolve only if nothing but
 * `Rules` uses them: the local cloud has no Parameter Store.
 *
 * @example
 * const resolver = new IntrinsicResolver({ stackName: 'S', template, region: 'us-east-1', accountId: '000000000000' });
 * resolver.setResource('Table', { ref: 'S-Table-ABC', attributes: { Arn: 'arn:…' } });
 * resolver.resolve({ 'Fn::Sub': '${Table}-x' }, 'Outputs.X'); // 'S-Table-ABC-x'
 * @throws TemplateError for an unknown function, a malformed argument, or a reference to
 *   something that does not exist (yet), naming the path of the value.
 */
export class IntrinsicResolver {
  readonly scope: StackScope;
  /** Every condition of the template, evaluated once at construction. */
  readonly conditions: Readonly<Record<string, boolean>>;
  readonly #parameters = new Map<string, ParameterValue>();
  readonly #resources = new Map<string, DeployedReference>();

  constructor(scope: StackScope) {
    this.scope = scope;
    for (const [name, parameter] of Object.entries(scope.template.Parameters ?? {})) {
      this.#parameters.set(
        name,
        this.#parameterValue(name, parameter.Type, parameter.Default, parameter.AllowedValues),
      );
    }
    const conditions: Record<string, boolean> = {};
    const evaluating = new Set<string>();
    const definitions = scope.template.Conditions ?? {};
    const evaluateNamed = (name: string, path: string): boolean => {
      const known = conditions[name];
      if (known !== undefined) return known;
      if (!(name in definitions)) throw new TemplateError(`${path}: condition ${name} is not defined`);
      if (evaluating.has(name)) throw new TemplateError(`${path}: condition ${name} refers to itself`);
      evaluating.add(name);
      const value = this.#condition(definitions[name], `Conditions.${name}`, evaluateNamed);
      evaluating.delete(name);
      conditions[name] = value;
      return value;
    };
    for (const name of Object.keys(definitions)) evaluateNamed(name, `Conditions.${name}`);
    this.conditions = conditions;
  }

  /** Records what a deployed resource answers to `Ref` and `Fn::GetAtt`. */
  setResource(logicalId: string, reference: DeployedReference): void {
    this.#resources.set(logicalId, reference);
  }

  /** The reference recorded for `logicalId`, if it was deployed. */
  getResource(logicalId: string): DeployedReference | undefined {
    return this.#resources.get(logicalId);
  }

  /** False when the resource or output has a `Condition` that evaluated to false. */
  isConditionTrue(condition: string | undefined, path: string): boolean {
    if (condition === undefined) return true;
    const value = this.conditions[condition];
    if (value === undefined) throw new TemplateError(`${path}: condition ${condition} is not defined`);
    return value;
  }

  /**
   * Resolves every intrinsic function inside `value`. `AWS::NoValue` removes the property or
   * list element holding it; at the top level it gives `undefined`.
   *
   * @param path where `value` sits in the template, for error messages (e.g. `Resources.Fn.Properties`)
   */
  resolve(value: unknown, path: string): unknown {
    const resolved = this.#resolve(value, path);
    return resolved === NoValue ? undefined : resolved;
  }

  #parameterValue(
    name: string,
    type: string,
    defaultValue: unknown,
    allowed: readonly unknown[] | undefined,
  ): ParameterValue {
    const given = this.scope.parameterValues?.[name] ?? defaultValue;
    if (given === undefined) {
      throw new TemplateError(`Parameters.${name}: no value was given and the parameter has no Default`);
    }
    if (type.startsWith('AWS::SSM::Parameter::Value<')) return { ssmName: String(given) };
    if (allowed !== undefined && !allowed.map(String).includes(String(given))) {
      throw new TemplateError(
        `Parameters.${name}: ${JSON.stringify(given)} is not one of AllowedValues ${JSON.stringify(allowed)}`,
      );
    }
    if (type === 'CommaDelimitedList' || type.startsWith('List<')) {
      return { value: Array.isArray(given) ? given.map(String) : String(given).split(',') };
    }
    return { value: String(given) };
  }

  #condition(
    expression: unknown,
    path: string,
    evaluateNamed: (name: string, path: string) => boolean,
  ): boolean {
    if (typeof expression === 'boolean') return expression;
    if (!isObject(expression) || Object.keys(expression).length !== 1) {
      throw new TemplateError(
        `${path}: a condition must be one of Fn::Equals, Fn::And, Fn::Or, Fn::Not, Condition`,
      );
    }
    const [name, argument] = Object.entries(expression)[0] as [string, unknown];
    switch (name) {
      case 'Condition':
        if (typeof argument !== 'string')
          throw new TemplateError(`${path}: Condition takes a condition name`);
        return evaluateNamed(argument, path);
      case 'Fn::Equals': {
        const [left, right] = this.#arguments(name, argument, path, 2, 2);
        return sameValue(
          this.resolve(left, `${path}.Fn::Equals[0]`),
          this.resolve(right, `${path}.Fn::Equals[1]`),
        );
      }
      case 'Fn::And':
      case 'Fn::Or': {
        const operands = this.#arguments(name, argument, path, 2, 10);
        const values = operands.map((operand, index) =>
          this.#condition(operand, `${path}.${name}[${index}]`, evaluateNamed),
        );
        return name === 'Fn::And' ? values.every(Boolean) : values.some(Boolean);
      }
      case 'Fn::Not': {
        const [operand] = this.#arguments(name, argument, path, 1, 1);
        return !this.#condition(operand, `${path}.Fn::Not[0]`, evaluateNamed);
      }
      default:
        throw new TemplateError(`${path}: ${name} is not a condition function`);
    }
  }

  #arguments(name: string, argument: unknown, path: string, min: number, max: number): unknown[] {
    if (!Array.isArray(argument) || argument.length < min || argument.length > max) {
      const count = min === max ? `${min}` : `${min} to ${max}`;
      throw new TemplateError(
        `${path}: ${name} takes a list of ${count} elements, got ${JSON.stringify(argument)}`,
      );
    }
    return argument;
  }

  #resolve(value: unknown, path: string): unknown {
    if (Array.isArray(value)) {
      return value
        .map((element, index) => this.#resolve(element, `${path}[${index}]`))
        .filter((element) => element !== NoValue);
    }
    if (!isObject(value)) return value;
    const keys = Object.keys(value);
    const only = keys[0];
    if (keys.length === 1 && only !== undefined && (only === 'Ref' || only.startsWith('Fn::'))) {
      return this.#intrinsic(only, value[only], `${path}.${only}`);
    }
    const out: Record<string, unknown> = {};
    for (const [key, element] of Object.entries(value)) {
      const resolved = this.#resolve(element, `${path}.${key}`);
      if (resolved !== NoValue) out[key] = resolved;
    }
    return out;
  }

  #intrinsic(name: string, argument: unknown, path: string): unknown {
    switch (name) {
      case 'Ref': {
        const target = this.#resolve(argument, path);
        if (typeof target !== 'string')
          throw new TemplateError(`${path}: Ref takes a name, got ${JSON.stringify(target)}`);
        return this.#ref(target, path);
      }
      case 'Fn::GetAtt':
        return this.#getAtt(argument, path);
      case 'Fn::Join': {
        const [delimiter, list] = this.#arguments(name, argument, path, 2, 2);
        if (typeof delimiter !== 'string') throw new TemplateError(`${path}: the delimiter must be a string`);
        const items = this.#resolve(list, `${path}[1]`);
        if (!Array.isArray(items))
          throw new TemplateError(`${path}: the second element must resolve to a list`);
        return items.map((item, index) => text(item, `${path}[1][${index}]`)).join(delimiter);
      }
      case 'Fn::Sub':
        return this.#sub(argument, path);
      case 'Fn::Select': {
        const [rawIndex, rawList] = this.#arguments(name, argument, path, 2, 2);
        const index = Number(this.#resolve(rawIndex, `${path}[0]`));
        const list = this.#resolve(rawList, `${path}[1]`);
        if (!Array.isArray(list))
          throw new TemplateError(`${path}: the second element must resolve to a list`);
        if (!Number.isInteger(index) || index < 0 || index >= list.length) {
          throw new TemplateError(
            `${path}: index ${String(rawIndex)} is out of range for a list of ${list.length}`,
          );
        }
        return list[index];
      }
      case 'Fn::Split': {
        const [delimiter, source] = this.#arguments(name, argument, path, 2, 2);
        if (typeof delimiter !== 'string') throw new TemplateError(`${path}: the delimiter must be a string`);
        return text(this.#resolve(source, `${path}[1]`), `${path}[1]`).split(delimiter);
      }
      case 'Fn::If': {
        const [condition, whenTrue, whenFalse] = this.#arguments(name, argument, path, 3, 3);
        if (typeof condition !== 'string')
          throw new TemplateError(`${path}: the first element must be a condition name`);
        return this.isConditionTrue(condition, path)
          ? this.#resolve(whenTrue, `${path}[1]`)
          : this.#resolve(whenFalse, `${path}[2]`);
      }
      case 'Fn::FindInMap': {
        const [map, top, second] = this.#arguments(name, argument, path, 3, 3).map((element, index) =>
          text(this.#resolve(element, `${path}[${index}]`), `${path}[${index}]`),
        ) as [string, string, string];
        const found = this.scope.template.Mappings?.[map]?.[top]?.[second];
        if (found === undefined)
          throw new TemplateError(`${path}: Mappings.${map}.${top}.${second} does not exist`);
        return found;
      }
      case 'Fn::ImportValue': {
        const exportName = text(this.#resolve(argument, path), path);
        const exports = this.scope.exports ?? new Map<string, unknown>();
        if (!exports.has(exportName)) {
          throw new TemplateError(
            `${path}: no stack deployed before ${this.scope.stackName} exports ${exportName}`,
          );
        }
        return exports.get(exportName);
      }
      case 'Fn::Base64':
        return Buffer.from(text(this.#resolve(argument, path), path)).toString('base64');
      case 'Fn::GetAZs': {
        const region = this.#resolve(argument, path);
        const name = typeof region === 'string' && region !== '' ? region : this.scope.region;
        return ['a', 'b', 'c'].map((zone) => `${name}${zone}`);
      }
      case 'Fn::Length': {
        const list = this.#resolve(argument, path);
        if (!Array.isArray(list)) throw new TemplateError(`${path}: Fn::Length takes a list`);
        return list.length;
      }
      case 'Fn::ToJsonString':
        return JSON.stringify(this.#resolve(argument, path));
      case 'Fn::Equals':
      case 'Fn::And':
      case 'Fn::Or':
      case 'Fn::Not':
        throw new TemplateError(`${path}: ${name} is only valid in Conditions`);
      default:
        throw new TemplateError(`${path}: intrinsic function ${name} is not supported by the local cloud`);
    }
  }

  #ref(name: string, path: string): unknown {
    if (isPseudoParameter(name)) return this.#pseudo(name);
    const parameter = this.#parameters.get(name);
    if (parameter !== undefined) {
      if ('ssmName' in parameter) {
        throw new TemplateError(
          `${path}: parameter ${name} is read from SSM Parameter Store (${parameter.ssmName}), which the local cloud does not have`,
        );
      }
      return parameter.value;
    }
    return this.#deployed(name, path).ref;
  }

  #pseudo(name: string): unknown {
    const partition = this.scope.partition ?? 'aws';
    switch (name) {
      case 'AWS::Region':
        return this.scope.region;
      case 'AWS::AccountId':
        return this.scope.accountId;
      case 'AWS::Partition':
        return partition;
      case 'AWS::URLSuffix':
        return this.scope.urlSuffix ?? 'amazonaws.com';
      case 'AWS::StackName':
        return this.scope.stackName;
      case 'AWS::StackId':
        return (
          this.scope.stackId ??
          `arn:${partition}:cloudformation:${this.scope.region}:${this.scope.accountId}:stack/${this.scope.stackName}/local`
        );
      case 'AWS::NotificationARNs':
        return [];
      default:
        return NoValue;
    }
  }

  #deployed(logicalId: string, path: string): DeployedReference {
    const found = this.#resources.get(logicalId);
    if (found !== undefined) return found;
    const declared = this.scope.template.Resources?.[logicalId];
    if (declared === undefined) {
      throw new TemplateError(
        `${path}: ${logicalId} is neither a resource nor a parameter of ${this.scope.stackName}`,
      );
    }
    if (!this.isConditionTrue(declared.Condition, path)) {
      throw new TemplateError(
        `${path}: ${logicalId} is not created (its condition ${declared.Condition} is false)`,
      );
    }
    throw new TemplateError(`${path}: ${logicalId} is not deployed yet`);
  }

  #getAtt(argument: unknown, path: string): unknown {
    let logicalId: unknown;
    let attribute: unknown;
    if (typeof argument === 'string') {
      const dot = argument.indexOf('.');
      if (dot < 1)
        throw new TemplateError(`${path}: expected "LogicalId.Attribute", got ${JSON.stringify(argument)}`);
      logicalId = argument.slice(0, dot);
      attribute = argument.slice(dot + 1);
    } else {
      [logicalId, attribute] = this.#arguments('Fn::GetAtt', argument, path, 2, 2);
      attribute = this.#resolve(attribute, `${path}[1]`);
    }
    if (typeof logicalId !== 'string' || typeof attribute !== 'string') {
      throw new TemplateError(`${path}: Fn::GetAtt takes a logical id and an attribute name`);
    }
    return this.#attribute(logicalId, attribute, path);
  }

  #attribute(logicalId: string, attribute: string, path: string): unknown {
    const resource = this.#deployed(logicalId, path);
    const value = resource.attributes[attribute];
    if (value === undefined) {
      const type = this.scope.template.Resources?.[logicalId]?.Type ?? 'resource';
      const known = Object.keys(resource.attributes).join(', ') || 'none';
      throw new TemplateError(
        `${path}: ${logicalId} (${type}) has no attribute ${attribute} in the local cloud (it has: ${known})`,
      );
    }
    return value;
  }

  #sub(argument: unknown, path: string): string {
    let template: unknown = argument;
    const variables: Record<string, unknown> = {};
    if (Array.isArray(argument)) {
      const [body, map] = this.#arguments('Fn::Sub', argument, path, 2, 2);
      if (!isObject(map)) throw new TemplateError(`${path}: the second element must be a map of variables`);
      for (const [name, raw] of Object.entries(map))
        variables[name] = this.#resolve(raw, `${path}[1].${name}`);
      template = body;
    }
    if (typeof template !== 'string') throw new TemplateError(`${path}: Fn::Sub takes a string`);
    return template.replace(/\$\{([^}]*)\}/g, (_whole, inner: string) => {
      if (inner.startsWith('!')) return `\${${inner.slice(1)}}`;
      const name = inner.trim();
      const where = `${path} \${${name}}`;
      if (name in variables) return text(variables[name], where);
      if (isPseudoParameter(name) || this.#parameters.has(name)) return text(this.#ref(name, where), where);
      const dot = name.indexOf('.');
      if (dot > 0) return text(this.#attribute(name.slice(0, dot), name.slice(dot + 1), where), where);
      return text(this.#ref(name, where), where);
    });
  }
}

/** A scalar as CloudFormation turns it into text inside Fn::Join and Fn::Sub. */
function text(value: unknown, path: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new TemplateError(
    `${path}: expected a string, got ${value === NoValue ? 'AWS::NoValue' : JSON.stringify(value)}`,
  );
}

function sameValue(left: unknown, right: unknown): boolean {
  if (typeof left !== 'object' && typeof right !== 'object') return String(left) === String(right);
  return JSON.stringify(left) === JSON.stringify(right);
}
