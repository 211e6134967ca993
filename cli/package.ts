/**
 * Packaging a code folder into the zip Lambda runs, deterministically: the same files give the
 * same bytes, so the same SHA-256, so an unchanged function is not redeployed.
 *
 * - A folder without `package.json` is zipped as it is (every regular file, recursively).
 * - A folder with a `package.json` is bundled with esbuild the way the CDK's `NodejsFunction`
 *   does (platform node, target node24, the handler file's module format, `@aws-sdk/*` left to
 *   the runtime), so its npm dependencies ship inside the zip. When its `node_modules` is
 *   missing, `npm ci` (with a lock file) or `npm install` runs in the folder first.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { type Zippable, zipSync } from 'fflate';
import { sha256Hex } from '../core/zip.ts';
import { PackagingError } from './errors.ts';

const run = promisify(execFile);

/**
 * The modification time every entry gets: 1980-01-01 00:00, the earliest a zip's MS-DOS date
 * can hold (APPNOTE 4.4.6). Built from local-time parts because fflate writes local-time parts,
 * so the bytes are the same in every time zone.
 */
const fixedModificationTime = new Date(1980, 0, 1, 0, 0, 0);
/** Unix mode of every entry, in the external attributes: a regular file, rw-r--r-- (Lambda reads it as any user). */
const fileAttributes = (0o100644 << 16) >>> 0;
/** "Version made by" host: 3 = UNIX (APPNOTE 4.4.2), so that the mode above is read. */
const unixHost = 3;
/** Deflate level: fixed, since the level changes the bytes. */
const deflateLevel = 9;

/** A packaged function. */
export interface CodePackage {
  /** The zip. */
  readonly zip: Uint8Array;
  /** Lowercase hex SHA-256 of {@link zip}: what greco names code by. */
  readonly sha256: string;
  /** Entry names, sorted. */
  readonly entries: readonly string[];
  /** Whether esbuild bundled the folder (it has a package.json). */
  readonly bundled: boolean;
}

/**
 * Zips files deterministically: entries sorted by name (code-unit order), fixed mtime,
 * fixed permissions (0644), fixed compression level, no directory entries.
 *
 * @param files - entry name (`/`-separated, relative) → content
 * @example
 * const zip = deterministicZip(new Map([['index.mjs', new TextEncoder().encode('...')]]));
 */
export function deterministicZip(files: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const names = [...files.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const tree: Zippable = {};
  for (const name of names) {
    tree[name] = [
      files.get(name) as Uint8Array,
      { mtime: fixedModificationTime, attrs: fileAttributes, os: unixHost, level: deflateLevel },
    ];
  }
  return zipSync(tree);
}

/** Options of {@link packageFunction}. */
export interface PackageOptions {
  /** Run `npm ci` / `npm install` when a bundled folder has no node_modules. @default true */
  readonly installDependencies?: boolean;
}

/**
 * Packages one function's code folder (see the module comment for the two cases).
 *
 * @param codeDir - absolute path of the folder
 * @param handler - the Lambda handler, `<module path>.<export>` (e.g. `index.handler`); for a
 *   bundled folder it names the entry file, `<module path>.{ts,mts,cts,js,mjs,cjs}`
 * @throws PackagingError when the folder has no files, the entry file is missing, the install
 *   or the bundling fails
 */
export async function packageFunction(
  codeDir: string,
  handler: string,
  options: PackageOptions = {},
): Promise<CodePackage> {
  const hasPackageJson = await stat(join(codeDir, 'package.json')).then(
    (info) => info.isFile(),
    () => false,
  );
  const files = hasPackageJson
    ? await bundleFolder(codeDir, handler, options.installDependencies ?? true)
    : await readFolder(codeDir);
  if (files.size === 0) throw new PackagingError(`${codeDir} has no files to package`);
  const zip = deterministicZip(files);
  return {
    zip,
    sha256: sha256Hex(zip),
    entries: [...files.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    bundled: hasPackageJson,
  };
}

/** Every regular file under `dir` (symbolic links and `.git` skipped), by relative `/` path. */
async function readFolder(dir: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const walk = async (folder: string): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true });
    for (const entry of entries) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== '.git') await walk(path);
      } else if (entry.isFile()) {
        files.set(relative(dir, path).split(sep).join('/'), new Uint8Array(await readFile(path)));
      }
    }
  };
  try {
    await walk(dir);
  } catch (error) {
    throw new PackagingError(`cannot read ${dir}: ${(error as Error).message}`, { cause: error });
  }
  return files;
}

