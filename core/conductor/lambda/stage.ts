/**
 * prepare of one change on Lambda, without touching `live`: CreateFunction (code from the
 * artifacts bucket, the workspace's execution role and log group (`roles.ts`), greco's tags,
 * `Publish: false`) or
 * UpdateFunctionCode / UpdateFunctionConfiguration (one at a time, waiting in between) and tags,
 * then PublishVersion with the expected `CodeSha256` and the deployment id in its `Description`.
 *
 * A re-run re-reads the data plane: a function whose `Description` names this deployment was
 * created by it, a version whose `Description` and code match was published by it, so nothing is
 * created or published twice.
 *
 * @module
 */
import {
  CreateFunctionCommand,
  type CreateFunctionCommandInput,
  type FunctionConfiguration,
  type GetFunctionCommandOutput,
  type LoggingConfig,
  PublishVersionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { workspaceLogGroupName } from '../../../domain/data-plane-roles.ts';
import { GrecoTags } from '../../../domain/tags.ts';
import type { ChangeItem } from '../../deployments/types.ts';
import { type FunctionSpec, Limits } from '../../spec.ts';
import type { StageCall } from '../kit/conductor.ts';
import { ChangeVetoError, TransientChangeError } from '../kit/errors.ts';
import { ConductorLambdaError, errorName, lambdaFailure } from './errors.ts';
import { findPublishedVersion, getFunction } from './functions.ts';
import { base64Sha256, createdDescription, versionDescription } from './names.ts';
import { workspaceRoleOfCall } from './roles.ts';
import type { LambdaSettings } from './settings.ts';
import { waitPublished, waitSettled } from './waiters.ts';

/**
 * Stages one change; updates `call.staging` as it goes (created, published, version). Deletes
 * stage nothing: the function stays for the retention.
 *
 * @throws ChangeVetoError (NAME_NOT_MANAGED, NAME_OTHER_WORKSPACE, LAMBDA_REJECTED, CODE_MISSING)
 * @throws TransientChangeError when Lambda does not answer usefully now
 * @throws ConductorLambdaError when Lambda refuses a call for a reason that is not the change's
 */
export async function stageFunction(
  settings: LambdaSettings,
  change: ChangeItem,
  call: StageCall,
): Promise<void> {
  const spec = change.spec;
  if (change.action === 'delete' || spec === undefined) return;
  const { lambda } = settings;
  const { deploymentId, staging } = call;
  const functionName = change.managedName;
  const execution = await executionOf(settings, call);
  let current = await getFunction(lambda, functionName);
  if (current !== undefined) {
    checkOwnership(call.workspace, change, current);
    if (current.Configuration?.Description === createdDescription(deploymentId)) staging.created = true;
  } else {
    try {
      await lambda.send(new CreateFunctionCommand(createInput(settings, execution, call, change, spec)));
      staging.created = true;
      await call.checkpoint();
    } catch (error) {
      if (errorName(error) !== 'ResourceConflictException')
        throw lambdaFailure('CreateFunction', change, error, settings.artifactsBucket);
      // Created meanwhile (a run that crashed, or another writer): inspect it like an existing one.
      current = await getFunction(lambda, functionName);
      if (current === undefined)
        throw new TransientChangeError(`${functionName} exists and does not`, { cause: error });
      checkOwnership(call.workspace, change, current);
      if (current.Configuration?.Description === createdDescription(deploymentId)) staging.created = true;
    }
  }
  await waitSettled(settings, call.deadline, change);
  if (current !== undefined) await update(settings, execution, call, change, spec, current);

  const expectedSha = base64Sha256(spec.code.sha256);
  const description = versionDescription(deploymentId);
  let version: string | undefined;
  if (call.rerun) version = await findPublishedVersion(lambda, functionName, description, expectedSha);
  if (version !== undefined) {
    staging.published = true;
  } else {
    try {
      const published = await lambda.send(
        new PublishVersionCommand({
          FunctionName: functionName,
          CodeSha256: expectedSha,
          Description: description,
        }),
      );
      version = published.Version;
      staging.published = published.Description === description;
    } catch (error) {
      throw lambdaFailure('PublishVersion', change, error, settings.artifactsBucket);
    }
  }
  if (version === undefined)
    throw new ConductorLambdaError(
      'PublishVersion',
      `PublishVersion answered without a Version for ${functionName}`,
    );
  staging.version = version;
  await waitPublished(settings, call.deadline, change, version);
}

/** Brings an existing function's `$LATEST` to the spec: code, then configuration, then tags. */
async function update(
  settings: LambdaSettings,
  execution: Execution,
  call: StageCall,
  change: ChangeItem,
  spec: FunctionSpec,
  current: GetFunctionCommandOutput,
): Promise<void> {
  const { lambda } = settings;
  const functionName = change.managedName;
  const config = current.Configuration ?? {};
  const architectures = config.Architectures ?? ['x86_64'];
  if (config.CodeSha256 !== base64Sha256(spec.code.sha256) || architectures[0] !== spec.architecture) {
    try {
      await lambda.send(
        new UpdateFunctionCodeCommand({
          FunctionName: functionName,
          S3Bucket: settings.artifactsBucket,
          S3Key: spec.code.s3Key,
          Architectures: [spec.architecture],
        }),
      );
    } catch (error) {
      throw lambdaFailure('UpdateFunctionCode', change, error, settings.artifactsBucket);
    }
    await waitSettled(settings, call.deadline, change);
  }
  if (!sameConfiguration(config, spec, execution)) {
    try {
      await lambda.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: functionName,
          Role: execution.roleArn,
          ...(execution.logging === undefined ? {} : { LoggingConfig: execution.logging }),
          Runtime: spec.runtime as CreateFunctionCommandInput['Runtime'],
          Handler: spec.handler,
          MemorySize: spec.memoryMiB,
          Timeout: spec.timeoutSeconds,
          EphemeralStorage: { Size: spec.ephemeralStorageMiB },
          Environment: { Variables: { ...spec.environment } },
        }),
      );
    } catch (error) {
      throw lambdaFailure('UpdateFunctionConfiguration', change, error, settings.artifactsBucket);
    }
    await waitSettled(settings, call.deadline, change);
  }
  const arn = config.FunctionArn;
  if (arn === undefined) return;
  const tags = current.Tags ?? {};
  const wanted = functionTags(call.workspace, change, spec);
  const toSet = Object.fromEntries(Object.entries(wanted).filter(([key, value]) => tags[key] !== value));
  const toRemove = Object.keys(tags).filter(
    (key) => !(key in wanted) && !key.startsWith('greco:') && !key.startsWith('aws:'),
  );
  try {
    if (Object.keys(toSet).length > 0)
      await lambda.send(new TagResourceCommand({ Resource: arn, Tags: toSet }));
    if (toRemove.length > 0)
      await lambda.send(new UntagResourceCommand({ Resource: arn, TagKeys: toRemove }));
  } catch (error) {
    throw lambdaFailure('TagResource', change, error, settings.artifactsBucket);
  }
}

