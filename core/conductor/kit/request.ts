/**
 * The request a conductor receives from the state machine (`ConductorRequest`, docs/conductors.md),
 * checked with a schema before anything is read or written.
 *
 * @module
 */
import * as z from 'zod/mini';
import { ValidationError } from '../../../domain/errors.ts';
import { validateWorkspaceId } from '../../../domain/names.ts';
import type { ConductorRequest } from '../../deployments/types.ts';
import { InvalidConductorRequestError } from './errors.ts';

/**
 * A deployment id as a conductor accepts it: a Step Functions execution name, 1 to 80 letters,
 * digits, `-` or `_` (Step Functions API Reference, StartExecution `name`; it also keeps `#` out of
 * config-table keys). greco's own ids are narrower (`core/deployments/ids.ts`).
 */
export const executionNamePattern = /^[A-Za-z0-9_-]{1,80}$/;

const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

const requestSchema = z.object(
  {
    action: z.enum(['prepare', 'commit', 'abort'], {
      error: (issue) => `action must be "prepare", "commit" or "abort", got ${show(issue.input)}`,
    }),
    workspace: z
      .string({ error: (issue) => `workspace must be a string, got ${show(issue.input)}` })
      .check((check) => {
        try {
          validateWorkspaceId(check.value);
        } catch (error) {
          if (!(error instanceof ValidationError)) throw error;
          check.issues.push({
            code: 'custom',
            input: check.value,
            message: `workspace ${show(check.value)} is not a valid workspace id: ${error.errors.map((e) => e.message).join('; ')}`,
          });
        }
      }),
    deploymentId: z
      .string({ error: (issue) => deploymentIdMessage(issue.input) })
      .check(z.regex(executionNamePattern, { error: (issue) => deploymentIdMessage(issue.input) })),
    targetEpoch: z
      .int({ error: (issue) => `targetEpoch must be an integer >= 1, got ${show(issue.input)}` })
      .check(z.gte(1)),
  },
  { error: (issue) => `the request must be an object, got ${show(issue.input)}` },
);

function deploymentIdMessage(input: unknown): string {
  return `deploymentId must be 1 to 80 letters, digits, '-' or '_' (a Step Functions execution name), got ${show(input)}`;
}

/**
 * Checks the request a conductor receives from the state machine; unknown members are dropped.
 *
 * @example
 * parseConductorRequest({ action: 'prepare', workspace: 'acme', deploymentId: 'dep-…', targetEpoch: 4 });
 * @throws InvalidConductorRequestError naming every bad field
 */
export function parseConductorRequest(input: unknown): ConductorRequest {
  const result = z.safeParse(requestSchema, input, { reportInput: true });
  if (result.success) return result.data;
  throw new InvalidConductorRequestError(result.error.issues.map((issue) => issue.message).join('; '));
}