const entryExtensions = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'] as const;

async function bundleFolder(
  dir: string,
  handler: string,
  install: boolean,
): Promise<Map<string, Uint8Array>> {
  const dot = handler.lastIndexOf('.');
  if (dot <= 0) {
    throw new PackagingError(`handler "${handler}" must be <module>.<export>, e.g. index.handler`);
  }
  const modulePath = handler.slice(0, dot);
  let entry: string | undefined;
  for (const extension of entryExtensions) {
    const candidate = join(dir, `${modulePath}${extension}`);
    if (
      await stat(candidate).then(
        (info) => info.isFile(),
        () => false,
      )
    ) {
      entry = candidate;
      break;
    }
  }
  if (entry === undefined) {
    throw new PackagingError(
      `${dir} has a package.json but no ${modulePath}.{${entryExtensions.map((e) => e.slice(1)).join(',')}} for handler "${handler}"`,
    );
  }
  const packageJson = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { type?: string };
  const format = moduleFormat(entry, packageJson.type);

  if (
    install &&
    !(await stat(join(dir, 'node_modules')).then(
      () => true,
      () => false,
    ))
  ) {
    const hasLock = await stat(join(dir, 'package-lock.json')).then(
      () => true,
      () => false,
    );
    const args = hasLock ? ['ci', '--no-audit', '--no-fund'] : ['install', '--no-audit', '--no-fund'];
    try {
      await run('npm', args, { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? '')
        .trim()
        .split('\n')
        .at(-1);
      throw new PackagingError(`npm ${args[0]} failed in ${dir}: ${stderr || (error as Error).message}`, {
        cause: error,
      });
    }
  }

  // The CDK's NodejsFunction writes index.mjs for ESM and index.js for CommonJS.
  const outName = `${modulePath}${format === 'esm' ? '.mjs' : '.js'}`;
  try {
    const result = await build({
      entryPoints: [entry],
      absWorkingDir: dir,
      bundle: true,
      platform: 'node',
      target: 'node24',
      format,
      external: ['@aws-sdk/*'],
      outfile: join(dir, outName),
      write: false,
      logLevel: 'silent',
      legalComments: 'none',
      charset: 'utf8',
      // As NodejsFunction's documented ESM banner: lets bundled CommonJS code require() Node's built-ins.
      ...(format === 'esm'
        ? {
            banner: {
              js: "import { createRequire as __grecoCreateRequire } from 'node:module'; const require = __grecoCreateRequire(import.meta.url);",
            },
          }
        : {}),
    });
    const file = result.outputFiles[0];
    if (file === undefined) throw new PackagingError(`esbuild wrote nothing for ${entry}`);
    return new Map([[outName.split(sep).join('/'), file.contents]]);
  } catch (error) {
    if (error instanceof PackagingError) throw error;
    const first = (error as { errors?: { text: string; location?: { file: string; line: number } }[] })
      .errors?.[0];
    const where = first?.location === undefined ? '' : ` (${first.location.file}:${first.location.line})`;
    throw new PackagingError(`bundling ${entry} failed: ${first?.text ?? (error as Error).message}${where}`, {
      cause: error,
    });
  }
}

function moduleFormat(entry: string, packageType: string | undefined): 'esm' | 'cjs' {
  if (entry.endsWith('.mjs') || entry.endsWith('.mts')) return 'esm';
  if (entry.endsWith('.cjs') || entry.endsWith('.cts')) return 'cjs';
  return packageType === 'module' ? 'esm' : 'cjs';
}
