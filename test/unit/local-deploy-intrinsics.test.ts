// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub and Step Functions substitutions use ${...} in plain strings
import { App, CfnCondition, CfnOutput, CfnParameter, Fn, Stack } from 'aws-cdk-lib';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { TemplateError } from '../../local/deploy/errors.ts';
import { IntrinsicResolver, NoValue } from '../../local/deploy/intrinsics.ts';
import type { CfnTemplate } from '../../local/deploy/template.ts';

const template: CfnTemplate = {
  Parameters: {
    Stage: { Type: 'String', Default: 'dev', AllowedValues: ['dev', 'prod'] },
    Zones: { Type: 'CommaDelimitedList', Default: 'a,b,c' },
    Size: { Type: 'Number', Default: 3 },
    BootstrapVersion: {
      Type: 'AWS::SSM::Parameter::Value<String>',
      Default: '/cdk-bootstrap/hnb659fds/version',
    },
  },
  Mappings: { Sizes: { dev: { memory: 128 }, prod: { memory: 1024 } } },
  Conditions: {
    IsProd: { 'Fn::Equals': [{ Ref: 'Stage' }, 'prod'] },
    IsDev: { 'Fn::Not': [{ Condition: 'IsProd' }] },
    InUsEast1: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] },
    DevInUsEast1: { 'Fn::And': [{ Condition: 'IsDev' }, { Condition: 'InUsEast1' }] },
    ProdOrUsEast1: { 'Fn::Or': [{ Condition: 'IsProd' }, { Condition: 'InUsEast1' }] },
  },
  Resources: {
    Table: { Type: 'AWS::DynamoDB::Table' },
    Queue: { Type: 'AWS::SQS::Queue' },
    ProdOnly: { Type: 'AWS::S3::Bucket', Condition: 'IsProd' },
  },
};

function resolver(
  options: { exports?: Map<string, unknown>; parameterValues?: Record<string, string> } = {},
) {
  const created = new IntrinsicResolver({
    stackName: 'Greco',
    template,
    region: 'us-east-1',
    accountId: '000000000000',
    ...options,
  });
  created.setResource('Table', {
    ref: 'Greco-Table-ABC',
    attributes: {
      Arn: 'arn:aws:dynamodb:us-east-1:000000000000:table/Greco-Table-ABC',
      'Endpoint.Address': 'h',
    },
  });
  return created;
}

