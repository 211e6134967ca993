import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadGrecoFile, parseGrecoFile } from '../../cli/config.ts';
import { GrecoFileError } from '../../cli/errors.ts';

const valid = `workspace: demo
functions:
  zeta:
    code: functions/zeta
    runtime: nodejs24.x
    handler: index.handler
  alpha:
    code: ./a
    runtime: nodejs24.x
    handler: index.handler
    memoryMiB: 256
    timeoutSeconds: 10
    reservedConcurrency: 2
    architecture: arm64
    environment:
      RETRIES: 3
      GREETING: Hello
    tags:
      team: shop
`;

function errorOf(text: string): string {
  try {
    parseGrecoFile(text, 'greco.yaml', '/project');
  } catch (error) {
    expect(error).toBeInstanceOf(GrecoFileError);
    return (error as Error).message;
  }
  throw new Error('expected a GrecoFileError');
}

describe('greco.yaml', () => {
  it('parses every field, resolves code folders against the file, sorts functions by name', () => {
    const file = parseGrecoFile(valid, 'greco.yaml', '/project');
    expect(file.workspace).toBe('demo');
    expect(file.functions.map((f) => f.name)).toEqual(['alpha', 'zeta']);
    expect(file.functions[0]).toEqual({
      name: 'alpha',
      codeDir: '/project/a',
      runtime: 'nodejs24.x',
      handler: 'index.handler',
      memoryMiB: 256,
      timeoutSeconds: 10,
      reservedConcurrency: 2,
      architecture: 'arm64',
      environment: { RETRIES: '3', GREETING: 'Hello' },
      tags: { team: 'shop' },
    });
    expect(file.functions[1]?.codeDir).toBe('/project/functions/zeta');
  });

  it.each([
    [
      'a value of the wrong type',
      'functions:\n  api:\n    code: x\n    runtime: nodejs24.x\n    handler: index.handler\n    memoryMiB: lots\n',
      'greco.yaml:6: functions.api.memoryMiB: expected a number, got "lots"',
    ],
    [
      'a fractional integer',
      'functions:\n  api:\n    code: x\n    runtime: nodejs24.x\n    handler: index.handler\n    timeoutSeconds: 2.5\n',
      'greco.yaml:6: functions.api.timeoutSeconds: expected an integer, got 2.5',
    ],
    [
      'a missing field',
      'functions:\n  api:\n    code: x\n    handler: index.handler\n',
      'greco.yaml:3: functions.api.runtime: is required (string)',
    ],
    [
      'an unknown field',
      'functions:\n  api:\n    code: x\n    runtime: nodejs24.x\n    handler: index.handler\n    memory: 256\n',
      'greco.yaml:3: functions.api: unknown field "memory"',
    ],
    [
      'a bad architecture',
      'functions:\n  api:\n    code: x\n    runtime: nodejs24.x\n    handler: index.handler\n    architecture: sparc\n',
      'greco.yaml:6: functions.api.architecture: Invalid option: expected one of "x86_64"|"arm64"',
    ],
    [
      'a bad function name',
      'functions:\n  "bad name":\n    code: x\n    runtime: nodejs24.x\n    handler: index.handler\n',
      'greco.yaml:2: functions.bad name: a function name holds letters, digits, - and _ (at most 64)',
    ],
    [
      'broken YAML',
      'functions:\n  api:\n    code: [x\n    runtime: nodejs24.x\n',
      'greco.yaml:4: Flow sequence in block collection must be sufficiently indented',
    ],
    [
      'a duplicate key',
      'functions:\n  api:\n    code: x\n    code: y\n',
      'greco.yaml:4: Map keys must be unique',
    ],
    ['an empty file', '', 'greco.yaml: the file is empty; it needs a functions: map'],
    ['no functions map', 'workspace: demo\n', 'greco.yaml:1: functions: is required (record)'],
  ])('rejects %s with the line', (_case, text, expected) => {
    expect(errorOf(text)).toContain(expected);
  });

  it('rejects a code folder that does not exist, with the line of its code:', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'greco-yaml-'));
    try {
      await writeFile(
        join(dir, 'greco.yaml'),
        'functions:\n  api:\n    runtime: nodejs24.x\n    code: nowhere\n    handler: index.handler\n',
      );
      await expect(loadGrecoFile('greco.yaml', dir)).rejects.toThrow(
        /^greco\.yaml:4: functions\.api\.code: .*nowhere does not exist; create it or fix the path/,
      );
      await expect(loadGrecoFile('absent.yaml', dir)).rejects.toThrow('absent.yaml: no such file');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
