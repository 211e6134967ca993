import { type CodeRef, codeRef, type FunctionSpec } from '../../core/spec.ts';
import { sha256Hex } from '../../core/zip.ts';
import { sampleZip } from '../../support/fixtures.ts';

/** The {@link CodeRef} {@link sampleZip} is stored under. */
export function sampleCodeRef(seed = 'hello'): CodeRef {
  const bytes = sampleZip(seed);
  return codeRef(sha256Hex(bytes), bytes.byteLength);
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