describe('IntrinsicResolver', () => {
  it.each([
    ['Ref AWS::Region', { Ref: 'AWS::Region' }, 'us-east-1'],
    ['Ref AWS::AccountId', { Ref: 'AWS::AccountId' }, '000000000000'],
    ['Ref AWS::Partition', { Ref: 'AWS::Partition' }, 'aws'],
    ['Ref AWS::URLSuffix', { Ref: 'AWS::URLSuffix' }, 'amazonaws.com'],
    ['Ref AWS::StackName', { Ref: 'AWS::StackName' }, 'Greco'],
    [
      'Ref AWS::StackId',
      { Ref: 'AWS::StackId' },
      'arn:aws:cloudformation:us-east-1:000000000000:stack/Greco/local',
    ],
    ['Ref AWS::NotificationARNs', { Ref: 'AWS::NotificationARNs' }, []],
    ['Ref of a parameter default', { Ref: 'Stage' }, 'dev'],
    ['Ref of a Number parameter (a string, as CloudFormation)', { Ref: 'Size' }, '3'],
    ['Ref of a CommaDelimitedList parameter', { Ref: 'Zones' }, ['a', 'b', 'c']],
    ['Ref of a resource', { Ref: 'Table' }, 'Greco-Table-ABC'],
    [
      'Fn::GetAtt, list form',
      { 'Fn::GetAtt': ['Table', 'Arn'] },
      'arn:aws:dynamodb:us-east-1:000000000000:table/Greco-Table-ABC',
    ],
    [
      'Fn::GetAtt, dotted string form with a nested attribute',
      { 'Fn::GetAtt': 'Table.Endpoint.Address' },
      'h',
    ],
    [
      'Fn::Join of literals and references',
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::', { Ref: 'Table' }]] },
      'arn:aws:s3:::Greco-Table-ABC',
    ],
    ['Fn::Join over Fn::Split', { 'Fn::Join': ['-', { 'Fn::Split': [',', 'x,y,z'] }] }, 'x-y-z'],
    [
      'Fn::Sub, string form: pseudo, parameter, resource, attribute',
      { 'Fn::Sub': '${AWS::Region}/${Stage}/${Table}/${Table.Arn}' },
      'us-east-1/dev/Greco-Table-ABC/arn:aws:dynamodb:us-east-1:000000000000:table/Greco-Table-ABC',
    ],
    [
      'Fn::Sub keeps ${!Literal} as ${Literal}',
      { 'Fn::Sub': '${!Literal}-${AWS::AccountId}' },
      '${Literal}-000000000000',
    ],
    [
      'Fn::Sub, [string, variables] form, variables resolved first',
      { 'Fn::Sub': ['${Name}:${Region}', { Name: { Ref: 'Table' }, Region: { Ref: 'AWS::Region' } }] },
      'Greco-Table-ABC:us-east-1',
    ],
    ['Fn::Select with a string index', { 'Fn::Select': ['1', ['a', 'b', 'c']] }, 'b'],
    ['Fn::Select over a list parameter', { 'Fn::Select': [2, { Ref: 'Zones' }] }, 'c'],
    ['Fn::Split', { 'Fn::Split': ['|', 'bus|rule'] }, ['bus', 'rule']],
    ['Fn::If, false condition (Fn::Equals)', { 'Fn::If': ['IsProd', 'big', 'small'] }, 'small'],
    ['Fn::If, true condition (Fn::Not of Condition)', { 'Fn::If': ['IsDev', 'dev!', 'prod!'] }, 'dev!'],
    ['Fn::If with Fn::And', { 'Fn::If': ['DevInUsEast1', 1, 2] }, 1],
    ['Fn::If with Fn::Or', { 'Fn::If': ['ProdOrUsEast1', 'yes', 'no'] }, 'yes'],
    ['Fn::FindInMap', { 'Fn::FindInMap': ['Sizes', { Ref: 'Stage' }, 'memory'] }, 128],
    ['Fn::Base64', { 'Fn::Base64': 'greco' }, 'Z3JlY28='],
    ['Fn::GetAZs', { 'Fn::GetAZs': '' }, ['us-east-1a', 'us-east-1b', 'us-east-1c']],
    ['Fn::Length', { 'Fn::Length': { Ref: 'Zones' } }, 3],
    ['Fn::ToJsonString', { 'Fn::ToJsonString': { a: { Ref: 'Stage' } } }, '{"a":"dev"}'],
    [
      'AWS::NoValue removes an object property',
      {
        Keep: 1,
        Drop: { Ref: 'AWS::NoValue' },
        Maybe: { 'Fn::If': ['IsProd', 'x', { Ref: 'AWS::NoValue' }] },
      },
      { Keep: 1 },
    ],
    ['AWS::NoValue removes a list element', ['a', { Ref: 'AWS::NoValue' }, 'b'], ['a', 'b']],
    ['plain values are kept', { a: [1, true, null, 'x'] }, { a: [1, true, null, 'x'] }],
  ])('resolves %s', (_name, input, expected) => {
    expect(resolver().resolve(input, 'Test')).toEqual(expected);
  });

  it('gives undefined for a top-level AWS::NoValue, never the marker itself', () => {
    const value = resolver().resolve({ Ref: 'AWS::NoValue' }, 'Test');
    expect(value).toBeUndefined();
    expect(value).not.toBe(NoValue);
  });

  it('evaluates every condition of the template at construction', () => {
    expect(resolver().conditions).toEqual({
      IsProd: false,
      IsDev: true,
      InUsEast1: true,
      DevInUsEast1: true,
      ProdOrUsEast1: true,
    });
    expect(resolver({ parameterValues: { Stage: 'prod' } }).conditions.IsProd).toBe(true);
  });

  it('resolves Fn::ImportValue from the exports of stacks deployed before', () => {
    const exports = new Map<string, unknown>([['ApiUrl', 'http://127.0.0.1:4700']]);
    expect(resolver({ exports }).resolve({ 'Fn::ImportValue': 'ApiUrl' }, 'Test')).toBe(
      'http://127.0.0.1:4700',
    );
  });

  it.each([
    ['an unknown function', { 'Fn::Cidr': ['10.0.0.0/16', 2, 8] }, /Fn::Cidr is not supported/],
    ['a Ref to nothing', { Ref: 'Nope' }, /Nope is neither a resource nor a parameter of Greco/],
    ['a Ref to a resource not deployed yet', { Ref: 'Queue' }, /Queue is not deployed yet/],
    [
      'a Ref to a resource whose condition is false',
      { Ref: 'ProdOnly' },
      /ProdOnly is not created \(its condition IsProd is false\)/,
    ],
    [
      'an attribute the resource does not have',
      { 'Fn::GetAtt': ['Table', 'StreamArn'] },
      /Table \(AWS::DynamoDB::Table\) has no attribute StreamArn/,
    ],
    ['a Ref to an SSM parameter', { Ref: 'BootstrapVersion' }, /read from SSM Parameter Store/],
    ['Fn::Select out of range', { 'Fn::Select': [3, ['a']] }, /index 3 is out of range for a list of 1/],
    [
      'Fn::ImportValue of an export nobody has',
      { 'Fn::ImportValue': 'Missing' },
      /no stack deployed before Greco exports Missing/,
    ],
    ['Fn::If on an undefined condition', { 'Fn::If': ['Nope', 1, 2] }, /condition Nope is not defined/],
    ['Fn::Join of a non-list', { 'Fn::Join': ['', 'abc'] }, /must resolve to a list/],
    ['Fn::Join of a list element', { 'Fn::Join': ['', [['nested']]] }, /expected a string/],
    ['Fn::Equals outside Conditions', { 'Fn::Equals': ['a', 'a'] }, /only valid in Conditions/],
    [
      'Fn::FindInMap of a missing key',
      { 'Fn::FindInMap': ['Sizes', 'qa', 'memory'] },
      /Mappings.Sizes.qa.memory does not exist/,
    ],
  ])('refuses %s with a TemplateError naming the path', (_name, input, message) => {
    const act = () => resolver().resolve(input, 'Resources.X.Properties.Y');
    expect(act).toThrow(TemplateError);
    expect(act).toThrow(message);
    expect(act).toThrow(/^Resources\.X\.Properties\.Y/);
  });

  it('refuses a parameter value outside AllowedValues', () => {
    expect(() => resolver({ parameterValues: { Stage: 'qa' } })).toThrow(
      /Parameters.Stage: "qa" is not one of AllowedValues/,
    );
  });

  it('refuses a parameter with neither a value nor a Default', () => {
    const act = () =>
      new IntrinsicResolver({
        stackName: 'S',
        template: { Parameters: { Needed: { Type: 'String' } } },
        region: 'us-east-1',
        accountId: '000000000000',
      });
    expect(act).toThrow(/Parameters.Needed: no value was given and the parameter has no Default/);
  });

  it('refuses a condition that refers to itself', () => {
    const act = () =>
      new IntrinsicResolver({
        stackName: 'S',
        template: { Conditions: { Loop: { 'Fn::Not': [{ Condition: 'Loop' }] } } },
        region: 'us-east-1',
        accountId: '000000000000',
      });
    expect(act).toThrow(/condition Loop refers to itself/);
  });

  it('resolves what CDK synthesizes: outputs of a stack with a table, a bucket, a parameter and a condition', () => {
    // Prepare
    const app = new App();
    const stack = new Stack(app, 'Synth');
    const table = new Table(stack, 'Table', { partitionKey: { name: 'pk', type: AttributeType.STRING } });
    const bucket = new Bucket(stack, 'Bucket');
    const stage = new CfnParameter(stack, 'Stage', { default: 'dev' });
    const isProd = new CfnCondition(stack, 'IsProd', {
      expression: Fn.conditionEquals(stage.valueAsString, 'prod'),
    });
    new CfnOutput(stack, 'TableArn', { value: table.tableArn });
    new CfnOutput(stack, 'Joined', {
      value: Fn.join('/', [table.tableName, bucket.bucketArn, stack.region]),
    });
    new CfnOutput(stack, 'Url', { value: bucket.urlForObject('k') });
    new CfnOutput(stack, 'Mode', { value: Fn.conditionIf(isProd.logicalId, 'p', 'd').toString() });
    const synthesized = app.synth().getStackByName('Synth').template as CfnTemplate;
    const tableId = Object.keys(synthesized.Resources ?? {}).find((id) => id.startsWith('Table')) as string;
    const bucketId = Object.keys(synthesized.Resources ?? {}).find((id) => id.startsWith('Bucket')) as string;
    const subject = new IntrinsicResolver({
      stackName: 'Synth',
      template: synthesized,
      region: 'eu-west-1',
      accountId: '111111111111',
    });
    subject.setResource(tableId, { ref: 'Synth-Table-X', attributes: { Arn: 'arn:table' } });
    subject.setResource(bucketId, {
      ref: 'synth-bucket-x',
      attributes: {
        Arn: 'arn:aws:s3:::synth-bucket-x',
        RegionalDomainName: 'synth-bucket-x.s3.eu-west-1.amazonaws.com',
      },
    });

    // Act
    const outputs = Object.fromEntries(
      Object.entries(synthesized.Outputs ?? {}).map(([name, output]) => [
        name,
        subject.resolve(output.Value, name),
      ]),
    );

    // Assess
    expect(outputs).toEqual({
      TableArn: 'arn:table',
      Joined: 'Synth-Table-X/arn:aws:s3:::synth-bucket-x/eu-west-1',
      Url: 'https://s3.eu-west-1.amazonaws.com/synth-bucket-x/k',
      Mode: 'd',
    });
  });
});
