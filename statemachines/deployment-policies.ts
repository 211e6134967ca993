/**
 * The policies of `deployment.asl.json`, defined once. The Amazon States Language has no
 * references, so the definition repeats each policy where it applies (a `Retry` block per Task,
 * the batch loops' backoff per Map); `test/unit/deployments-asl.test.ts` checks that every copy
 * equals the one here, so a policy changes here and in the definition together or CI fails.
 *
 * Why a checked copy rather than `definitionSubstitutions`: substitutions replace text inside JSON
 * strings, so substituting a whole `Retry` array would make the file invalid JSON until deployed
 * (no asl-validator, no editor schema, no local run without the CDK) and would change the
 * synthesized template. The definition stays plain ASL that the console, the validator and the
 * local emulator read as it is.
 */

/** One rule of a Task's `Retry` field, as the Amazon States Language spells it. */
export interface RetryRule {
  readonly ErrorEquals: readonly string[];
  /** First wait, in seconds. */
  readonly IntervalSeconds: number;
  /** Retries after the first attempt. */
  readonly MaxAttempts: number;
  /** Multiplier of the wait after each retry. */
  readonly BackoffRate: number;
  /** Longest wait, in seconds. */
  readonly MaxDelaySeconds: number;
  readonly JitterStrategy: 'FULL' | 'NONE';
}

/**
 * Errors of the Lambda service itself (not of the function) and a task timeout: what every Task
 * retries, because running the same invocation again is safe (every step and every conductor
 * action is idempotent, docs/deployments.md).
 */
export const transientTaskErrors = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
  'States.Timeout',
] as const;

/**
 * Before the decision (Begin, PrepareBatch): transient errors only, 6 retries from 1 s doubling up
 * to 30 s with full jitter (about a minute). The task's own errors are not retried: they abort.
 */
export const retryBeforeDecision: readonly RetryRule[] = [
  {
    ErrorEquals: transientTaskErrors,
    IntervalSeconds: 1,
    MaxAttempts: 6,
    BackoffRate: 2,
    MaxDelaySeconds: 30,
    JitterStrategy: 'FULL',
  },
];

/**
 * The decision and after (Decide, WriteEpoch, CommitBatch, FinishCommitted, FinishCommitIncomplete,
 * AbortBatch, FinishAborted): the deployment only moves forward, so transient errors are retried
 * 20 times (1 s doubling up to 60 s, full jitter: about 17 minutes) and the task's own errors
 * (`States.TaskFailed`) 8 times (2 s doubling up to 60 s) before the Catch takes over.
 */
export const retryAfterDecision: readonly RetryRule[] = [
  {
    ErrorEquals: transientTaskErrors,
    IntervalSeconds: 1,
    MaxAttempts: 20,
    BackoffRate: 2,
    MaxDelaySeconds: 60,
    JitterStrategy: 'FULL',
  },
  {
    ErrorEquals: ['States.TaskFailed'],
    IntervalSeconds: 2,
    MaxAttempts: 8,
    BackoffRate: 2,
    MaxDelaySeconds: 60,
    JitterStrategy: 'FULL',
  },
];

/** The Retry policy of each Task of the definition, by state name. */
export const taskRetry: Readonly<Record<string, readonly RetryRule[]>> = {
  Begin: retryBeforeDecision,
  PrepareBatch: retryBeforeDecision,
  Decide: retryAfterDecision,
  WriteEpoch: retryAfterDecision,
  CommitBatch: retryAfterDecision,
  FinishCommitted: retryAfterDecision,
  FinishCommitIncomplete: retryAfterDecision,
  AbortBatch: retryAfterDecision,
  FinishAborted: retryAfterDecision,
};

/**
 * The batch loops (PrepareBatch, CommitBatch, AbortBatch). A batch *progresses* when the
 * conductor's `counts.done` is larger than in every earlier answer of the loop; the next batch is
 * then invoked at once. A batch that answers `done: false` without progress is a *stall*: the loop
 * waits `firstWaitSeconds`, doubling with each stall in a row (1, 2, 4 … 64 s), and the
 * `maxStalledBatches`-th stall in a row ends the loop with the error {@link stalledError}
 * (prepare: the deployment aborts; commit: CommitIncomplete; abort: FinishAborted).
 *
 * Every loop ends: each progressing batch raises `counts.done`, which never exceeds the change
 * set, and fewer than `maxStalledBatches` stalls separate two progressing batches. A stall costs
 * about a dozen history events (task, choices, wait, pass), far below Step Functions' 25,000.
 */
export const batchLoop = {
  /** Stalls in a row that end the loop: the last one is not waited for. */
  maxStalledBatches: 8,
  /** The wait after the first stall of a streak, in seconds; each further stall doubles it. */
  firstWaitSeconds: 1,
  /** The `Error` a loop ends with when it gives up. */
  stalledError: 'ConductorStalled',
} as const;

/** The loop state each Map iteration starts with, and each progress resets to (`$.progress`). */
export const initialLoopProgress = { done: 0, stalls: 0, waitSeconds: batchLoop.firstWaitSeconds } as const;