function createInput(
  settings: LambdaSettings,
  execution: Execution,
  call: StageCall,
  change: ChangeItem,
  spec: FunctionSpec,
): CreateFunctionCommandInput {
  return {
    FunctionName: change.managedName,
    Description: createdDescription(call.deploymentId),
    Runtime: spec.runtime as CreateFunctionCommandInput['Runtime'],
    Handler: spec.handler,
    Role: execution.roleArn,
    ...(execution.logging === undefined ? {} : { LoggingConfig: execution.logging }),
    Code: { S3Bucket: settings.artifactsBucket, S3Key: spec.code.s3Key },
    MemorySize: spec.memoryMiB,
    Timeout: spec.timeoutSeconds,
    EphemeralStorage: { Size: spec.ephemeralStorageMiB },
    Environment: { Variables: { ...spec.environment } },
    Architectures: [spec.architecture],
    Tags: functionTags(call.workspace, change, spec),
    Publish: false,
  };
}

/** greco's tags of a managed function and the user's own. */
function functionTags(workspace: string, change: ChangeItem, spec: FunctionSpec): Record<string, string> {
  return {
    ...spec.tags,
    [GrecoTags.managed]: 'true',
    [GrecoTags.workspace]: workspace,
    [GrecoTags.functionName]: change.name,
  };
}

/**
 * Vetoes a function with the managed name that greco does not manage for this workspace.
 *
 * @throws ChangeVetoError NAME_NOT_MANAGED or NAME_OTHER_WORKSPACE
 */
function checkOwnership(workspace: string, change: ChangeItem, current: GetFunctionCommandOutput): void {
  const tags = current.Tags ?? {};
  if (tags[GrecoTags.managed] !== 'true') {
    throw new ChangeVetoError({
      code: 'NAME_NOT_MANAGED',
      function: change.name,
      message: `a Lambda function named ${change.managedName} already exists and is not managed by greco (no ${GrecoTags.managed}=true tag); rename the function in the model or remove the other function`,
    });
  }
  if (tags[GrecoTags.workspace] !== workspace) {
    throw new ChangeVetoError({
      code: 'NAME_OTHER_WORKSPACE',
      function: change.name,
      message: `the Lambda function ${change.managedName} is managed by greco for another workspace; rename the function in the model`,
    });
  }
}

/** The role and log destination of a workspace's functions. */
interface Execution {
  readonly roleArn: string;
  /** `undefined` with the shared role: Lambda's default group `/aws/lambda/<function>`. */
  readonly logging?: LoggingConfig;
}

/**
 * The workspace's own role and log group (ensured once per call, `roles.ts`), or the shared role
 * when no permissions boundary is configured (`LambdaSettings.workspaceRoles` unset).
 */
async function executionOf(settings: LambdaSettings, call: StageCall): Promise<Execution> {
  const roles = settings.workspaceRoles;
  if (roles === undefined) return { roleArn: settings.roleArn };
  return {
    roleArn: await workspaceRoleOfCall(roles, call),
    logging: { LogGroup: workspaceLogGroupName(roles.managedPrefix, call.workspace), LogFormat: 'Text' },
  };
}

/** Whether `$LATEST`'s configuration is the spec's already (no UpdateFunctionConfiguration needed). */
function sameConfiguration(config: FunctionConfiguration, spec: FunctionSpec, execution: Execution): boolean {
  const variables = config.Environment?.Variables ?? {};
  const wanted = spec.environment ?? {};
  const sameEnv =
    Object.keys(variables).length === Object.keys(wanted).length &&
    Object.entries(wanted).every(([key, value]) => variables[key] === value);
  return (
    sameEnv &&
    config.Role === execution.roleArn &&
    (execution.logging === undefined ||
      (config.LoggingConfig?.LogGroup === execution.logging.LogGroup &&
        config.LoggingConfig?.LogFormat === execution.logging.LogFormat)) &&
    config.Runtime === spec.runtime &&
    config.Handler === spec.handler &&
    config.MemorySize === spec.memoryMiB &&
    config.Timeout === spec.timeoutSeconds &&
    (config.EphemeralStorage?.Size ?? Limits.ephemeralStorageMiBDefault) === spec.ephemeralStorageMiB
  );
}
