import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { starterGrecoYaml } from '../../cli/commands/init.ts';
import { loadGrecoFile } from '../../cli/config.ts';
import { runCli } from '../../cli/main.ts';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'greco-init-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function greco(cwd: string, ...argv: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(argv, { io: { out: (t) => (out += t), err: (t) => (err += t) }, cwd, env: {} });
  return { code, out, err };
}

describe('greco init', () => {
  it('writes a starter greco.yaml and functions/hello into an empty folder: a valid model whose handler answers', async () => {
    // Prepare
    const dir = join(root, 'empty');
    await mkdir(dir);

    // Act
    const run = await greco(dir, 'init');

    // Assess
    expect(run.code).toBe(0);
    expect(run.out).toContain('Wrote greco.yaml and functions/hello/index.mjs');
    expect(run.out).toContain('greco apply -f greco.yaml');
    expect(await readFile(join(dir, 'greco.yaml'), 'utf8')).toBe(starterGrecoYaml);
    const file = await loadGrecoFile('greco.yaml', dir);
    expect(file.functions.map((fn) => [fn.name, fn.runtime, fn.handler])).toEqual([
      ['hello', 'nodejs24.x', 'index.handler'],
    ]);
    const module = await import(pathToFileURL(join(dir, 'functions/hello/index.mjs')).href);
    expect(await module.handler({ name: 'Ada' })).toEqual({ message: 'Hello, Ada!' });
  });

  it('creates the folder it is given, relative to where it runs', async () => {
    // Act
    const run = await greco(root, '--json', 'init', 'new/project');

    // Assess
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out)).toEqual({
      dir: join(root, 'new/project'),
      files: ['greco.yaml', join('functions', 'hello', 'index.mjs')],
    });
  });

  it('refuses a folder that is not empty, and writes nothing', async () => {
    // Prepare
    const dir = join(root, 'busy');
    await mkdir(dir);
    await writeFile(join(dir, 'package.json'), '{}');

    // Act
    const run = await greco(dir, 'init');

    // Assess
    expect(run.code).toBe(1);
    expect(run.err.trim()).toMatch(/^greco: .*busy is not empty \(package\.json\): .*--force/);
    expect(await readdir(dir)).toEqual(['package.json']);
  });

  it('with --force adds the starter files beside others, but never overwrites one', async () => {
    // Prepare
    const dir = join(root, 'forced');
    await mkdir(dir);
    await writeFile(join(dir, 'package.json'), '{}');
    const taken = join(root, 'taken');
    await mkdir(taken);
    await writeFile(join(taken, 'greco.yaml'), 'mine\n');

    // Act
    const added = await greco(dir, 'init', '--force');
    const refused = await greco(taken, 'init', '--force');

    // Assess
    expect(added.code).toBe(0);
    expect((await readdir(dir)).sort()).toEqual(['functions', 'greco.yaml', 'package.json']);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(
      'greco.yaml already exists: greco init never overwrites a file; nothing was written',
    );
    expect(await readFile(join(taken, 'greco.yaml'), 'utf8')).toBe('mine\n');
    expect(await readdir(taken)).toEqual(['greco.yaml']);
  });
});
