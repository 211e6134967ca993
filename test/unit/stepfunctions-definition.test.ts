import { describe, expect, it } from 'vitest';
import {
  executionArn,
  isRoleArn,
  maxNameLength,
  nameProblem,
  parseExecutionArn,
  parseStateMachineArn,
  stateMachineArn,
} from '../../local/stepfunctions/arns.ts';
import { DefinitionError, maxTimerSeconds, parseDefinition } from '../../local/stepfunctions/definition.ts';
import { describeTaskResource } from '../../local/stepfunctions/resources.ts';

const pass = { Type: 'Pass', End: true };
const text = (definition: unknown): string => JSON.stringify(definition);

describe('parseDefinition', () => {
  it('indexes every state, nested ones with their Map or Parallel container', () => {
    // Prepare
    const definition = {
      StartAt: 'Fan out',
      States: {
        'Fan out': {
          Type: 'Map',
          ItemProcessor: { StartAt: 'Work', States: { Work: pass } },
          Next: 'Both',
        },
        Both: {
          Type: 'Parallel',
          Branches: [
            { StartAt: 'Left', States: { Left: pass } },
            { StartAt: 'Right', States: { Right: pass } },
          ],
          End: true,
        },
      },
    };

    // Act
    const parsed = parseDefinition(text(definition));

    // Assess
    expect([...parsed.states.keys()].sort()).toEqual(['Both', 'Fan out', 'Left', 'Right', 'Work']);
    expect(parsed.states.get('Work')).toMatchObject({
      type: 'Pass',
      pointer: '/States/Fan out/ItemProcessor/States/Work',
      container: { name: 'Fan out', type: 'Map', branch: 0 },
    });
    expect(parsed.states.get('Right')?.container).toEqual({ name: 'Both', type: 'Parallel', branch: 1 });
    expect(parsed.states.get('Both')?.container).toBeUndefined();
    expect(parsed.text).toBe(text(definition));
  });

  it.each([
    { what: 'text that is not JSON', definition: '{"StartAt":', message: /INVALID_JSON_DESCRIPTION/ },
    { what: 'a JSON array', definition: '[]', message: /must be a JSON object/ },
    {
      what: 'QueryLanguage JSONata at the top',
      definition: text({ QueryLanguage: 'JSONata', StartAt: 'A', States: { A: pass } }),
      message: /JSONata.*\/QueryLanguage.*aws-local-stepfunctions.*JSONPath only/,
    },
    {
      what: 'a JSONata state',
      definition: text({ StartAt: 'A', States: { A: { ...pass, QueryLanguage: 'JSONata' } } }),
      message: /JSONata.*\/States\/A\/QueryLanguage.*JSONPath only/,
    },
    {
      what: 'a JSONata item processor',
      definition: text({
        StartAt: 'M',
        States: {
          M: {
            Type: 'Map',
            ItemProcessor: { QueryLanguage: 'JSONata', StartAt: 'W', States: { W: pass } },
            End: true,
          },
        },
      }),
      message: /JSONata.*\/States\/M\/ItemProcessor\/QueryLanguage/,
    },
    {
      what: 'Assign on a state',
      definition: text({ StartAt: 'A', States: { A: { ...pass, Assign: { epoch: 1 } } } }),
      message: /Assign at \/States\/A\/Assign.*aws-local-stepfunctions/,
    },
    {
      what: 'Assign on a Choice rule',
      definition: text({
        StartAt: 'C',
        States: {
          C: {
            Type: 'Choice',
            Choices: [{ Variable: '$.x', IsPresent: true, Assign: { y: 1 }, Next: 'A' }],
            Default: 'A',
          },
          A: pass,
        },
      }),
      message: /Assign at \/States\/C\/Choices\/0\/Assign/,
    },
    {
      what: 'Assign on a catcher',
      definition: text({
        StartAt: 'T',
        States: {
          T: {
            Type: 'Task',
            Resource: 'arn:aws:lambda:us-east-1:000000000000:function:f',
            Catch: [{ ErrorEquals: ['States.ALL'], Assign: { failed: true }, Next: 'A' }],
            End: true,
          },
          A: pass,
        },
      }),
      message: /Assign at \/States\/T\/Catch\/0\/Assign/,
    },
    {
      what: 'a missing transition target',
      definition: text({ StartAt: 'A', States: { A: { Type: 'Pass', Next: 'B' } } }),
      message: /MISSING_TRANSITION_TARGET/,
    },
    {
      what: 'an unreachable state',
      definition: text({ StartAt: 'A', States: { A: pass, B: pass } }),
      message: /not reachable/,
    },
    {
      what: 'a malformed InputPath',
      definition: text({ StartAt: 'A', States: { A: { ...pass, InputPath: '$$$bad' } } }),
      message: /SCHEMA_VALIDATION_FAILED/,
    },
    {
      what: 'a Map with an ItemReader',
      definition: text({
        StartAt: 'M',
        States: {
          M: {
            Type: 'Map',
            ItemReader: { Resource: 'arn:aws:states:::s3:getObject', Parameters: { Bucket: 'b', Key: 'k' } },
            ItemProcessor: {
              ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
              StartAt: 'W',
              States: { W: pass },
            },
            End: true,
          },
        },
      }),
      message: /ItemReader at \/States\/M is not supported.*inline Map/,
    },
    {
      what: 'a DISTRIBUTED Map',
      definition: text({
        StartAt: 'M',
        States: {
          M: {
            Type: 'Map',
            ItemProcessor: {
              ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
              StartAt: 'W',
              States: { W: pass },
            },
            End: true,
          },
        },
      }),
      message: /DISTRIBUTED.*not supported/,
    },
    {
      what: 'a lambda:invoke field Lambda does not take',
      definition: text({
        StartAt: 'T',
        States: {
          T: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke',
            Parameters: { FunctionName: 'f', Body: 1 },
            End: true,
          },
        },
      }),
      message: /The field "Body" is not supported by Step Functions at \/States\/T\/Parameters/,
    },
    {
      what: 'a lambda:invoke without FunctionName',
      definition: text({
        StartAt: 'T',
        States: {
          T: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke',
            Parameters: { 'Payload.$': '$' },
            End: true,
          },
        },
      }),
      message: /The field "FunctionName" is required but was missing/,
    },
    {
      what: 'a dynamodb:getItem without Key',
      definition: text({
        StartAt: 'T',
        States: {
          T: {
            Type: 'Task',
            Resource: 'arn:aws:states:::dynamodb:getItem',
            Parameters: { TableName: 't' },
            End: true,
          },
        },
      }),
      message: /The field "Key" is required/,
    },
  ])('refuses $what with an InvalidDefinition message', ({ definition, message }) => {
    expect(() => parseDefinition(definition)).toThrow(DefinitionError);
    expect(() => parseDefinition(definition)).toThrow(message);
    expect(() => parseDefinition(definition)).toThrow(/^Invalid State Machine Definition: '/);
  });

  it('accepts dynamic parameter names written with .$', () => {
    const parsed = parseDefinition(
      text({
        StartAt: 'T',
        States: {
          T: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke',
            Parameters: { 'FunctionName.$': '$.fn', 'Payload.$': '$' },
            End: true,
          },
        },
      }),
    );
    expect(parsed.states.get('T')?.type).toBe('Task');
  });

  it('gives the copy that runs AWS-like Task timeouts that a timer can hold, leaving the definition as given', () => {
    // Prepare
    const definition = {
      TimeoutSeconds: 99_999_999,
      StartAt: 'Unset',
      States: {
        Unset: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:000000000000:function:f', Next: 'Huge' },
        Huge: {
          Type: 'Task',
          Resource: 'arn:aws:lambda:us-east-1:000000000000:function:f',
          TimeoutSeconds: 99_999_999,
          Next: 'Short',
        },
        Short: {
          Type: 'Task',
          Resource: 'arn:aws:lambda:us-east-1:000000000000:function:f',
          TimeoutSeconds: 5,
          Next: 'ByPath',
        },
        ByPath: {
          Type: 'Task',
          Resource: 'arn:aws:lambda:us-east-1:000000000000:function:f',
          TimeoutSecondsPath: '$.timeout',
          End: true,
        },
      },
    };

    // Act
    const parsed = parseDefinition(text(definition));

    // Assess
    const runnable = parsed.runnable as unknown as {
      TimeoutSeconds: number;
      States: Record<string, Record<string, unknown>>;
    };
    expect(runnable.TimeoutSeconds).toBe(maxTimerSeconds);
    expect(runnable.States.Unset?.TimeoutSeconds).toBe(maxTimerSeconds);
    expect(runnable.States.Huge?.TimeoutSeconds).toBe(maxTimerSeconds);
    expect(runnable.States.Short?.TimeoutSeconds).toBe(5);
    expect(runnable.States.ByPath?.TimeoutSeconds).toBeUndefined();
    expect(parsed.document.TimeoutSeconds).toBe(99_999_999);
    expect(
      (parsed.document.States as Record<string, Record<string, unknown>>).Unset?.TimeoutSeconds,
    ).toBeUndefined();
  });
});

