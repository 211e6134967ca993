import { describe, expect, it } from 'vitest';
import { parseConductorRequest } from '../../core/conductor/kit/request.ts';
import { base64Sha256, createdDescription, versionDescription } from '../../core/conductor/lambda/names.ts';
import { specReasons } from '../../core/conductor/lambda/vet.ts';
import { functionSpec } from '../support/fixtures.ts';

const now = new Date('2026-11-21T00:00:00Z');

describe('parseConductorRequest', () => {
  it('accepts the state machine request', () => {
    const request = { action: 'prepare', workspace: 'acme', deploymentId: 'dep-abc', targetEpoch: 3 };
    expect(parseConductorRequest(request)).toEqual(request);
  });

  it.each([
    ['a non-object', 'prepare', /must be an object/],
    [
      'an unknown action',
      { action: 'rollback', workspace: 'acme', deploymentId: 'd', targetEpoch: 1 },
      /action/,
    ],
    [
      'a bad workspace',
      { action: 'commit', workspace: 'ACME!', deploymentId: 'd', targetEpoch: 1 },
      /workspace/,
    ],
    [
      'a key-breaking deployment id',
      { action: 'abort', workspace: 'acme', deploymentId: 'a#b', targetEpoch: 1 },
      /deploymentId/,
    ],
    ['epoch 0', { action: 'commit', workspace: 'acme', deploymentId: 'd', targetEpoch: 0 }, /targetEpoch/],
    [
      'a fractional epoch',
      { action: 'commit', workspace: 'acme', deploymentId: 'd', targetEpoch: 1.5 },
      /targetEpoch/,
    ],
  ])('refuses %s with InvalidConductorRequestError', (_case, input, message) => {
    expect(() => parseConductorRequest(input)).toThrow(message);
    expect(() => parseConductorRequest(input)).toThrow(
      expect.objectContaining({ name: 'InvalidConductorRequestError' }),
    );
  });
});

describe('specReasons', () => {
  it('finds nothing wrong with a valid spec', () => {
    expect(specReasons(functionSpec('ok'), 'greco-acme-ok', now)).toEqual([]);
  });

  it.each([
    ['RUNTIME_DEPRECATED', { runtime: 'nodejs18.x' }, /deprecated by Lambda on 2025-09-01/],
    ['RUNTIME_UNSUPPORTED', { runtime: 'nodejs99.x' }, /does not offer runtime/],
    ['OUT_OF_BOUNDS', { memoryMiB: 64 }, /memoryMiB must be an integer from 128 to 10240, got 64/],
    ['OUT_OF_BOUNDS', { timeoutSeconds: 901 }, /timeoutSeconds/],
    ['OUT_OF_BOUNDS', { ephemeralStorageMiB: 100 }, /ephemeralStorageMiB/],
    ['OUT_OF_BOUNDS', { environment: { BIG: 'x'.repeat(4100) } }, /4 KB/],
    ['OUT_OF_BOUNDS', { reservedConcurrency: -1 }, /reservedConcurrency/],
  ] as const)('gives %s for %o', (code, overrides, message) => {
    const reasons = specReasons(functionSpec('f', overrides), 'greco-acme-f', now);
    expect(reasons).toEqual([{ code, function: 'f', message: expect.stringMatching(message) }]);
  });

  it('refuses a managed name longer than Lambda allows', () => {
    const reasons = specReasons(functionSpec('f'), `greco-acme-${'f'.repeat(60)}`, now);
    expect(reasons).toEqual([
      expect.objectContaining({ code: 'OUT_OF_BOUNDS', message: expect.stringMatching(/64 characters/) }),
    ]);
  });
});

describe('names the conductor recognises its own work by', () => {
  it('puts the deployment id in function and version descriptions', () => {
    expect(createdDescription('dep-1')).toContain('dep-1');
    expect(versionDescription('dep-1')).toContain('dep-1');
    expect(createdDescription('dep-1')).not.toBe(versionDescription('dep-1'));
  });

  it("turns a hex SHA-256 into Lambda's base64 CodeSha256", () => {
    expect(base64Sha256('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')).toBe(
      '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=',
    );
  });
});
