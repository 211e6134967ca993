import { cp, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PackagingError } from '../../cli/errors.ts';
import { deterministicZip, packageFunction } from '../../cli/package.ts';
import { inspectZip } from '../../core/zip.ts';

const durationsDir = resolve(import.meta.dirname, '../../examples/fleet/functions/durations');

describe('deterministic packaging', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'greco-pkg-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the same bytes for the same files whatever their order, mtimes or modes', () => {
    const a = deterministicZip(
      new Map([
        ['b.js', new Uint8Array([1, 2])],
        ['a.js', new Uint8Array([3])],
      ]),
    );
    const b = deterministicZip(
      new Map([
        ['a.js', new Uint8Array([3])],
        ['b.js', new Uint8Array([1, 2])],
      ]),
    );
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(inspectZip(a).entries).toEqual(['a.js', 'b.js']);
  });

  it('hashes a plain folder the same twice, across a touch, and differently after a change', async () => {
    const code = join(dir, 'plain');
    await cp(resolve(import.meta.dirname, '../../examples/fleet/functions/greeter'), code, {
      recursive: true,
    });
    await writeFile(join(code, 'data.json'), '{"a":1}');
    const first = await packageFunction(code, 'index.handler');
    await utimes(join(code, 'data.json'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    const second = await packageFunction(code, 'index.handler');
    expect(second.sha256).toBe(first.sha256);
    expect(first.entries).toEqual(['data.json', 'index.mjs']);
    expect(first.bundled).toBe(false);

    await writeFile(join(code, 'data.json'), '{"a":2}');
    const changed = await packageFunction(code, 'index.handler');
    expect(changed.sha256).not.toBe(first.sha256);
  });

  it('bundles a folder with a package.json, its npm dependency inside, @aws-sdk left out', async () => {
    const first = await packageFunction(durationsDir, 'index.handler');
    const second = await packageFunction(durationsDir, 'index.handler');
    expect(first.bundled).toBe(true);
    expect(first.entries).toEqual(['index.mjs']);
    expect(second.sha256).toBe(first.sha256);
    const code = join(dir, 'bundle');
    await cp(durationsDir, code, { recursive: true });
    const bundle = await packageFunction(code, 'index.handler');
    expect(bundle.sha256).toBe(first.sha256); // same files in another folder: same hash

    await writeFile(
      join(code, 'index.mjs'),
      "import ms from 'ms';\nimport { LambdaClient } from '@aws-sdk/client-lambda';\nexport const handler = async () => ({ ms: ms('1m'), c: typeof LambdaClient });\n",
    );
    const rebuilt = await packageFunction(code, 'index.handler');
    expect(rebuilt.sha256).not.toBe(first.sha256);
    // The bundle keeps @aws-sdk as an import (the runtime provides it) and inlines ms.
    const text = new TextDecoder().decode(await unzipOne(rebuilt.zip));
    expect(text).toMatch(/from ["']@aws-sdk\/client-lambda["']/);
    expect(text).not.toMatch(/from ["']ms["']/);
  });

  it('refuses an empty folder and a package.json without the handler file', async () => {
    const empty = join(dir, 'empty');
    await cp(durationsDir, join(dir, 'noentry'), { recursive: true });
    await rm(join(dir, 'noentry', 'index.mjs'));
    await (await import('node:fs/promises')).mkdir(empty);
    await expect(packageFunction(empty, 'index.handler')).rejects.toBeInstanceOf(PackagingError);
    await expect(packageFunction(join(dir, 'noentry'), 'index.handler')).rejects.toThrow(
      /has a package.json but no index\./,
    );
  });
});

async function unzipOne(zip: Uint8Array): Promise<Uint8Array> {
  const { unzipSync } = await import('fflate');
  const files = unzipSync(zip);
  const first = Object.values(files)[0];
  if (first === undefined) throw new Error('empty zip');
  return first;
}
