/**
 * The Task state resources the local Step Functions emulator runs, recognised from their ARN, with
 * the names AWS uses for them in execution history (`resourceType` / `resource`) and the
 * `Parameters` fields AWS accepts for each.
 *
 * @see https://docs.aws.amazon.com/step-functions/latest/dg/integrate-optimized.html
 */

/** What a Task state's `Resource` names. */
export type TaskResource =
  | {
      /** `arn:aws:states:::lambda:invoke`, the optimized Lambda integration. */
      readonly kind: 'lambdaInvoke';
      readonly arn: string;
      readonly resourceType: 'lambda';
      readonly resource: 'invoke';
    }
  | {
      /** A Lambda function ARN used directly as the resource (history events `LambdaFunction*`). */
      readonly kind: 'lambdaFunction';
      readonly arn: string;
    }
  | {
      /** `arn:aws:states:::dynamodb:<operation>`, the optimized DynamoDB integration. */
      readonly kind: 'dynamodb';
      readonly arn: string;
      readonly resourceType: 'dynamodb';
      readonly resource: DynamoDbOperation;
    }
  | {
      /** `arn:aws:states:::events:putEvents`, the optimized EventBridge integration. */
      readonly kind: 'eventsPutEvents';
      readonly arn: string;
      readonly resourceType: 'events';
      readonly resource: 'putEvents';
    }
  | {
      /** Anything else: the execution fails with `States.Runtime` naming it when the state runs. */
      readonly kind: 'unsupported';
      readonly arn: string;
    };

/** The DynamoDB item operations of the optimized integration. */
export type DynamoDbOperation = 'putItem' | 'getItem' | 'updateItem' | 'deleteItem';

/** `Parameters` fields a resource accepts (`required` ones must be present, as `Name` or `Name.$`). */
export interface ResourceParameterRules {
  readonly allowed: readonly string[];
  readonly required: readonly string[];
}

const lambdaInvokeArn = /^arn:aws[a-z-]*:states:::lambda:invoke$/;
const lambdaFunctionArn =
  /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(?::[A-Za-z0-9$_-]+)?$/;
const dynamodbArn = /^arn:aws[a-z-]*:states:::dynamodb:(putItem|getItem|updateItem|deleteItem)$/;
const eventsPutEventsArn = /^arn:aws[a-z-]*:states:::events:putEvents$/;

/** Recognises a Task state's `Resource` ARN. */
export function describeTaskResource(arn: string): TaskResource {
  if (lambdaInvokeArn.test(arn))
    return { kind: 'lambdaInvoke', arn, resourceType: 'lambda', resource: 'invoke' };
  if (lambdaFunctionArn.test(arn)) return { kind: 'lambdaFunction', arn };
  const dynamodb = dynamodbArn.exec(arn);
  if (dynamodb !== null) {
    return { kind: 'dynamodb', arn, resourceType: 'dynamodb', resource: dynamodb[1] as DynamoDbOperation };
  }
  if (eventsPutEventsArn.test(arn)) {
    return { kind: 'eventsPutEvents', arn, resourceType: 'events', resource: 'putEvents' };
  }
  return { kind: 'unsupported', arn };
}

const dynamoDbWriteCommon = [
  'TableName',
  'ConditionExpression',
  'ConditionalOperator',
  'Expected',
  'ExpressionAttributeNames',
  'ExpressionAttributeValues',
  'ReturnConsumedCapacity',
  'ReturnItemCollectionMetrics',
  'ReturnValues',
  'ReturnValuesOnConditionCheckFailure',
];

// The request members of Lambda Invoke, EventBridge PutEvents and the DynamoDB item APIs.
const parameterRules: Record<string, ResourceParameterRules> = {
  lambdaInvoke: {
    allowed: ['FunctionName', 'Payload', 'InvocationType', 'Qualifier', 'ClientContext', 'LogType'],
    required: ['FunctionName'],
  },
  putItem: { allowed: [...dynamoDbWriteCommon, 'Item'], required: ['TableName', 'Item'] },
  deleteItem: { allowed: [...dynamoDbWriteCommon, 'Key'], required: ['TableName', 'Key'] },
  updateItem: {
    allowed: [...dynamoDbWriteCommon, 'Key', 'UpdateExpression', 'AttributeUpdates'],
    required: ['TableName', 'Key'],
  },
  getItem: {
    allowed: [
      'TableName',
      'Key',
      'AttributesToGet',
      'ConsistentRead',
      'ExpressionAttributeNames',
      'ProjectionExpression',
      'ReturnConsumedCapacity',
    ],
    required: ['TableName', 'Key'],
  },
  eventsPutEvents: { allowed: ['Entries'], required: ['Entries'] },
};

/**
 * The `Parameters` fields AWS accepts for `resource`, or `undefined` when it takes any input
 * (a plain Lambda function ARN) or is not supported.
 */
export function parameterRulesFor(resource: TaskResource): ResourceParameterRules | undefined {
  switch (resource.kind) {
    case 'lambdaInvoke':
    case 'eventsPutEvents':
      return parameterRules[resource.kind];
    case 'dynamodb':
      return parameterRules[resource.resource];
    default:
      return undefined;
  }
}
