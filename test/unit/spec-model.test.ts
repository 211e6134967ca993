import { constants, crc32, deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Limits, parseModelInput, type SpecContext } from '../../core/spec.ts';
import { type FieldError, ValidationError } from '../../domain/errors.ts';

const ctx: SpecContext = { managedPrefix: 'greco', workspace: 'acme', now: new Date('2026-11-15T12:00:00Z') };
const sha = 'b'.repeat(64);

function fn(name: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, runtime: 'python3.13', handler: 'app.handler', code: { sha256: sha }, ...fields };
}

/**
 * A one-file zip, base64, whose file `name` is `mebibytes` MiB of zeros, deflated: a few hundred
 * kilobytes that declare and inflate to hundreds of megabytes. The deflate stream is one MiB's
 * sync-flushed blocks repeated, then a final empty block, so building it costs nothing.
 */
function inflatingZipBase64(name: string, mebibytes: number): string {
  const bytes = mebibytes * 1024 * 1024;
  const mebibyte = Buffer.alloc(1024 * 1024);
  const block = deflateRawSync(mebibyte, { finishFlush: constants.Z_SYNC_FLUSH });
  const data = Buffer.concat([...Array.from({ length: mebibytes }, () => block), Buffer.from([0x03, 0x00])]);
  let crc = 0;
  for (let i = 0; i < mebibytes; i++) crc = crc32(mebibyte, crc);
  const nameBytes = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(bytes, 22);
  local.writeUInt16LE(nameBytes.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(bytes, 24);
  central.writeUInt16LE(nameBytes.length, 28);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + nameBytes.length, 12);
  end.writeUInt32LE(local.length + nameBytes.length + data.length, 16);
  return Buffer.concat([local, nameBytes, data, central, nameBytes, end]).toString('base64');
}

function errorsOf(input: unknown): FieldError[] {
  try {
    parseModelInput(input, ctx);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return [...(error as ValidationError).errors];
  }
  throw new Error('expected a ValidationError');
}

describe('parseModelInput', () => {
  it('returns every function with defaults, in request order', () => {
    const model = parseModelInput({ functions: [fn('orders'), fn('billing', { memoryMiB: 1024 })] }, ctx);
    expect(model.map((f) => [f.name, f.memoryMiB, f.timeoutSeconds])).toEqual([
      ['orders', 128, 3],
      ['billing', 1024, 3],
    ]);
  });

  it('accepts an empty model', () => {
    expect(parseModelInput({ functions: [] }, ctx)).toEqual([]);
  });

  it.each([
    [Limits.maxFunctionsPerWorkspace, 'accepts'],
    [Limits.maxFunctionsPerWorkspace + 1, 'rejects'],
  ])('with %i functions %s the model', (count, outcome) => {
    const functions = Array.from({ length: count }, (_, i) => fn(`f${i}`));
    if (outcome === 'accepts') expect(parseModelInput({ functions }, ctx)).toHaveLength(count);
    else {
      expect(errorsOf({ functions })).toEqual([
        { field: 'functions', message: `must hold at most 5000 functions per workspace, got ${count}` },
      ]);
    }
  });

  it('reports a duplicate name on each later use, pointing at the first', () => {
    expect(errorsOf({ functions: [fn('api'), fn('worker'), fn('api'), fn('api')] })).toEqual([
      { field: 'functions[2].name', message: 'duplicate name "api", also used by functions[0]' },
      { field: 'functions[3].name', message: 'duplicate name "api", also used by functions[0]' },
    ]);
  });

  it('treats names that differ only in case as different', () => {
    expect(parseModelInput({ functions: [fn('Api'), fn('api')] }, ctx)).toHaveLength(2);
  });

  it('lists the bad fields of every function with its index', () => {
    expect(
      errorsOf({
        functions: [
          fn('ok'),
          fn('slow', { timeoutSeconds: 901 }),
          fn('old', { runtime: 'python3.9' }),
          'nope',
        ],
      }),
    ).toEqual([
      {
        field: 'functions[1].timeoutSeconds',
        message: 'must be an integer between 1 and 900 seconds, got 901',
      },
      {
        field: 'functions[2].runtime',
        message:
          '"python3.9" was deprecated by Lambda on 2025-12-15; use python3.15 or another supported runtime',
      },
      { field: 'functions[3]', message: 'must be an object, got "nope"' },
    ]);
  });

  it.each([
    [{ functions: [], version: 2 }, [{ field: 'version', message: 'is not a known field' }]],
    [{}, [{ field: 'functions', message: 'is required' }]],
    [{ functions: {} }, [{ field: 'functions', message: 'must be an array of functions, got an object' }]],
    [[], [{ field: '(body)', message: 'must be an object with "functions", got an array' }]],
    [null, [{ field: '(body)', message: 'must be an object with "functions", got null' }]],
  ])('rejects the body %j', (input, errors) => {
    expect(errorsOf(input)).toEqual(errors);
  });

  it("refuses the inline zips past Lambda's 250 MB unzipped quota for the whole request, before inflating them", () => {
    // Prepare: zips of 10 and 245 MiB, each within the quota, 267,386,880 bytes together (over 262,144,000).
    const functions = [
      fn('first', { code: { zipBase64: inflatingZipBase64('first.bin', 10) } }),
      fn('second', { code: { zipBase64: inflatingZipBase64('second.bin', 245) } }),
    ];

    // Act
    const errors = errorsOf({ functions });

    // Assess: the first fits and is inspected; the second would take the request past the quota.
    expect(errors).toEqual([
      {
        field: 'functions[1].code.zipBase64',
        message: `is not a valid zip: the code packages of this request unzip to more than ${Limits.unzippedCodeMaxBytes} bytes together (this one declares 256901120 bytes, ${Limits.unzippedCodeMaxBytes - 10_485_760} are left): one request may inflate at most Lambda's 250 MB unzipped deployment package quota; upload larger code to the artifacts bucket and send its sha256`,
      },
    ]);
  });

  it('inspects a zip sent for several functions once, within the request quota', () => {
    // Prepare: one 90 MiB zip used by three functions (283 MB if counted three times).
    const zipBase64 = inflatingZipBase64('shared.bin', 90);
    const functions = ['a', 'b', 'c'].map((name) => fn(name, { code: { zipBase64 } }));

    // Act
    const model = parseModelInput({ functions }, ctx);

    // Assess
    expect(model.map((f) => f.name)).toEqual(['a', 'b', 'c']);
  });
});