describe('names and ARNs', () => {
  it.each(['deployment-01HZ', 'a', 'x'.repeat(maxNameLength), 'Déploiement_1.2'])(
    'accepts the name %j',
    (name) => {
      expect(nameProblem(name)).toBeUndefined();
    },
  );

  it.each([
    '',
    'x'.repeat(maxNameLength + 1),
    'has space',
    'a/b',
    'a:b',
    'a*b',
    'a{b',
    'a$b',
    'tab\there',
    'nul\u0000',
  ])('refuses the name %j', (name) => {
    expect(nameProblem(name)).toEqual(expect.any(String));
  });

  it('builds and parses state machine and execution ARNs', () => {
    const machine = stateMachineArn('us-east-1', '000000000000', 'deploy');
    expect(machine).toBe('arn:aws:states:us-east-1:000000000000:stateMachine:deploy');
    expect(parseStateMachineArn(machine)).toEqual({
      region: 'us-east-1',
      accountId: '000000000000',
      name: 'deploy',
    });
    expect(parseStateMachineArn(`${machine}:3`)).toMatchObject({ name: 'deploy', qualifier: '3' });
    const execution = executionArn('us-east-1', '000000000000', 'deploy', 'd-1');
    expect(parseExecutionArn(execution)).toEqual({
      region: 'us-east-1',
      accountId: '000000000000',
      stateMachineName: 'deploy',
      name: 'd-1',
    });
    expect(parseStateMachineArn(execution)).toBeUndefined();
    expect(parseExecutionArn(machine)).toBeUndefined();
    expect(parseStateMachineArn('arn:aws:states:us-east-1:123:stateMachine:x')).toBeUndefined();
  });

  it.each([
    ['arn:aws:iam::000000000000:role/greco-state-machine', true],
    ['arn:aws:iam::000000000000:role/service-role/path/name', true],
    ['arn:aws:iam::000000000000:user/someone', false],
    ['greco-role', false],
  ])('isRoleArn(%j) is %j', (arn, expected) => {
    expect(isRoleArn(arn)).toBe(expected);
  });
});

describe('describeTaskResource', () => {
  it.each([
    ['arn:aws:states:::lambda:invoke', { kind: 'lambdaInvoke', resourceType: 'lambda', resource: 'invoke' }],
    ['arn:aws:lambda:us-east-1:000000000000:function:greco-conductor', { kind: 'lambdaFunction' }],
    ['arn:aws:lambda:us-east-1:000000000000:function:greco-conductor:live', { kind: 'lambdaFunction' }],
    [
      'arn:aws:states:::dynamodb:updateItem',
      { kind: 'dynamodb', resourceType: 'dynamodb', resource: 'updateItem' },
    ],
    [
      'arn:aws:states:::events:putEvents',
      { kind: 'eventsPutEvents', resourceType: 'events', resource: 'putEvents' },
    ],
    ['arn:aws:states:::lambda:invoke.waitForTaskToken', { kind: 'unsupported' }],
    ['arn:aws:states:::dynamodb:query', { kind: 'unsupported' }],
    ['arn:aws:states:::aws-sdk:lambda:getFunction', { kind: 'unsupported' }],
  ])('recognises %s', (arn, expected) => {
    expect(describeTaskResource(arn)).toMatchObject({ ...expected, arn });
  });
});
