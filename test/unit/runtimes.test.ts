import { describe, expect, it } from 'vitest';
import {
  newestSupportedRuntime,
  Runtimes,
  runtimeInfo,
  runtimeStatus,
  SupportedRuntimeIds,
  supportedRuntimeIds,
} from '../../core/runtimes.ts';

const november2026 = new Date('2026-11-15T12:00:00Z');

describe('runtimeStatus', () => {
  it.each([
    ['nodejs24.x', 'supported'],
    ['nodejs22.x', 'supported'],
    ['python3.14', 'supported'],
    ['python3.11', 'supported'],
    ['java25', 'supported'],
    ['java21', 'supported'],
    ['java17', 'supported'],
    ['java11', 'supported'],
    ['dotnet10', 'supported'],
    ['ruby3.4', 'supported'],
    ['provided.al2023', 'supported'],
  ])('reports %s as %s in November 2026', (id, status) => {
    expect(runtimeStatus(id, november2026)).toEqual({ status });
  });

  it.each([
    ['nodejs20.x', '2026-04-30'],
    ['nodejs18.x', '2025-09-01'],
    ['python3.10', '2026-10-31'],
    ['python3.9', '2025-12-15'],
    ['ruby3.2', '2026-03-31'],
    ['provided.al2', '2026-07-31'],
    ['dotnet8', '2026-11-10'],
    ['go1.x', '2024-01-08'],
  ])('reports %s as deprecated on %s in November 2026', (id, deprecatedOn) => {
    expect(runtimeStatus(id, november2026)).toEqual({ status: 'deprecated', deprecatedOn });
  });

  it.each(['nodejs99.x', 'NODEJS24.X', 'dotnet9', '', 'python3'])('reports %j as unknown', (id) => {
    expect(runtimeStatus(id, november2026)).toEqual({ status: 'unknown' });
  });

  it.each([
    ['2026-04-29T23:59:59.999Z', { status: 'supported' }],
    ['2026-04-30T00:00:00.000Z', { status: 'deprecated', deprecatedOn: '2026-04-30' }],
  ])('switches nodejs20.x at the start of its deprecation day (UTC): %s', (at, expected) => {
    expect(runtimeStatus('nodejs20.x', new Date(at))).toEqual(expected);
  });

  it('judges against the current time when no moment is given', () => {
    expect(runtimeStatus('nodejs18.x')).toEqual({ status: 'deprecated', deprecatedOn: '2025-09-01' });
  });
});

describe('runtime table', () => {
  it('has unique identifiers and well-formed dates', () => {
    const ids = Runtimes.map((runtime) => runtime.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const runtime of Runtimes) {
      if (runtime.deprecatedOn !== undefined) {
        expect(runtime.deprecatedOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
        expect(new Date(`${runtime.deprecatedOn}T00:00:00Z`).toISOString().slice(0, 10)).toBe(
          runtime.deprecatedOn,
        );
      }
    }
  });

  it('looks runtimes up with their family', () => {
    expect(runtimeInfo('java17.al2023')).toEqual({
      id: 'java17.al2023',
      family: 'java',
      deprecatedOn: '2029-06-30',
    });
    expect(runtimeInfo('cobol')).toBeUndefined();
  });
});

describe('supportedRuntimeIds', () => {
  it('lists exactly the runtimes not deprecated at that moment', () => {
    const ids = supportedRuntimeIds(november2026);
    expect(ids).toContain('nodejs24.x');
    expect(ids).toContain('provided.al2023');
    expect(ids).not.toContain('nodejs20.x');
    expect(ids).not.toContain('python3.10');
    for (const id of ids) expect(runtimeStatus(id, november2026)).toEqual({ status: 'supported' });
  });

  it('exports the list computed at load time', () => {
    expect(SupportedRuntimeIds).toEqual(supportedRuntimeIds());
  });
});

describe('newestSupportedRuntime', () => {
  it.each([
    ['python', '2026-11-15T00:00:00Z', 'python3.15'],
    ['ruby', '2026-11-15T00:00:00Z', 'ruby4.0'],
    ['dotnet', '2026-11-15T00:00:00Z', 'dotnet10'],
    ['dotnet', '2040-01-01T00:00:00Z', undefined],
  ] as const)('suggests the newest %s runtime at %s', (family, at, expected) => {
    expect(newestSupportedRuntime(family, new Date(at))).toBe(expected);
  });
});
