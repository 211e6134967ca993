import { describe, expect, it } from 'vitest';
import { LambdaApiError, tooManyRequests, validationException } from '../../local/lambda/errors.ts';
import {
  functionArn,
  mergeQualifier,
  parseFunctionIdentifier,
  partitionOf,
} from '../../local/lambda/names.ts';

const scope = { region: 'us-east-1', accountId: '123456789012' };

describe('parseFunctionIdentifier', () => {
  it.each([
    ['my-function', { name: 'my-function' }],
    ['my-function:live', { name: 'my-function', qualifier: 'live' }],
    ['my_function:$LATEST', { name: 'my_function', qualifier: '$LATEST' }],
    ['123456789012:function:my-function', { name: 'my-function' }],
    ['123456789012:function:my-function:7', { name: 'my-function', qualifier: '7' }],
    ['arn:aws:lambda:us-east-1:123456789012:function:my-function', { name: 'my-function' }],
    [
      'arn:aws:lambda:us-east-1:123456789012:function:my-function:live',
      { name: 'my-function', qualifier: 'live' },
    ],
  ])('accepts %s', (value, expected) => {
    expect(parseFunctionIdentifier(value, scope)).toEqual(expected);
  });

  it.each([
    ['', 'empty'],
    ['has space', 'a space'],
    ['a:b:c', 'too many colons for a name'],
    [`${'x'.repeat(65)}`, 'a name over 64 characters'],
    ['arn:aws:s3:::bucket', 'an ARN of another service'],
  ])('refuses %j (%s) with a ValidationException quoting the pattern', (value) => {
    const attempt = () => parseFunctionIdentifier(value, scope);
    expect(attempt).toThrow(LambdaApiError);
    expect(attempt).toThrow(
      /at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern/,
    );
  });

  it.each([
    'arn:aws:lambda:eu-west-1:123456789012:function:my-function',
    'arn:aws:lambda:us-east-1:999999999999:function:my-function',
    '999999999999:function:my-function',
  ])('answers ResourceNotFoundException for %s, outside the emulated account', (value) => {
    expect(() => parseFunctionIdentifier(value, scope)).toThrow(
      expect.objectContaining({ name: 'ResourceNotFoundException', status: 404 }),
    );
  });
});

describe('mergeQualifier', () => {
  it('takes the Qualifier parameter, or the one in the name', () => {
    expect(mergeQualifier({ name: 'f' }, '3')).toBe('3');
    expect(mergeQualifier({ name: 'f', qualifier: 'live' }, undefined)).toBe('live');
    expect(mergeQualifier({ name: 'f', qualifier: 'live' }, 'live')).toBe('live');
    expect(mergeQualifier({ name: 'f' }, undefined)).toBeUndefined();
  });

  it('refuses a Qualifier that disagrees with the name', () => {
    expect(() => mergeQualifier({ name: 'f', qualifier: 'live' }, '3')).toThrow(
      expect.objectContaining({
        name: 'InvalidParameterValueException',
        message: 'The derived qualifier from the function name does not match the specified qualifier.',
      }),
    );
  });
});

describe('functionArn', () => {
  it.each([
    ['us-east-1', 'aws'],
    ['cn-north-1', 'aws-cn'],
    ['us-gov-west-1', 'aws-us-gov'],
  ])('uses the partition of %s', (region, partition) => {
    expect(partitionOf(region)).toBe(partition);
    expect(functionArn({ region, accountId: '123456789012' }, 'f', '1')).toBe(
      `arn:${partition}:lambda:${region}:123456789012:function:f:1`,
    );
  });
});

describe('Lambda error bodies', () => {
  it('carries Type, message and Reason for TooManyRequestsException', () => {
    const error = tooManyRequests('CallerRateLimitExceeded');
    expect(error.status).toBe(429);
    expect(error.toBody()).toEqual({
      Type: 'User',
      message: 'Rate exceeded',
      Reason: 'CallerRateLimitExceeded',
    });
  });

  it('counts every violation in a ValidationException', () => {
    expect(validationException(['a', 'b']).message).toBe('2 validation errors detected: a; b');
    expect(validationException(['a']).message).toBe('1 validation error detected: a');
  });
});
