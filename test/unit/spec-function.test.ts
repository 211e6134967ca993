import { strToU8, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import {
  artifactKey,
  codeRef,
  decodeZipBase64,
  fieldPath,
  Limits,
  parseFunctionSpecInput,
  RuntimeControlEnvironmentKeys,
  type SpecContext,
  toFunctionSpec,
} from '../../core/spec.ts';
import { type FieldError, ValidationError } from '../../domain/errors.ts';
import { managedFunctionName, maxFunctionNameLength } from '../../domain/names.ts';

const ctx: SpecContext = { managedPrefix: 'greco', workspace: 'acme', now: new Date('2026-11-15T12:00:00Z') };
const sha = 'a'.repeat(64);
const base = { name: 'api', runtime: 'nodejs24.x', handler: 'index.handler', code: { sha256: sha } };
const zipBase64 = Buffer.from(
  zipSync({ 'index.mjs': strToU8('export const handler = async () => 1;') }),
).toString('base64');
/** Longest name in workspace `acme` with prefix `greco`: 64 − 5 − 4 − 2. */
const maxName = 53;

function errorsOf(input: unknown, context: SpecContext = ctx, path?: string): FieldError[] {
  try {
    parseFunctionSpecInput(input, context, path);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return [...(error as ValidationError).errors];
  }
  throw new Error('expected a ValidationError');
}

/** An environment of exactly `bytes` UTF-8 bytes of keys and values, over several entries. */
function environmentOfBytes(bytes: number): Record<string, string> {
  const environment: Record<string, string> = { FIRST: 'x'.repeat(1000), SECOND: 'y'.repeat(1000) };
  const used = 'FIRST'.length + 1000 + 'SECOND'.length + 1000;
  environment.LAST = 'z'.repeat(bytes - used - 'LAST'.length);
  return environment;
}

function tagsOfCount(count: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`tag${i}`, `value${i}`]));
}

