import { describe, expect, it } from 'vitest';
import {
  fillTemplate,
  InvalidJsonPathError,
  parseJsonPath,
  selectPath,
  targetPayload,
} from '../../local/eventbridge/input.ts';
import {
  compileEventPattern,
  InvalidEventPatternError,
  parseEventPattern,
} from '../../local/eventbridge/pattern.ts';

const event = {
  version: '0',
  id: 'e-1',
  'detail-type': 'Epoch Activated',
  source: 'greco.control-plane',
  account: '000000000000',
  time: '2024-05-01T12:00:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:lambda:us-east-1:000000000000:function:greco-acme-api'],
  detail: {
    workspace: 'acme',
    epoch: 7,
    ratio: 0.5,
    live: true,
    note: null,
    status: 'Committed',
    sourceIp: '10.0.1.25',
    sourceIp6: '2001:db8::1',
    roles: ['editor', 'approver'],
    functions: [
      { name: 'api', memoryMiB: 512 },
      { name: 'worker', memoryMiB: 2048 },
    ],
    nested: { deeper: { flag: 'on' } },
    fileName: 'reports/2024/summary.PDF',
  },
};

describe('EventBridge pattern matching', () => {
  it.each([
    // exact values, OR within a list, AND across fields
    ['exact source', { source: ['greco.control-plane'] }, true],
    ['exact source that differs', { source: ['greco.other'] }, false],
    ['a list is an OR', { source: ['x', 'greco.control-plane'] }, true],
    ['fields are an AND', { source: ['greco.control-plane'], 'detail-type': ['Other'] }, false],
    ['detail-type with a space', { 'detail-type': ['Epoch Activated'] }, true],
    ['exact number', { detail: { epoch: [7] } }, true],
    ['a number does not match its string', { detail: { epoch: ['7'] } }, false],
    ['a string does not match a number', { detail: { status: [7] } }, false],
    ['exact boolean', { detail: { live: [true] } }, true],
    ['exact null', { detail: { note: [null] } }, true],
    ['null does not match an absent field', { detail: { absent: [null] } }, false],
    ['matching is case-sensitive', { detail: { status: ['committed'] } }, false],
    // nested fields and arrays
    ['a nested field', { detail: { nested: { deeper: { flag: ['on'] } } } }, true],
    ['a nested field that differs', { detail: { nested: { deeper: { flag: ['off'] } } } }, false],
    ['an event array matches when any element does', { detail: { roles: ['approver'] } }, true],
    ['an event array with no matching element', { detail: { roles: ['operator'] } }, false],
    ['resources array', { resources: [{ prefix: 'arn:aws:lambda:' }] }, true],
    ['a pattern object on an array of objects', { detail: { functions: { name: ['worker'] } } }, true],
    [
      'fields matched in the same array element',
      { detail: { functions: { name: ['api'], memoryMiB: [512] } } },
      true,
    ],
    [
      'fields of different array elements are not mixed',
      { detail: { functions: { name: ['api'], memoryMiB: [2048] } } },
      false,
    ],
    ['a leaf matcher on an object does not match', { detail: { nested: ['x'] } }, false],
    ['an object pattern on a string does not match', { detail: { status: { x: ['y'] } } }, false],
    ['a field missing from the event', { detail: { missing: ['x'] } }, false],
    // prefix, suffix, equals-ignore-case
    ['prefix', { source: [{ prefix: 'greco.' }] }, true],
    ['prefix that differs', { source: [{ prefix: 'aws.' }] }, false],
    ['prefix ignoring case', { detail: { status: [{ prefix: { 'equals-ignore-case': 'COMM' } }] } }, true],
    ['suffix', { detail: { fileName: [{ suffix: '.PDF' }] } }, true],
    ['suffix is case-sensitive', { detail: { fileName: [{ suffix: '.pdf' }] } }, false],
    ['suffix ignoring case', { detail: { fileName: [{ suffix: { 'equals-ignore-case': '.pdf' } }] } }, true],
    ['equals-ignore-case', { detail: { status: [{ 'equals-ignore-case': 'COMMITTED' }] } }, true],
    ['prefix on a number does not match', { detail: { epoch: [{ prefix: '7' }] } }, false],
    // anything-but
    ['anything-but a value', { detail: { status: [{ 'anything-but': 'Aborted' }] } }, true],
    ['anything-but the value itself', { detail: { status: [{ 'anything-but': 'Committed' }] } }, false],
    ['anything-but a list', { detail: { status: [{ 'anything-but': ['Aborted', 'Vetoed'] }] } }, true],
    [
      'anything-but a list holding the value',
      { detail: { status: [{ 'anything-but': ['Committed', 'Vetoed'] }] } },
      false,
    ],
    ['anything-but numbers', { detail: { epoch: [{ 'anything-but': [1, 2] }] } }, true],
    ['anything-but the number itself', { detail: { epoch: [{ 'anything-but': [7] }] } }, false],
    ['anything-but a prefix', { source: [{ 'anything-but': { prefix: 'aws.' } }] }, true],
    ['anything-but a matching prefix', { source: [{ 'anything-but': { prefix: 'greco.' } }] }, false],
    ['anything-but a suffix', { detail: { fileName: [{ 'anything-but': { suffix: '.PDF' } }] } }, false],
    [
      'anything-but ignoring case',
      { detail: { status: [{ 'anything-but': { 'equals-ignore-case': ['committed'] } }] } },
      false,
    ],
    [
      'anything-but a wildcard',
      { detail: { fileName: [{ 'anything-but': { wildcard: 'reports/*' } }] } },
      false,
    ],
    ['anything-but needs the field', { detail: { missing: [{ 'anything-but': 'x' }] } }, false],
    [
      'anything-but on an array with another element',
      { detail: { roles: [{ 'anything-but': 'editor' }] } },
      true,
    ],
    // numeric
    ['numeric equals', { detail: { epoch: [{ numeric: ['=', 7] }] } }, true],
    ['numeric equals another', { detail: { epoch: [{ numeric: ['=', 7.5] }] } }, false],
    ['numeric range inside', { detail: { epoch: [{ numeric: ['>', 0, '<=', 7] }] } }, true],
    ['numeric range outside', { detail: { epoch: [{ numeric: ['>', 7] }] } }, false],
    ['numeric >= bound', { detail: { epoch: [{ numeric: ['>=', 7] }] } }, true],
    ['numeric < bound', { detail: { epoch: [{ numeric: ['<', 7] }] } }, false],
    ['numeric on a fraction', { detail: { ratio: [{ numeric: ['>', 0.25, '<', 0.75] }] } }, true],
    ['numeric on a string', { detail: { status: [{ numeric: ['>', 0] }] } }, false],
    [
      'numeric in an array of objects',
      { detail: { functions: { memoryMiB: [{ numeric: ['>', 1024] }] } } },
      true,
    ],
    // exists
    ['exists true', { detail: { workspace: [{ exists: true }] } }, true],
    ['exists true on an absent field', { detail: { missing: [{ exists: true }] } }, false],
    ['exists false on an absent field', { detail: { missing: [{ exists: false }] } }, true],
    ['exists false on a present field', { detail: { workspace: [{ exists: false }] } }, false],
    ['exists true on a null value', { detail: { note: [{ exists: true }] } }, true],
    ['exists only holds for leaves', { detail: { nested: [{ exists: true }] } }, false],
    ['exists false under an absent object', { detail: { absentObject: { x: [{ exists: false }] } } }, true],
    // cidr
    ['cidr containing the address', { detail: { sourceIp: [{ cidr: '10.0.0.0/16' }] } }, true],
    ['cidr not containing it', { detail: { sourceIp: [{ cidr: '10.1.0.0/16' }] } }, false],
    ['cidr of one address', { detail: { sourceIp: [{ cidr: '10.0.1.25/32' }] } }, true],
    ['cidr IPv6', { detail: { sourceIp6: [{ cidr: '2001:db8::/32' }] } }, true],
    ['cidr IPv6 elsewhere', { detail: { sourceIp6: [{ cidr: '2001:db9::/32' }] } }, false],
    ['cidr IPv4 on an IPv6 address', { detail: { sourceIp6: [{ cidr: '0.0.0.0/0' }] } }, false],
    // wildcard
    ['wildcard', { detail: { fileName: [{ wildcard: 'reports/*/summary.*' }] } }, true],
    ['wildcard that differs', { detail: { fileName: [{ wildcard: 'logs/*' }] } }, false],
    ['wildcard with an escaped star', { detail: { fileName: [{ wildcard: 'reports\\*' }] } }, false],
    // $or
    [
      '$or with one true branch',
      {
        source: ['greco.control-plane'],
        $or: [{ detail: { epoch: [1] } }, { detail: { status: ['Committed'] } }],
      },
      true,
    ],
    ['$or with no true branch', { $or: [{ detail: { epoch: [1] } }, { source: ['x'] }] }, false],
    [
      '$or inside detail',
      { detail: { $or: [{ epoch: [{ numeric: ['>', 100] }] }, { live: [true] }] } },
      true,
    ],
  ])('%s', (_name, pattern, expected) => {
    expect(compileEventPattern(pattern).matches(event)).toBe(expected);
  });

  it.each([
    ['not an object', ['source'], 'Filter is not an object'],
    ['an empty object', {}, 'Empty objects are not allowed'],
    ['an empty nested object', { detail: {} }, 'Empty objects are not allowed at "detail"'],
    ['a leaf that is not a list', { source: 'greco' }, '"source" must be an object or an array'],
    ['an empty list', { source: [] }, 'Empty arrays are not allowed at "source"'],
    ['a nested list', { source: [['a']] }, 'Nested arrays are not allowed'],
    ['an unknown operator', { source: [{ startsWith: 'a' }] }, 'Unrecognized match type startsWith'],
    ['two operators in one matcher', { source: [{ prefix: 'a', suffix: 'b' }] }, 'exactly one operator'],
    ['prefix that is not a string', { source: [{ prefix: 1 }] }, '"prefix" at "source" must be a string'],
    ['numeric with an odd list', { detail: { n: [{ numeric: ['>', 1, '<'] }] } }, 'operator/value pairs'],
    [
      'numeric with an unknown operator',
      { detail: { n: [{ numeric: ['!=', 1] }] } },
      'Unrecognized numeric range operator',
    ],
    [
      'numeric with two lower bounds',
      { detail: { n: [{ numeric: ['>', 1, '>=', 2] }] } },
      'at most one lower',
    ],
    [
      'numeric with an empty range',
      { detail: { n: [{ numeric: ['>', 5, '<', 1] }] } },
      'Bottom must be less than top',
    ],
    ['numeric with a string value', { detail: { n: [{ numeric: ['>', '1'] }] } }, 'must be a number'],
    ['exists that is not a boolean', { detail: { n: [{ exists: 'yes' }] } }, 'must be true or false'],
    ['a bad CIDR', { detail: { ip: [{ cidr: '10.0.0.0/33' }] } }, 'not a valid CIDR block'],
    ['consecutive wildcards', { detail: { f: [{ wildcard: 'a**b' }] } }, 'Consecutive wildcard'],
    ['anything-but with an empty list', { detail: { f: [{ 'anything-but': [] }] } }, 'Empty arrays'],
    [
      'anything-but with a boolean',
      { detail: { f: [{ 'anything-but': [true] }] } },
      'only strings and numbers',
    ],
    [
      'anything-but with an unknown operator',
      { detail: { f: [{ 'anything-but': { numeric: ['>', 1] } }] } },
      'Unsupported anything-but',
    ],
    ['$or with one branch', { $or: [{ source: ['a'] }] }, 'at least two patterns'],
  ])('refuses %s', (_name, pattern, reason) => {
    expect(() => compileEventPattern(pattern)).toThrow(InvalidEventPatternError);
    expect(() => compileEventPattern(pattern)).toThrow(reason);
  });

  it('refuses pattern text that is not JSON', () => {
    expect(() => parseEventPattern('{source: [1]}')).toThrow('Filter is not valid JSON');
  });
});

