import { type NameRules, nameRules } from '../names.ts';
import { httpApi, httpAuthorizer, httpIntegration, httpRoute, httpStage } from './http-api.ts';
import { lambdaAlias, lambdaFunction, lambdaUrl, lambdaVersion } from './lambda.ts';
import { dynamodbGlobalTable, dynamodbTable, s3Bucket } from './storage.ts';
import type { ProvisionRequest, ResourceProvisioner } from './types.ts';
import { eventBus, eventRule, stateMachine } from './workflows.ts';

function named(request: ProvisionRequest, property: string, rules: NameRules): string {
  const given = request.properties[property];
  return typeof given === 'string' ? given : request.names.name(request.stackName, request.logicalId, rules);
}

/**
 * A resource that is recorded (so that `Ref` and `Fn::GetAtt` work) but not run or enforced
 * locally. Every such type is listed in docs/local-cloud.md.
 */
function recorded(
  describe: (request: ProvisionRequest) => { ref: string; attributes?: Record<string, unknown> },
): ResourceProvisioner {
  return {
    async provision(request) {
      const { ref, attributes } = describe(request);
      return { ref, attributes: attributes ?? {} };
    },
  };
}

const iamRole = recorded((request) => {
  const name = named(request, 'RoleName', nameRules.iamRole);
  const path = typeof request.properties.Path === 'string' ? request.properties.Path : '/';
  return {
    ref: name,
    attributes: {
      Arn: `arn:aws:iam::${request.services.accountId}:role${path}${name}`,
      RoleId: `AROA${request.names.id(request.stackName, request.logicalId, 17).toUpperCase()}`,
    },
  };
});

const iamManagedPolicy = recorded((request) => {
  const name = named(request, 'ManagedPolicyName', nameRules.iamRole);
  const arn = `arn:aws:iam::${request.services.accountId}:policy/${name}`;
  return { ref: arn, attributes: { PolicyArn: arn } };
});

const generatedId = recorded((request) => ({
  ref: request.names.name(request.stackName, request.logicalId, nameRules.generic),
}));

const logGroup = recorded((request) => {
  const name = named(request, 'LogGroupName', nameRules.logGroup);
  return {
    ref: name,
    attributes: {
      Arn: `arn:aws:logs:${request.services.region}:${request.services.accountId}:log-group:${name}:*`,
    },
  };
});

const alarm = recorded((request) => {
  const name = named(request, 'AlarmName', nameRules.generic);
  return {
    ref: name,
    attributes: {
      Arn: `arn:aws:cloudwatch:${request.services.region}:${request.services.accountId}:alarm:${name}`,
    },
  };
});

/**
 * Resource types the local cloud deploys, and how. Types not listed here stop the deploy
 * (see {@link UnsupportedResourceError}).
 *
 * Run in the emulators: DynamoDB tables, S3 buckets, Lambda functions / versions / aliases /
 * URLs, Step Functions state machines, EventBridge buses and rules, HTTP APIs with their
 * stages, routes, Lambda proxy integrations and JWT authorizers.
 * Recorded, not enforced (listed in docs/local-cloud.md): IAM roles and policies, Lambda
 * permissions, S3 bucket policies, CloudWatch alarms, log groups, API deployments, CDK metadata.
 */
export const provisioners: Readonly<Record<string, ResourceProvisioner>> = {
  'AWS::DynamoDB::Table': dynamodbTable,
  'AWS::DynamoDB::GlobalTable': dynamodbGlobalTable,
  'AWS::S3::Bucket': s3Bucket,
  'AWS::Lambda::Function': lambdaFunction,
  'AWS::Lambda::Version': lambdaVersion,
  'AWS::Lambda::Alias': lambdaAlias,
  'AWS::Lambda::Url': lambdaUrl,
  'AWS::StepFunctions::StateMachine': stateMachine,
  'AWS::Events::EventBus': eventBus,
  'AWS::Events::Rule': eventRule,
  'AWS::ApiGatewayV2::Api': httpApi,
  'AWS::ApiGatewayV2::Stage': httpStage,
  'AWS::ApiGatewayV2::Integration': httpIntegration,
  'AWS::ApiGatewayV2::Authorizer': httpAuthorizer,
  'AWS::ApiGatewayV2::Route': httpRoute,
  'AWS::ApiGatewayV2::Deployment': generatedId,
  'AWS::Logs::LogGroup': logGroup,
  'AWS::IAM::Role': iamRole,
  'AWS::IAM::Policy': generatedId,
  'AWS::IAM::ManagedPolicy': iamManagedPolicy,
  'AWS::Lambda::Permission': generatedId,
  'AWS::S3::BucketPolicy': generatedId,
  'AWS::CloudWatch::Alarm': alarm,
  'AWS::CDK::Metadata': generatedId,
};

/** The resource types that are recorded but neither run nor enforced locally. */
export const recordedOnlyTypes: readonly string[] = [
  'AWS::IAM::Role',
  'AWS::IAM::Policy',
  'AWS::IAM::ManagedPolicy',
  'AWS::Lambda::Permission',
  'AWS::S3::BucketPolicy',
  'AWS::CloudWatch::Alarm',
  'AWS::Logs::LogGroup',
  'AWS::ApiGatewayV2::Deployment',
  'AWS::CDK::Metadata',
];
