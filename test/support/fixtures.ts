import { zipSync } from 'fflate';
import { type CodeRef, codeRef, type FunctionSpec } from '../../core/spec.ts';
import { sha256Hex } from '../../core/zip.ts';

/**
 * A small, valid zip with an `index.mjs` whose text includes `seed`: the same seed always gives
 * the same bytes (fixed timestamps), distinct seeds distinct hashes.
 */
export function sampleZip(seed = 'hello'): Uint8Array {
  const source = `export const handler = async () => ({ statusCode: 200, body: ${JSON.stringify(seed)} });\n`;
  return zipSync(
    { 'index.mjs': new TextEncoder().encode(source) },
    { mtime: new Date('2026-01-01T00:00:00Z') },
  );
}

/** {@link sampleZip} as base64, for `code.zipBase64`. */
export function sampleZipBase64(seed = 'hello'): string {
  return Buffer.from(sampleZip(seed)).toString('base64');
}

/** The {@link CodeRef} {@link sampleZip} is stored under. */
export function sampleCodeRef(seed = 'hello'): CodeRef {
  const bytes = sampleZip(seed);
  return codeRef(sha256Hex(bytes), bytes.byteLength);
}

/** A function as a client sends it, with inline code; `overrides` replace or add fields. */
export function functionInput(
  name: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name,
    runtime: 'nodejs24.x',
    handler: 'index.handler',
    code: { zipBase64: sampleZipBase64(name) },
    ...overrides,
  };
}

/** A stored function spec (defaults applied), e.g. to seed a live model with `setLiveModel`. */
export function functionSpec(name: string, overrides: Partial<FunctionSpec> = {}): FunctionSpec {
  return {
    name,
    runtime: 'nodejs24.x',
    handler: 'index.handler',
    code: sampleCodeRef('shared'),
    memoryMiB: 128,
    timeoutSeconds: 3,
    ephemeralStorageMiB: 512,
    environment: {},
    architecture: 'x86_64',
    tags: {},
    ...overrides,
  };
}

/** `fn-00000` … : names that sort in creation order. */
export function functionName(index: number): string {
  return `fn-${String(index).padStart(5, '0')}`;
}