describe('parseFunctionSpecInput', () => {
  it('applies the defaults', () => {
    expect(parseFunctionSpecInput(base, ctx)).toEqual({
      ...base,
      memoryMiB: 128,
      timeoutSeconds: 3,
      ephemeralStorageMiB: 512,
      environment: {},
      architecture: 'x86_64',
      tags: {},
    });
  });

  it('keeps reservedConcurrency absent when it is not sent (unreserved)', () => {
    expect(parseFunctionSpecInput(base, ctx)).not.toHaveProperty('reservedConcurrency');
  });

  it('accepts an inline zip', () => {
    expect(parseFunctionSpecInput({ ...base, code: { zipBase64 } }, ctx).code).toEqual({ zipBase64 });
  });

  it('changes nothing in the input', () => {
    const input = { ...base, environment: { LOG_LEVEL: 'debug' }, tags: { team: 'core' } };
    const copy = structuredClone(input);
    parseFunctionSpecInput(input, ctx);
    expect(input).toEqual(copy);
  });

  it.each([
    ['memoryMiB at its minimum', { memoryMiB: 128 }],
    ['memoryMiB at its maximum', { memoryMiB: 10240 }],
    ['timeoutSeconds at its minimum', { timeoutSeconds: 1 }],
    ['timeoutSeconds at its maximum', { timeoutSeconds: 900 }],
    ['ephemeralStorageMiB at its minimum', { ephemeralStorageMiB: 512 }],
    ['ephemeralStorageMiB at its maximum', { ephemeralStorageMiB: 10240 }],
    ['reservedConcurrency of 0 (blocked)', { reservedConcurrency: 0 }],
    ['reservedConcurrency of 900', { reservedConcurrency: 900 }],
    ['architecture arm64', { architecture: 'arm64' }],
    ['architecture x86_64', { architecture: 'x86_64' }],
    ['a name of the longest length the workspace allows', { name: 'n'.repeat(maxName) }],
    ['a name of one character', { name: 'a' }],
    ['a name with hyphens and underscores', { name: 'Orders_v2-api' }],
    ['a handler of 128 characters', { handler: `${'h'.repeat(120)}.handler` }],
    ['a Java handler', { handler: 'example.Handler::handleRequest' }],
    ['a runtime that is still supported', { runtime: 'python3.11' }],
    ['an environment key of two characters', { environment: { AB: 'x' } }],
    ['an environment value with a newline (a PEM certificate)', { environment: { CA: '-----BEGIN\nx' } }],
    ['an empty environment value', { environment: { EMPTY: '' } }],
    ['an environment of exactly 4096 bytes', { environment: environmentOfBytes(4096) }],
    [`${Limits.maxUserTags} tags`, { tags: tagsOfCount(Limits.maxUserTags) }],
    ['a tag key of 128 characters', { tags: { ['k'.repeat(128)]: 'v' } }],
    ['a tag value of 256 characters', { tags: { team: 'v'.repeat(256) } }],
    ['an empty tag value', { tags: { team: '' } }],
    ['a tag key containing "aws:" after its start', { tags: { 'team:aws:x': 'v' } }],
    ['tags in any script, with spaces and _ . : / = + - @', { tags: { 'ключ ü': 'значение 7 _.:/=+-@' } }],
  ])('accepts %s', (_case, fields) => {
    const parsed = parseFunctionSpecInput({ ...base, ...fields }, ctx);
    expect(parsed).toMatchObject(fields);
  });

  it.each([
    [
      'memoryMiB below 128',
      { memoryMiB: 127 },
      'memoryMiB',
      'must be an integer between 128 and 10240 MiB, got 127',
    ],
    [
      'memoryMiB above 10240',
      { memoryMiB: 20000 },
      'memoryMiB',
      'must be an integer between 128 and 10240 MiB, got 20000',
    ],
    [
      'a fractional memoryMiB',
      { memoryMiB: 128.5 },
      'memoryMiB',
      'must be an integer between 128 and 10240 MiB, got 128.5',
    ],
    [
      'memoryMiB as text',
      { memoryMiB: '256' },
      'memoryMiB',
      'must be an integer between 128 and 10240 MiB, got "256"',
    ],
    [
      'memoryMiB null',
      { memoryMiB: null },
      'memoryMiB',
      'must be an integer between 128 and 10240 MiB, got null',
    ],
    [
      'timeoutSeconds of 0',
      { timeoutSeconds: 0 },
      'timeoutSeconds',
      'must be an integer between 1 and 900 seconds, got 0',
    ],
    [
      'timeoutSeconds above 900',
      { timeoutSeconds: 901 },
      'timeoutSeconds',
      'must be an integer between 1 and 900 seconds, got 901',
    ],
    [
      'ephemeralStorageMiB below 512',
      { ephemeralStorageMiB: 511 },
      'ephemeralStorageMiB',
      'must be an integer between 512 and 10240 MiB, got 511',
    ],
    [
      'ephemeralStorageMiB above 10240',
      { ephemeralStorageMiB: 10241 },
      'ephemeralStorageMiB',
      'must be an integer between 512 and 10240 MiB, got 10241',
    ],
    [
      'reservedConcurrency of 901, above the default account quota of 1,000 minus 100',
      { reservedConcurrency: 901 },
      'reservedConcurrency',
      "must be at most 900, the account's concurrency quota of 1000 minus the 100 Lambda keeps unreserved (context greco:accountConcurrency for a raised quota), got 901",
    ],
    [
      'reservedConcurrency of 10,000,000',
      { reservedConcurrency: 10_000_000 },
      'reservedConcurrency',
      "must be at most 900, the account's concurrency quota of 1000 minus the 100 Lambda keeps unreserved (context greco:accountConcurrency for a raised quota), got 10000000",
    ],
    [
      'reservedConcurrency of 2^53 − 1',
      { reservedConcurrency: Number.MAX_SAFE_INTEGER },
      'reservedConcurrency',
      "must be at most 900, the account's concurrency quota of 1000 minus the 100 Lambda keeps unreserved (context greco:accountConcurrency for a raised quota), got 9007199254740991",
    ],
    [
      'a negative reservedConcurrency',
      { reservedConcurrency: -1 },
      'reservedConcurrency',
      'must be an integer of at least 0 (omit it for unreserved concurrency), got -1',
    ],
    [
      'a fractional reservedConcurrency',
      { reservedConcurrency: 1.5 },
      'reservedConcurrency',
      'must be an integer of at least 0 (omit it for unreserved concurrency), got 1.5',
    ],
    [
      'an unknown architecture',
      { architecture: 'arm' },
      'architecture',
      'must be "x86_64" or "arm64", got "arm"',
    ],
    [
      'a name one character too long',
      { name: 'n'.repeat(maxName + 1) },
      'name',
      `must be at most ${maxName} characters in workspace "acme", got ${maxName + 1}: the Lambda function name greco-acme-<name> is limited to 64 characters`,
    ],
    [
      'an empty name',
      { name: '' },
      'name',
      'must be letters, digits, hyphens or underscores (at least one), got ""',
    ],
    [
      'a name with a dot',
      { name: 'api.v2' },
      'name',
      'must be letters, digits, hyphens or underscores (at least one), got "api.v2"',
    ],
    ['a name that is not a string', { name: 7 }, 'name', 'must be a string, got 7'],
    [
      'a handler of 129 characters',
      { handler: 'h'.repeat(129) },
      'handler',
      'must be 1 to 128 characters, got 129',
    ],
    ['an empty handler', { handler: '' }, 'handler', 'must be 1 to 128 characters, got 0'],
    [
      'a handler with a space',
      { handler: 'index handler' },
      'handler',
      'must not contain whitespace, got "index handler"',
    ],
    [
      'a handler with a NUL byte',
      { handler: 'index\u0000.handler' },
      'handler',
      'must not contain control characters (NUL included), got "index\\u0000.handler"',
    ],
    [
      'a handler with an escape character',
      { handler: 'index.\u001bhandler' },
      'handler',
      'must not contain control characters (NUL included), got "index.\\u001bhandler"',
    ],
    [
      'a handler with DEL',
      { handler: 'index.handler\u007f' },
      'handler',
      'must not contain control characters (NUL included), got "index.handler\u007f"',
    ],
    [
      'a deprecated runtime',
      { runtime: 'nodejs20.x' },
      'runtime',
      '"nodejs20.x" was deprecated by Lambda on 2026-04-30; use nodejs26.x or another supported runtime',
    ],
    [
      'a runtime deprecated days before',
      { runtime: 'dotnet8' },
      'runtime',
      '"dotnet8" was deprecated by Lambda on 2026-11-10; use dotnet10 or another supported runtime',
    ],
    [
      'an environment key of one character',
      { environment: { A: 'x' } },
      'environment.A',
      'key must start with a letter and have at least 2 characters, all letters, digits or underscores',
    ],
    [
      'an environment key starting with a digit',
      { environment: { '1A': 'x' } },
      'environment["1A"]',
      'key must start with a letter and have at least 2 characters, all letters, digits or underscores',
    ],
    [
      'an environment key with a hyphen',
      { environment: { 'LOG-LEVEL': 'x' } },
      'environment.LOG-LEVEL',
      'key must start with a letter and have at least 2 characters, all letters, digits or underscores',
    ],
    [
      'the reserved AWS_REGION',
      { environment: { AWS_REGION: 'eu-west-1' } },
      'environment.AWS_REGION',
      'key is reserved by Lambda (AWS_REGION is set by the runtime)',
    ],
    [
      'the reserved AWS_LAMBDA_FUNCTION_NAME',
      { environment: { AWS_LAMBDA_FUNCTION_NAME: 'x' } },
      'environment.AWS_LAMBDA_FUNCTION_NAME',
      'key is reserved by Lambda (AWS_LAMBDA_FUNCTION_NAME is set by the runtime)',
    ],
    [
      'the reserved LAMBDA_TASK_ROOT',
      { environment: { LAMBDA_TASK_ROOT: '/x' } },
      'environment.LAMBDA_TASK_ROOT',
      'key is reserved by Lambda (LAMBDA_TASK_ROOT is set by the runtime)',
    ],
    [
      'the reserved _HANDLER',
      { environment: { _HANDLER: 'x' } },
      'environment._HANDLER',
      'key must start with a letter and have at least 2 characters, all letters, digits or underscores',
    ],
    [
      'the settable AWS_LAMBDA_EXEC_WRAPPER, which wraps the runtime',
      { environment: { AWS_LAMBDA_EXEC_WRAPPER: '/opt/wrapper' } },
      'environment.AWS_LAMBDA_EXEC_WRAPPER',
      'key changes the runtime itself (AWS_LAMBDA_EXEC_WRAPPER: a wrapper script that starts the runtime); greco refuses it (docs/security.md, "Input bounds")',
    ],
    [
      'an environment value with a NUL',
      { environment: { TOKEN: 'a\u0000b' } },
      'environment.TOKEN',
      'must not contain NUL (U+0000): no process environment can hold it',
    ],
    [
      'an environment value that is not a string',
      { environment: { PORT: 8080 } },
      'environment.PORT',
      'must be a string, got 8080',
    ],
    [
      'an environment that is an array',
      { environment: ['A=1'] },
      'environment',
      'must be an object of strings, got an array',
    ],
    [
      'an environment of 4097 bytes',
      { environment: environmentOfBytes(4097) },
      'environment',
      'keys and values total 4097 bytes; Lambda allows at most 4096 bytes (4 KB)',
    ],
    [
      'an environment over 4 KB in UTF-8 bytes, not characters',
      { environment: { NAME: 'é'.repeat(2047) } },
      'environment',
      'keys and values total 4098 bytes; Lambda allows at most 4096 bytes (4 KB)',
    ],
    [
      `${Limits.maxUserTags + 1} tags`,
      { tags: tagsOfCount(Limits.maxUserTags + 1) },
      'tags',
      `must hold at most ${Limits.maxUserTags} tags, got ${Limits.maxUserTags + 1} (Lambda allows 50 per function; greco uses 5)`,
    ],
    [
      'a tag key of 129 characters',
      { tags: { ['k'.repeat(129)]: 'v' } },
      `tags.${'k'.repeat(129)}`,
      'key must be 1 to 128 characters, got 129',
    ],
    ['an empty tag key', { tags: { '': 'v' } }, 'tags[""]', 'key must be 1 to 128 characters, got 0'],
    [
      'a tag key starting with aws:',
      { tags: { 'aws:team': 'v' } },
      'tags["aws:team"]',
      'key must not start with "aws:" (reserved by AWS)',
    ],
    [
      'a tag key starting with AWS: in capitals',
      { tags: { 'AWS:team': 'v' } },
      'tags["AWS:team"]',
      'key must not start with "aws:" (reserved by AWS)',
    ],
    [
      'a tag key starting with greco:',
      { tags: { 'greco:managed': 'false' } },
      'tags["greco:managed"]',
      'key must not start with "greco:" (reserved for greco\'s own tags)',
    ],
    [
      'a tag key with a NUL',
      { tags: { 'te\u0000am': 'v' } },
      'tags["te\\u0000am"]',
      'key must not contain control characters (NUL included)',
    ],
    [
      'a tag value with a newline',
      { tags: { team: 'core\nadmin' } },
      'tags.team',
      'must not contain control characters (NUL included)',
    ],
    [
      'a tag value with a right-to-left override (U+202E)',
      { tags: { team: 'core\u202eadmin' } },
      'tags.team',
      'must be letters, numbers, spaces or _ . : / = + - @ (AWS tagging rules), got "core\u202eadmin"',
    ],
    [
      'a tag value with a C1 control (U+0085)',
      { tags: { team: 'core\u0085admin' } },
      'tags.team',
      'must be letters, numbers, spaces or _ . : / = + - @ (AWS tagging rules), got "core\u0085admin"',
    ],
    [
      'a tag key with a zero-width space (U+200B)',
      { tags: { 'te\u200bam': 'v' } },
      'tags["te\u200bam"]',
      'key must be letters, numbers, spaces or _ . : / = + - @ (AWS tagging rules)',
    ],
    [
      'a tag value with a comma and a star',
      { tags: { team: 'a,*' } },
      'tags.team',
      'must be letters, numbers, spaces or _ . : / = + - @ (AWS tagging rules), got "a,*"',
    ],
    [
      'a tag value of 257 characters',
      { tags: { team: 'v'.repeat(257) } },
      'tags.team',
      'must be at most 256 characters, got 257',
    ],
    ['a tag value that is not a string', { tags: { team: true } }, 'tags.team', 'must be a string, got true'],
    [
      'code with both zipBase64 and sha256',
      { code: { zipBase64, sha256: sha } },
      'code',
      'must have exactly one of zipBase64 or sha256, got both',
    ],
    ['code with neither', { code: {} }, 'code', 'must have exactly one of zipBase64 or sha256, got neither'],
    [
      'code that is a string',
      { code: sha },
      'code',
      `must be an object with zipBase64 or sha256, got "${sha.slice(0, 64)}"`,
    ],
    [
      'a sha256 in capitals',
      { code: { sha256: 'A'.repeat(64) } },
      'code.sha256',
      `must be 64 lowercase hex characters, got "${'A'.repeat(64)}"`,
    ],
    [
      'a sha256 of 63 characters',
      { code: { sha256: 'a'.repeat(63) } },
      'code.sha256',
      `must be 64 lowercase hex characters, got "${'a'.repeat(63)}"`,
    ],
    [
      'zipBase64 that is not base64',
      { code: { zipBase64: 'not base64!' } },
      'code.zipBase64',
      'must be valid base64 (A-Z, a-z, 0-9, +, /, with = padding)',
    ],
    [
      'zipBase64 without its padding',
      { code: { zipBase64: zipBase64.replace(/=+$/, '') } },
      'code.zipBase64',
      'must be valid base64 (A-Z, a-z, 0-9, +, /, with = padding)',
    ],
    [
      'zipBase64 that is not a zip',
      { code: { zipBase64: Buffer.from('this is a plain text file, not a zip archive').toString('base64') } },
      'code.zipBase64',
      'is not a valid zip: no end of central directory record found: not a zip, or a truncated one',
    ],
    [
      'zipBase64 of an empty file',
      { code: { zipBase64: '' } },
      'code.zipBase64',
      'is not a valid zip: the code package is empty (0 bytes)',
    ],
    ['an unknown code field', { code: { sha256: sha, bucket: 'x' } }, 'code.bucket', 'is not a known field'],
    [
      'a read-only s3Key that is not the key of its sha256',
      { code: { sha256: sha, s3Key: 'x' } },
      'code.s3Key',
      `is read-only: the zip of this sha256 is "code/${sha}.zip", got "x"`,
    ],
    [
      'a read-only field beside an inline zip',
      { code: { zipBase64, sizeBytes: 10 } },
      'code.sizeBytes',
      'is read-only: send it only beside sha256, as GET answers it, or leave it out',
    ],
    [
      'a negative read-only sizeBytes',
      { code: { sha256: sha, sizeBytes: -1 } },
      'code.sizeBytes',
      "is read-only: must be the zip's size in bytes, got -1",
    ],
    ['an unknown field', { description: 'hello' }, 'description', 'is not a known field'],
  ])('rejects %s', (_case, fields, field, message) => {
    expect(errorsOf({ ...base, ...fields })).toEqual([{ field, message }]);
  });

  it('rejects an unknown runtime and lists the supported ones', () => {
    const [error] = errorsOf({ ...base, runtime: 'nodejs99.x' });
    expect(error?.field).toBe('runtime');
    expect(error?.message).toMatch(/^unknown runtime "nodejs99\.x"; supported runtimes: .*nodejs24\.x/);
    expect(error?.message).not.toContain('nodejs20.x');
  });

  it('rejects "__proto__" keys instead of dropping them', () => {
    const input = JSON.parse(
      `{"name":"api","runtime":"nodejs24.x","handler":"h","code":{"sha256":"${sha}"},"environment":{"__proto__":"x"},"tags":{"__proto__":"x"}}`,
    );
    expect(errorsOf(input, ctx, 'functions[0]')).toEqual([
      { field: 'functions[0].environment.__proto__', message: 'key must not be "__proto__"' },
      { field: 'functions[0].tags.__proto__', message: 'key must not be "__proto__"' },
    ]);
  });

  it.each([...RuntimeControlEnvironmentKeys.keys()])(
    'refuses the environment key %s, which changes the runtime itself',
    (key) => {
      const [error] = errorsOf({ ...base, environment: { [key]: 'x' } });
      expect(error?.field).toBe(`environment.${key}`);
      expect(error?.message).toMatch(new RegExp(`^key changes the runtime itself \\(${key}: `));
    },
  );

  it('bounds reservedConcurrency by the configured account quota minus the 100 Lambda keeps unreserved', () => {
    // Prepare: an account whose concurrency quota was raised to 5,000.
    const raised: SpecContext = { ...ctx, maxReservedConcurrency: 4900 };

    // Act
    const accepted = parseFunctionSpecInput({ ...base, reservedConcurrency: 4900 }, raised);
    const errors = errorsOf({ ...base, reservedConcurrency: 4901 }, raised);

    // Assess
    expect(accepted.reservedConcurrency).toBe(4900);
    expect(errors).toEqual([
      {
        field: 'reservedConcurrency',
        message:
          "must be at most 4900, the account's concurrency quota of 5000 minus the 100 Lambda keeps unreserved (context greco:accountConcurrency for a raised quota), got 4901",
      },
    ]);
  });

  it('refuses an inline zip whose central-directory entries all point at one deflated entry', () => {
    // Prepare: the probe's zip, 262 entries that all name the one 1 MB deflated entry at offset 0.
    const zip = Buffer.from(zipSync({ 'a.js': new Uint8Array(1_000_000) }));
    const centralAt = zip.readUInt32LE(zip.length - 22 + 16);
    const central = zip.subarray(centralAt, zip.length - 22);
    const end = Buffer.from(zip.subarray(zip.length - 22));
    end.writeUInt16LE(262, 8);
    end.writeUInt16LE(262, 10);
    end.writeUInt32LE(central.length * 262, 12);
    const bomb = Buffer.concat([
      zip.subarray(0, centralAt),
      ...Array.from({ length: 262 }, () => central),
      end,
    ]);

    // Act
    const errors = errorsOf({ ...base, code: { zipBase64: bomb.toString('base64') } });

    // Assess
    expect(errors).toEqual([
      {
        field: 'code.zipBase64',
        message:
          'is not a valid zip: entries "a.js" and "a.js" share the local header at offset 0: every entry must have its own data',
      },
    ]);
  });

  it('rejects an inline zip that decodes to more than 5 MiB', () => {
    const tooBig = Buffer.alloc(Limits.inlineZipMaxBytes + 1).toString('base64');
    expect(errorsOf({ ...base, code: { zipBase64: tooBig } })).toEqual([
      {
        field: 'code.zipBase64',
        message: `decodes to ${Limits.inlineZipMaxBytes + 1} bytes; inline zips are limited to 5242880 bytes (5 MiB): upload larger code to the artifacts bucket and send its sha256`,
      },
    ]);
  });

  it('names every missing required field', () => {
    expect(errorsOf({})).toEqual([
      { field: 'name', message: 'is required' },
      { field: 'runtime', message: 'is required' },
      { field: 'handler', message: 'is required' },
      { field: 'code', message: 'is required' },
    ]);
  });

  it.each([
    [null, 'must be an object, got null'],
    [[base], 'must be an object, got an array'],
    ['api', 'must be an object, got "api"'],
  ])('rejects a body of %j', (input, message) => {
    expect(errorsOf(input)).toEqual([{ field: '(body)', message }]);
    expect(errorsOf(input, ctx, 'functions[4]')).toEqual([{ field: 'functions[4]', message }]);
  });

  it('lists every bad field, not only the first, under the given path', () => {
    const errors = errorsOf(
      {
        ...base,
        memoryMiB: 1,
        timeoutSeconds: 1000,
        environment: { AWS_REGION: 'x' },
        tags: { 'aws:x': 'y' },
        extra: 1,
      },
      ctx,
      'functions[2]',
    );
    expect(errors.map((error) => error.field)).toEqual([
      'functions[2].memoryMiB',
      'functions[2].timeoutSeconds',
      'functions[2].environment.AWS_REGION',
      'functions[2].tags["aws:x"]',
      'functions[2].extra',
    ]);
    const error = new ValidationError(errors);
    expect(error.message).toBe(
      'functions[2].memoryMiB: must be an integer between 128 and 10240 MiB, got 1 (and 4 more)',
    );
  });

  it('bounds the name by the workspace id length', () => {
    const longWorkspace: SpecContext = { ...ctx, workspace: 'w'.repeat(32) };
    expect(maxFunctionNameLength('greco', 'w'.repeat(32))).toBe(25);
    expect(parseFunctionSpecInput({ ...base, name: 'n'.repeat(25) }, longWorkspace).name).toHaveLength(25);
    expect(errorsOf({ ...base, name: 'n'.repeat(26) }, longWorkspace)[0]?.message).toContain(
      `must be at most 25 characters in workspace "${'w'.repeat(32)}"`,
    );
  });

  it('judges runtime deprecation at the context moment', () => {
    const before: SpecContext = { ...ctx, now: new Date('2026-04-29T12:00:00Z') };
    expect(parseFunctionSpecInput({ ...base, runtime: 'nodejs20.x' }, before).runtime).toBe('nodejs20.x');
    expect(errorsOf({ ...base, runtime: 'nodejs20.x' })[0]?.message).toContain(
      'deprecated by Lambda on 2026-04-30',
    );
  });

  it('rejects an invalid workspace in the context', () => {
    expect(() => parseFunctionSpecInput(base, { ...ctx, workspace: 'Acme' })).toThrow(ValidationError);
  });

  it('refuses a managed prefix that leaves no room for names', () => {
    expect(() => parseFunctionSpecInput(base, { ...ctx, managedPrefix: 'p'.repeat(58) })).toThrow(
      /must be letters, digits, hyphens or underscores and leave room for a function name/,
    );
  });
});

