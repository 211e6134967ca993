/**
 * Conductors: components that own one kind of runtime resource and vote in prepare, enact in
 * commit, clean up in abort (docs/conductors.md). The Lambda conductor is the first.
 */
export {
  ConductorError,
  ConductorLambdaError,
  ConductorStateError,
  InvalidConductorRequestError,
} from './errors.ts';
export {
  base64Sha256,
  createdDescription,
  LambdaConductor,
  type LambdaConductorOptions,
  lambdaConductorDefaults,
  lambdaConductorName,
  liveAlias,
  parseConductorRequest,
  specReasons,
  versionDescription,
} from './lambda-conductor.ts';
export {
  type DeploymentRecords,
  loadChanges,
  loadResults,
  putResult,
  type ResultPrecondition,
} from './progress.ts';
export {
  type ConductorLambdaClientOptions,
  conductorRateDefaults,
  createConductorLambdaClient,
  installRateLimit,
  type LambdaRateLimiters,
  RateLimiter,
  type RateLimiterOptions,
  rateLimitersOf,
} from './rate-limit.ts';
