import { readFile } from 'node:fs/promises';
import {
  CreateEventBusCommand,
  PutRuleCommand,
  type PutRuleCommandInput,
  PutTargetsCommand,
  type Target,
} from '@aws-sdk/client-eventbridge';
import {
  CreateStateMachineCommand,
  ListStateMachinesCommand,
  type StateMachineType,
  UpdateStateMachineCommand,
} from '@aws-sdk/client-sfn';
import { isObject } from '../../../domain/objects.ts';
import { LocalDeployError } from '../errors.ts';
import { nameRules } from '../names.ts';
import type { ProvisionRequest, ResourceProvisioner } from './types.ts';

function isNamed(error: unknown, ...names: string[]): boolean {
  return error instanceof Error && names.includes(error.name);
}

/**
 * The Amazon States Language text of an AWS::StepFunctions::StateMachine: `DefinitionString`,
 * `Definition` (an object), or `DefinitionS3Location` naming an asset of the assembly (CDK's
 * `DefinitionBody.fromFile`); then every `${name}` of `DefinitionSubstitutions` replaced.
 */
export async function stateMachineDefinition(request: ProvisionRequest): Promise<string> {
  const { properties } = request;
  let definition: string;
  if (typeof properties.DefinitionString === 'string') {
    definition = properties.DefinitionString;
  } else if (isObject(properties.Definition)) {
    definition = JSON.stringify(properties.Definition);
  } else if (isObject(properties.DefinitionS3Location)) {
    const key = String(properties.DefinitionS3Location.Key);
    const asset = request.assembly.assetsByObjectKey.get(key);
    if (asset === undefined || asset.packaging !== 'file') {
      throw new LocalDeployError(
        `${request.stackName}/${request.logicalId}: DefinitionS3Location s3://${String(properties.DefinitionS3Location.Bucket)}/${key} is not a file asset of the cloud assembly`,
      );
    }
    definition = await readFile(asset.path, 'utf8');
  } else {
    throw new LocalDeployError(
      `${request.stackName}/${request.logicalId}: none of DefinitionString, Definition, DefinitionS3Location is set`,
    );
  }
  const substitutions = isObject(properties.DefinitionSubstitutions)
    ? properties.DefinitionSubstitutions
    : {};
  for (const [name, value] of Object.entries(substitutions)) {
    definition = definition.replaceAll(`\${${name}}`, String(value));
  }
  return definition;
}

/**
 * AWS::StepFunctions::StateMachine → CreateStateMachine on the Step Functions emulator (an
 * existing machine of that name gets UpdateStateMachine). `Ref` is the ARN. Accepted, not run
 * locally: LoggingConfiguration, TracingConfiguration, EncryptionConfiguration; the role is
 * recorded, not enforced.
 */
export const stateMachine: ResourceProvisioner = {
  async provision(request) {
    const { properties, services } = request;
    const sfn = services.clients.sfn;
    const name =
      typeof properties.StateMachineName === 'string'
        ? properties.StateMachineName
        : request.names.name(request.stackName, request.logicalId, nameRules.stateMachine);
    const definition = await stateMachineDefinition(request);
    const roleArn =
      typeof properties.RoleArn === 'string'
        ? properties.RoleArn
        : `arn:aws:iam::${services.accountId}:role/${request.stackName}-${request.logicalId}-role`;
    let arn: string;
    try {
      const created = await sfn.send(
        new CreateStateMachineCommand({
          name,
          definition,
          roleArn,
          type: (properties.StateMachineType as StateMachineType | undefined) ?? 'STANDARD',
        }),
      );
      arn = created.stateMachineArn ?? '';
    } catch (error) {
      if (!isNamed(error, 'StateMachineAlreadyExists')) throw error;
      const listed = await sfn.send(new ListStateMachinesCommand({}));
      arn = listed.stateMachines?.find((machine) => machine.name === name)?.stateMachineArn ?? '';
      await sfn.send(new UpdateStateMachineCommand({ stateMachineArn: arn, definition, roleArn }));
    }
    if (arn === '') arn = `arn:aws:states:${services.region}:${services.accountId}:stateMachine:${name}`;
    return { ref: arn, attributes: { Arn: arn, Name: name, StateMachineRevisionId: 'INITIAL' } };
  },
};

