/**
 * Messages between the Lambda emulator and a function process (runtime-bootstrap.ts), sent over the
 * Node.js IPC channel (JSON serialization). One invocation at a time per process.
 */

/** A function error as Lambda's Node.js runtime reports it. */
export interface FunctionErrorPayload {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace: readonly string[];
}

/** Emulator → process: run the handler once. */
export interface InvokeMessage {
  readonly type: 'invoke';
  readonly requestId: string;
  /** The event as JSON text. */
  readonly payload: string;
  /** Epoch milliseconds when the function times out (`getRemainingTimeInMillis`). */
  readonly deadlineMs: number;
  readonly invokedFunctionArn: string;
  /** Decoded `X-Amz-Client-Context` JSON, when the caller sent one. */
  readonly clientContext?: string;
  /** Whether to send back the invocation's log output (`LogType: Tail`). */
  readonly tail: boolean;
}

/** Process → emulator: the handler module loaded; ready for invocations. */
export interface ReadyMessage {
  readonly type: 'ready';
}

/** Process → emulator: loading the handler failed (the process exits after). */
export interface InitErrorMessage {
  readonly type: 'init-error';
  readonly error: FunctionErrorPayload;
}

/** Process → emulator: one invocation ended. */
export interface ResultMessage {
  readonly type: 'result';
  readonly requestId: string;
  /** The handler's result as JSON text (absent on error). */
  readonly payload?: string;
  readonly error?: FunctionErrorPayload;
  /** The invocation's output, last 4 KB, when `tail` was asked. */
  readonly log?: string;
  /** Resident set size of the process after the invocation, in MiB. */
  readonly maxMemoryUsedMiB: number;
  /** The process exits after this message (an error escaped the handler): do not reuse it. */
  readonly exiting: boolean;
}

/** Every message a function process sends. */
export type RuntimeMessage = ReadyMessage | InitErrorMessage | ResultMessage;
