/**
 * Lambda's managed runtimes for .zip deployment packages, with the date each one is (or was)
 * deprecated.
 *
 * Source: the AWS Lambda Developer Guide, "Lambda runtimes"
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html), tables "Supported
 * runtimes" and "Deprecated runtimes", column "Deprecation date", as published in 2026 (after
 * AWS moved the Amazon Linux 2 based runtimes' dates and added the `java*.al2023` runtimes).
 * `nodejs26.x` and `python3.15` are accepted by the Lambda API (they are members of its
 * `Runtime` enum in `@aws-sdk/client-lambda`) but no deprecation date had been published for
 * them in the sources consulted; they carry none here.
 *
 * Container-image-only runtimes (`dotnet5.0`, `dotnet7`, `dotnet9`) are left out: greco deploys
 * .zip packages only, so they are unknown to it.
 *
 * On its deprecation date a runtime stops receiving security patches and Lambda starts blocking
 * the creation of new functions on it (function updates are blocked some weeks later). greco
 * refuses deprecated runtimes from that date on, so that a model never depends on the grace
 * period. Dates are compared in UTC.
 */

/** Language family of a runtime; `provided` is Lambda's OS-only runtime family. */
export type RuntimeFamily = 'nodejs' | 'python' | 'java' | 'dotnet' | 'ruby' | 'provided';

/** One Lambda runtime identifier. */
export interface RuntimeInfo {
  /** Lambda's runtime identifier, e.g. `nodejs24.x` (the `Runtime` field of CreateFunction). */
  readonly id: string;
  readonly family: RuntimeFamily;
  /** First day (`YYYY-MM-DD`, UTC) on which Lambda deprecates the runtime; absent when not scheduled. */
  readonly deprecatedOn?: string;
}

/** Answer of {@link runtimeStatus}. */
export type RuntimeStatus =
  | { readonly status: 'supported' }
  | { readonly status: 'deprecated'; readonly deprecatedOn: string }
  | { readonly status: 'unknown' };

/**
 * Every runtime greco knows, newest first within each family (the first supported entry of a
 * family is the one suggested as a replacement).
 */
export const Runtimes: readonly RuntimeInfo[] = [
  // Node.js
  { id: 'nodejs26.x', family: 'nodejs' },
  { id: 'nodejs24.x', family: 'nodejs', deprecatedOn: '2028-04-30' },
  { id: 'nodejs22.x', family: 'nodejs', deprecatedOn: '2027-04-30' },
  { id: 'nodejs20.x', family: 'nodejs', deprecatedOn: '2026-04-30' },
  { id: 'nodejs18.x', family: 'nodejs', deprecatedOn: '2025-09-01' },
  { id: 'nodejs16.x', family: 'nodejs', deprecatedOn: '2024-06-12' },
  { id: 'nodejs14.x', family: 'nodejs', deprecatedOn: '2023-12-04' },
  { id: 'nodejs12.x', family: 'nodejs', deprecatedOn: '2023-03-31' },
  { id: 'nodejs10.x', family: 'nodejs', deprecatedOn: '2021-07-30' },
  { id: 'nodejs8.10', family: 'nodejs', deprecatedOn: '2020-03-06' },
  { id: 'nodejs6.10', family: 'nodejs', deprecatedOn: '2019-08-12' },
  { id: 'nodejs4.3', family: 'nodejs', deprecatedOn: '2020-03-05' },
  { id: 'nodejs4.3-edge', family: 'nodejs', deprecatedOn: '2020-03-05' },
  { id: 'nodejs', family: 'nodejs', deprecatedOn: '2016-08-30' },
  // Python
  { id: 'python3.15', family: 'python' },
  { id: 'python3.14', family: 'python', deprecatedOn: '2029-06-30' },
  { id: 'python3.13', family: 'python', deprecatedOn: '2029-06-30' },
  { id: 'python3.12', family: 'python', deprecatedOn: '2028-10-31' },
  { id: 'python3.11', family: 'python', deprecatedOn: '2027-06-30' },
  { id: 'python3.10', family: 'python', deprecatedOn: '2026-10-31' },
  { id: 'python3.9', family: 'python', deprecatedOn: '2025-12-15' },
  { id: 'python3.8', family: 'python', deprecatedOn: '2024-10-14' },
  { id: 'python3.7', family: 'python', deprecatedOn: '2023-12-04' },
  { id: 'python3.6', family: 'python', deprecatedOn: '2022-07-18' },
  { id: 'python2.7', family: 'python', deprecatedOn: '2021-07-15' },
  // Java
  { id: 'java25', family: 'java', deprecatedOn: '2029-06-30' },
  { id: 'java21', family: 'java', deprecatedOn: '2029-06-30' },
  { id: 'java17.al2023', family: 'java', deprecatedOn: '2029-06-30' },
  { id: 'java11.al2023', family: 'java', deprecatedOn: '2029-06-30' },
  { id: 'java8.al2023', family: 'java', deprecatedOn: '2029-06-30' },
  { id: 'java17', family: 'java', deprecatedOn: '2027-06-30' },
  { id: 'java11', family: 'java', deprecatedOn: '2027-06-30' },
  { id: 'java8.al2', family: 'java', deprecatedOn: '2027-06-30' },
  { id: 'java8', family: 'java', deprecatedOn: '2024-01-08' },
  // .NET
  { id: 'dotnet10', family: 'dotnet', deprecatedOn: '2028-11-14' },
  { id: 'dotnet8', family: 'dotnet', deprecatedOn: '2026-11-10' },
  { id: 'dotnet6', family: 'dotnet', deprecatedOn: '2024-12-20' },
  { id: 'dotnetcore3.1', family: 'dotnet', deprecatedOn: '2023-04-03' },
  { id: 'dotnetcore2.1', family: 'dotnet', deprecatedOn: '2022-01-05' },
  { id: 'dotnetcore2.0', family: 'dotnet', deprecatedOn: '2019-05-30' },
  { id: 'dotnetcore1.0', family: 'dotnet', deprecatedOn: '2019-06-27' },
  // Ruby
  { id: 'ruby4.0', family: 'ruby', deprecatedOn: '2029-03-31' },
  { id: 'ruby3.4', family: 'ruby', deprecatedOn: '2028-03-31' },
  { id: 'ruby3.3', family: 'ruby', deprecatedOn: '2027-03-31' },
  { id: 'ruby3.2', family: 'ruby', deprecatedOn: '2026-03-31' },
  { id: 'ruby2.7', family: 'ruby', deprecatedOn: '2023-12-07' },
  { id: 'ruby2.5', family: 'ruby', deprecatedOn: '2021-07-30' },
  // OS-only. `go1.x` ran on Amazon Linux 1; AWS's migration path for it is `provided.al2023`.
  { id: 'provided.al2023', family: 'provided', deprecatedOn: '2029-06-30' },
  { id: 'provided.al2', family: 'provided', deprecatedOn: '2026-07-31' },
  { id: 'provided', family: 'provided', deprecatedOn: '2024-01-08' },
  { id: 'go1.x', family: 'provided', deprecatedOn: '2024-01-08' },
];