/** AWS::Events::EventBus → CreateEventBus. `Ref` is the name. Policies are not enforced locally. */
export const eventBus: ResourceProvisioner = {
  check(resource) {
    return resource.Properties?.EventSourceName === undefined
      ? undefined
      : 'partner event buses (EventSourceName) are not supported by the local cloud';
  },
  async provision(request) {
    const { properties, services } = request;
    const name = String(properties.Name);
    let arn = `arn:aws:events:${services.region}:${services.accountId}:event-bus/${name}`;
    try {
      const created = await services.clients.eventbridge.send(new CreateEventBusCommand({ Name: name }));
      arn = created.EventBusArn ?? arn;
    } catch (error) {
      if (!isNamed(error, 'ResourceAlreadyExistsException')) throw error;
    }
    return { ref: name, attributes: { Arn: arn, Name: name } };
  },
};

const targetFields = [
  'Id',
  'Arn',
  'RoleArn',
  'Input',
  'InputPath',
  'InputTransformer',
  'RetryPolicy',
  'DeadLetterConfig',
  'SqsParameters',
  'HttpParameters',
] as const;

/**
 * AWS::Events::Rule → PutRule (pattern or schedule) and PutTargets on the EventBridge emulator.
 * `Ref` is the rule name, or `<bus>|<rule>` on a custom bus, as CloudFormation returns.
 */
export const eventRule: ResourceProvisioner = {
  async provision(request) {
    const { properties, services } = request;
    const eventbridge = services.clients.eventbridge;
    const name =
      typeof properties.Name === 'string'
        ? properties.Name
        : request.names.name(request.stackName, request.logicalId, nameRules.eventRule);
    const busName = typeof properties.EventBusName === 'string' ? properties.EventBusName : undefined;
    const pattern = properties.EventPattern;
    const input: PutRuleCommandInput = {
      Name: name,
      EventBusName: busName,
      EventPattern:
        pattern === undefined ? undefined : typeof pattern === 'string' ? pattern : JSON.stringify(pattern),
      ScheduleExpression: properties.ScheduleExpression as string | undefined,
      State: (properties.State as PutRuleCommandInput['State']) ?? 'ENABLED',
      Description: properties.Description as string | undefined,
    };
    const put = await eventbridge.send(new PutRuleCommand(input));
    const targets = (Array.isArray(properties.Targets) ? properties.Targets : [])
      .filter(isObject)
      .map((target) => {
        const picked: Record<string, unknown> = {};
        for (const field of targetFields) if (target[field] !== undefined) picked[field] = target[field];
        return picked as unknown as Target;
      });
    if (targets.length > 0) {
      const result = await eventbridge.send(
        new PutTargetsCommand({ Rule: name, EventBusName: busName, Targets: targets }),
      );
      if ((result.FailedEntryCount ?? 0) > 0) {
        const first = result.FailedEntries?.[0];
        throw new LocalDeployError(
          `${request.stackName}/${request.logicalId}: PutTargets failed for ${first?.TargetId}: ${first?.ErrorCode} ${first?.ErrorMessage}`,
        );
      }
    }
    const busShortName = busName?.includes('/') ? busName.slice(busName.lastIndexOf('/') + 1) : busName;
    const custom = busShortName !== undefined && busShortName !== 'default';
    const arn =
      put.RuleArn ??
      `arn:aws:events:${services.region}:${services.accountId}:rule/${custom ? `${busShortName}/` : ''}${name}`;
    return { ref: custom ? `${busShortName}|${name}` : name, attributes: { Arn: arn } };
  },
};