describe('EventBridge target input', () => {
  const rule = { name: 'on-epoch', arn: 'arn:aws:events:us-east-1:000000000000:rule/greco/on-epoch' };

  it.each([
    ['$', event],
    ['$.detail.workspace', 'acme'],
    ['$.detail-type', 'Epoch Activated'],
    ['$.resources[0]', event.resources[0]],
    ['$.detail.functions[1].name', 'worker'],
    ["$.detail['nested'].deeper", { flag: 'on' }],
    ['$.detail.missing', undefined],
    ['$.detail.functions[9].name', undefined],
  ])('selects %s', (path, expected) => {
    expect(selectPath(event, path)).toEqual(expected);
  });

  it.each(['detail', '$..x', '$.a[b]', '$ .a'])('refuses the JSON path %s', (path) => {
    expect(() => parseJsonPath(path)).toThrow(InvalidJsonPathError);
  });

  it('sends the whole event, a constant Input, or the InputPath selection', () => {
    expect(JSON.parse(targetPayload({}, event, rule, event.time))).toEqual(event);
    expect(targetPayload({ Input: '{"fixed":true}' }, event, rule, event.time)).toBe('{"fixed":true}');
    expect(JSON.parse(targetPayload({ InputPath: '$.detail.roles' }, event, rule, event.time))).toEqual([
      'editor',
      'approver',
    ]);
  });

  it('fills an input template, writing values as text inside strings and as JSON outside', () => {
    const filled = fillTemplate(
      {
        InputPathsMap: {
          ws: '$.detail.workspace',
          epoch: '$.detail.epoch',
          roles: '$.detail.roles',
          none: '$.detail.missing',
        },
        InputTemplate:
          '{"message": "<ws> is at epoch <epoch>", "epoch": <epoch>, "roles": <roles>, "none": <none>, "rule": "<aws.events.rule-name>", "raw": "<notAVariable>"}',
      },
      event,
      rule,
      event.time,
    );
    expect(JSON.parse(filled)).toEqual({
      message: 'acme is at epoch 7',
      epoch: 7,
      roles: ['editor', 'approver'],
      none: null,
      rule: 'on-epoch',
      raw: '<notAVariable>',
    });
  });

  it('passes the whole event with <aws.events.event> and turns a text template into a JSON string', () => {
    const whole = targetPayload(
      { InputTransformer: { InputTemplate: '{"event": <aws.events.event>}' } },
      event,
      rule,
      event.time,
    );
    expect(JSON.parse(whole)).toEqual({ event });
    const text = targetPayload(
      {
        InputTransformer: {
          InputPathsMap: { ws: '$.detail.workspace' },
          InputTemplate: 'workspace <ws> changed',
        },
      },
      event,
      rule,
      event.time,
    );
    expect(JSON.parse(text)).toBe('workspace "acme" changed');
  });
});