const byId: ReadonlyMap<string, RuntimeInfo> = new Map(Runtimes.map((runtime) => [runtime.id, runtime]));

/** `YYYY-MM-DD` of `now` in UTC. */
function utcDay(now: Date): string {
  return now.toISOString().slice(0, 10);
}

function isDeprecated(runtime: RuntimeInfo, day: string): boolean {
  return runtime.deprecatedOn !== undefined && day >= runtime.deprecatedOn;
}

/** Looks a runtime up by its Lambda identifier (case-sensitive, as Lambda is). */
export function runtimeInfo(id: string): RuntimeInfo | undefined {
  return byId.get(id);
}

/**
 * Whether Lambda still supports a runtime for new functions on `now`'s UTC day.
 *
 * @param id - Lambda runtime identifier, e.g. `python3.13`
 * @param now - the moment to judge at; defaults to the current time
 * @example
 * runtimeStatus('nodejs18.x', new Date('2026-11-01')); // { status: 'deprecated', deprecatedOn: '2025-09-01' }
 */
export function runtimeStatus(id: string, now: Date = new Date()): RuntimeStatus {
  const runtime = byId.get(id);
  if (runtime === undefined) return { status: 'unknown' };
  if (runtime.deprecatedOn !== undefined && isDeprecated(runtime, utcDay(now))) {
    return { status: 'deprecated', deprecatedOn: runtime.deprecatedOn };
  }
  return { status: 'supported' };
}

/** Identifiers of the runtimes supported on `now`'s UTC day, in {@link Runtimes} order. */
export function supportedRuntimeIds(now: Date = new Date()): string[] {
  const day = utcDay(now);
  return Runtimes.filter((runtime) => !isDeprecated(runtime, day)).map((runtime) => runtime.id);
}

/**
 * The newest runtime of a family that is supported on `now`'s UTC day: what to suggest in place
 * of a deprecated one. `undefined` when the family has none left.
 */
export function newestSupportedRuntime(family: RuntimeFamily, now: Date = new Date()): string | undefined {
  const day = utcDay(now);
  return Runtimes.find((runtime) => runtime.family === family && !isDeprecated(runtime, day))?.id;
}

/** Identifiers of the runtimes supported when this module was loaded (see {@link supportedRuntimeIds}). */
export const SupportedRuntimeIds: readonly string[] = supportedRuntimeIds();
