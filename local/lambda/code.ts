import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { unzipSync } from 'fflate';
import { invalidParameterValue } from './errors.ts';

/** Lambda quota: a .zip deployment package uploaded through the API, in bytes (50 MB). */
export const codeSizeZippedLimitBytes = 52_428_800;
/** Lambda quota: the unzipped deployment package (and layers), in bytes (250 MB). */
export const codeSizeUnzippedLimitBytes = 262_144_000;

/** A function's code as stored by the emulator: the zip and its unpacked folder. */
export interface CodeArtifact {
  /** Base64 SHA-256 of the zip, as Lambda reports `CodeSha256`. */
  readonly sha256: string;
  /** Hex SHA-256 of the zip: the name of its file and folder under the code root. */
  readonly sha256Hex: string;
  /** Size of the zip in bytes (`CodeSize`). */
  readonly sizeBytes: number;
  /** Path of the stored zip. */
  readonly zipPath: string;
  /** Folder the zip was unpacked into (`LAMBDA_TASK_ROOT`). */
  readonly dir: string;
}

/** Base64 SHA-256 of `bytes`, Lambda's `CodeSha256`. */
export function codeSha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64');
}

/**
 * Stores deployment packages by content under `root`: `<root>/zips/<hex>.zip` and the unpacked
 * `<root>/code/<hex>/`. The same zip is unpacked once, whichever functions and versions use it.
 */
export class CodeStore {
  readonly root: string;
  readonly #artifacts = new Map<string, CodeArtifact>();

  constructor(root: string) {
    this.root = root;
    mkdirSync(join(root, 'zips'), { recursive: true });
    mkdirSync(join(root, 'code'), { recursive: true });
  }

  /**
   * Checks, stores and unpacks a zip (once per content).
   *
   * @throws LambdaApiError InvalidParameterValueException when the bytes are not a zip, an entry
   *   points outside the package, or the unpacked size is over 250 MB (Lambda's quota)
   */
  put(zip: Uint8Array): CodeArtifact {
    const hash = createHash('sha256').update(zip).digest();
    const sha256Hex = hash.toString('hex');
    const existing = this.#artifacts.get(sha256Hex);
    if (existing !== undefined && existsSync(existing.dir)) return existing;
    const files = unpack(zip);
    const dir = join(this.root, 'code', sha256Hex);
    const staging = join(this.root, 'code', `.${sha256Hex}-${randomUUID()}`);
    try {
      mkdirSync(staging, { recursive: true });
      for (const [path, content] of files) {
        const target = join(staging, path);
        if (path.endsWith('/')) {
          mkdirSync(target, { recursive: true });
        } else {
          mkdirSync(dirname(target), { recursive: true });
          writeFileSync(target, content);
        }
      }
      rmSync(dir, { recursive: true, force: true });
      renameSync(staging, dir);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
    const zipPath = join(this.root, 'zips', `${sha256Hex}.zip`);
    writeFileSync(zipPath, zip);
    const artifact: CodeArtifact = {
      sha256: hash.toString('base64'),
      sha256Hex,
      sizeBytes: zip.byteLength,
      zipPath,
      dir,
    };
    this.#artifacts.set(sha256Hex, artifact);
    return artifact;
  }

  /** Removes stored packages whose hex SHA-256 is not in `inUse`. */
  prune(inUse: ReadonlySet<string>): void {
    for (const [hex, artifact] of this.#artifacts) {
      if (inUse.has(hex)) continue;
      this.#artifacts.delete(hex);
      rmSync(artifact.dir, { recursive: true, force: true });
      rmSync(artifact.zipPath, { force: true });
    }
  }
}

/** Unzips in memory, refusing unsafe paths and packages over the unzipped quota. */
function unpack(zip: Uint8Array): Array<[string, Uint8Array]> {
  let declaredBytes = 0;
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(zip, {
      filter(file) {
        declaredBytes += file.originalSize;
        return true;
      },
    });
  } catch (error) {
    throw Object.assign(
      invalidParameterValue(
        'Could not unzip uploaded file. Please check your file, then try to upload again.',
      ),
      { cause: error },
    );
  }
  if (declaredBytes > codeSizeUnzippedLimitBytes) {
    throw invalidParameterValue(`Unzipped size must be smaller than ${codeSizeUnzippedLimitBytes} bytes`);
  }
  const files: Array<[string, Uint8Array]> = [];
  for (const [rawPath, content] of Object.entries(entries)) {
    const path = rawPath.replaceAll('\\', '/');
    const normalized = normalize(path);
    if (isAbsolute(path) || normalized === '..' || normalized.startsWith(`..${sep}`) || path.includes('\0')) {
      throw invalidParameterValue(
        `Could not unzip uploaded file: entry '${rawPath}' points outside the deployment package.`,
      );
    }
    files.push([path, content]);
  }
  return files;
}
