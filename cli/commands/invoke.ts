import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import type { Command } from '../command.ts';
import { parseCommandArgs, printJson } from '../command.ts';
import { loadSession, type Session } from '../context.ts';
import { CliError, UnreachableError, UsageError } from '../errors.ts';

/** The Lambda client of a session: the local cloud's Lambda endpoint, or AWS through the SDK's default credential chain. */
export function lambdaClientFor(session: Session): LambdaClient {
  if (session.local !== undefined) {
    return new LambdaClient({
      endpoint: session.local.endpoints.lambda,
      region: session.local.region,
      credentials: session.local.credentials,
      maxAttempts: 1,
    });
  }
  return new LambdaClient(session.region === undefined ? {} : { region: session.region });
}

/** `greco invoke NAME [--payload JSON]`: a synchronous Invoke of the `live` alias. */
export const invoke: Command = {
  name: 'invoke',
  summary: 'invoke a function of the live model (its live alias) and print the answer',
  usage: `Usage: greco invoke NAME [--payload JSON] [--json]

Invokes <prefix>-<workspace>-NAME:live synchronously through the Lambda API (the local cloud's
endpoint, or AWS with your AWS credentials and --region of greco login) and prints the payload
it returns. Exit code 1 when the function fails (the error is printed) or cannot be invoked:
throttled when suspended (greco start NAME), not found when not in the live model.

Options:
  --payload JSON   the event (default {})
`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs('invoke', args, { payload: { type: 'string' } }, true);
    const name = positionals[0];
    if (name === undefined || positionals.length > 1)
      throw new UsageError('invoke: give one function NAME (see greco invoke --help)');
    const payload = values.payload ?? '{}';
    try {
      JSON.parse(payload);
    } catch {
      throw new UsageError(`invoke: --payload must be JSON, got ${payload}`);
    }
    const session = await loadSession(ctx);
    const functionName = `${session.managedPrefix}-${session.workspace}-${name}`;
    const lambda = lambdaClientFor(session);
    let answer: InvokeCommandOutput;
    try {
      answer = await lambda.send(
        new InvokeCommand({
          FunctionName: functionName,
          Qualifier: 'live',
          Payload: new TextEncoder().encode(payload),
        }),
      );
    } catch (error) {
      const errorName = (error as Error).name;
      if (errorName === 'ResourceNotFoundException') {
        throw new CliError(
          `${name} is not in the live model of workspace ${session.workspace} (no ${functionName}:live): greco functions lists what is`,
          { cause: error },
        );
      }
      if (errorName === 'TooManyRequestsException') {
        throw new CliError(
          `${name} is throttled (429): it is suspended or at its concurrency limit; greco start ${name} resumes a suspended function`,
          { cause: error },
        );
      }
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === undefined) {
        throw new UnreachableError(
          `cannot reach the Lambda API (${(error as Error).message}): is the local cloud running (npx greco local)?`,
          { cause: error },
        );
      }
      throw new CliError(
        `Lambda refused to invoke ${functionName}: ${errorName}: ${(error as Error).message}`,
        { cause: error },
      );
    } finally {
      lambda.destroy();
    }
    const text = answer.Payload === undefined ? '' : new TextDecoder().decode(answer.Payload);
    let result: unknown = text;
    try {
      result = text === '' ? null : JSON.parse(text);
    } catch {
      // not JSON: print as is
    }
    if (answer.FunctionError !== undefined) {
      const detail = result as { errorType?: string; errorMessage?: string };
      throw new CliError(
        `${name} failed: ${detail?.errorType ?? answer.FunctionError}: ${detail?.errorMessage ?? text}`,
        { problem: result },
      );
    }
    if (ctx.json)
      printJson(ctx, {
        functionName,
        executedVersion: answer.ExecutedVersion,
        statusCode: answer.StatusCode,
        payload: result,
      });
    else ctx.io.out(`${typeof result === 'string' ? result : JSON.stringify(result, null, 2)}\n`);
    return 0;
  },
};