describe('names and keys', () => {
  it('builds managed function names and artifact keys', () => {
    expect(managedFunctionName('greco', 'acme', 'api')).toBe('greco-acme-api');
    expect(artifactKey(sha)).toBe(`code/${sha}.zip`);
    expect(codeRef(sha, 1234)).toEqual({ sha256: sha, sizeBytes: 1234, s3Key: `code/${sha}.zip` });
  });

  it.each([
    [['memoryMiB'], 'memoryMiB'],
    [['functions', 3, 'memoryMiB'], 'functions[3].memoryMiB'],
    [['environment', 'LOG_LEVEL'], 'environment.LOG_LEVEL'],
    [['tags', 'cost:center'], 'tags["cost:center"]'],
    [['tags', 'team'], 'tags.team'],
  ] as const)('renders the path %j as %s', (segments, path) => {
    expect(fieldPath(segments)).toBe(path);
  });

  it('turns a validated input into a stored spec', () => {
    const input = parseFunctionSpecInput({ ...base, reservedConcurrency: 5 }, ctx);
    expect(toFunctionSpec(input, codeRef(sha, 10))).toEqual({
      name: 'api',
      runtime: 'nodejs24.x',
      handler: 'index.handler',
      code: { sha256: sha, sizeBytes: 10, s3Key: `code/${sha}.zip` },
      memoryMiB: 128,
      timeoutSeconds: 3,
      ephemeralStorageMiB: 512,
      environment: {},
      reservedConcurrency: 5,
      architecture: 'x86_64',
      tags: {},
    });
  });

  it('decodes an accepted inline zip and refuses text that is not base64', () => {
    expect(Buffer.from(decodeZipBase64(zipBase64)).toString('base64')).toBe(zipBase64);
    expect(() => decodeZipBase64('%%%')).toThrow(ValidationError);
  });
});
