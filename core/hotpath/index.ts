/**
 * The hot path: start, suspend and state of managed functions, and the concurrency protocol the
 * Lambda conductor shares with it. Plain modules taking their clients as parameters.
 */
export {
  type Caller,
  createTokenVerifier,
  parseRolesClaim,
  requireOperator,
  type TokenVerifier,
} from './auth.ts';
export { defaultEventBusName, type HotPathConfig, hotPathConfigFromEnv } from './config.ts';
export {
  ConcurrencyNotSettledError,
  KeySetUnavailableError,
  LambdaCallError,
  LambdaUnavailableError,
  MethodNotAllowedError,
} from './errors.ts';
export {
  createEventPublisher,
  HotPathDetailTypes,
  type HotPathEvent,
  type HotPathEventPublisher,
  hotPathEventSource,
} from './events.ts';
export { type HotPathDependencies, handleHotPathRequest } from './http.ts';
export { type ObservedFunction, readFunction } from './lambda.ts';
export { createLogger, type HotPathLogger, hotPathMetricNamespace } from './log.ts';
export {
  applyCommittedConcurrency,
  type FunctionTarget,
  getFunctionState,
  type HotPathFunctionState,
  hotPathFunctionName,
  isSuspended,
  maxReservedConcurrency,
  maxSettleRounds,
  settleConcurrency,
  startFunction,
  suspendFunction,
  targetConcurrency,
  type VerbOutcome,
} from './protocol.ts';
export { type HotPathRetryOptions, HotPathRetryStrategy, hotPathRetryDefaults } from './retry.ts';
export { type ApiTimer, trackApiTime } from './timing.ts';
