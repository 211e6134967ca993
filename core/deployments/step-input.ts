/**
 * The input of the deployment-steps Lambda, as deployment.asl.json sends it: one `action` field
 * naming the step (like the conductors' input), the deployment's ids, and what that step needs.
 * Checked with one schema before any step runs; the state machine may pass more fields (the
 * `decide` task gets the whole state), which are ignored.
 *
 * @module
 */
import * as z from 'zod/mini';
import { workspaceIdPattern } from '../../domain/names.ts';
import { InvalidStepInputError } from './errors.ts';
import { deploymentIdPattern } from './ids.ts';
import type { DeploymentSteps } from './steps.ts';
import type {
  BeginOutput,
  ConductorVote,
  DecideOutput,
  DeploymentStepName,
  EpochStepInput,
  EpochStepOutput,
  StepError,
} from './types.ts';

/** Every step the deployment-steps Lambda runs, in the order of a deployment. */
export const deploymentStepNames = [
  'begin',
  'decide',
  'write-epoch',
  'finish-committed',
  'finish-aborted',
  'finish-commit-incomplete',
] as const satisfies readonly DeploymentStepName[];

/** An error as a Catch hands it on (`{ Error, Cause }`); lower-case spellings accepted too. */
const stepError = z.looseObject({
  Error: z.optional(z.string()),
  Cause: z.optional(z.string()),
  error: z.optional(z.string()),
  cause: z.optional(z.string()),
});

/** A conductor's final prepare answer, as the Prepare Map collects them. */
const conductorVote = z.looseObject({
  conductor: z.optional(z.string()),
  done: z.optional(z.boolean()),
  vote: z.optional(z.enum(['accept', 'veto'])),
  reasons: z.optional(
    z.array(z.looseObject({ code: z.string(), message: z.string(), function: z.optional(z.string()) })),
  ),
  counts: z.optional(z.looseObject({ done: z.number(), remaining: z.number() })),
});

const ids = {
  workspace: z.string().check(z.regex(workspaceIdPattern)),
  deploymentId: z.string().check(z.regex(deploymentIdPattern)),
};
const epoch = z.int().check(z.gte(1));
/** The error that ended prepare, begin or the commit path, when one did (`null`: none). */
const endedBy = z.optional(z.nullable(stepError));

/** The input of each step, by `action`. */
const stepInputSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('begin'), ...ids }),
  // `error` is what a Catch put in the state (`ResultPath: $.error`); `prepareError` the same, named.
  z.object({
    action: z.literal('decide'),
    ...ids,
    votes: z.optional(z.array(conductorVote)),
    error: endedBy,
    prepareError: endedBy,
  }),
  z.object({ action: z.literal('write-epoch'), ...ids, targetEpoch: epoch }),
  // The finish steps read the target epoch from the record when it is absent.
  z.object({
    action: z.enum(['finish-committed', 'finish-aborted', 'finish-commit-incomplete']),
    ...ids,
    targetEpoch: z.optional(epoch),
    error: endedBy,
  }),
]);

/** The input of the deployment-steps Lambda, checked. */
export type StepInput = z.output<typeof stepInputSchema>;

/**
 * Checks the input of the deployment-steps Lambda.
 *
 * @throws InvalidStepInputError naming every bad field as `input.<path>`, e.g.
 *   `write-epoch: input.targetEpoch must be an integer ≥ 1, got 0` (a state machine bug:
 *   retrying cannot help)
 */
export function parseStepInput(event: unknown): StepInput {
  const result = z.safeParse(stepInputSchema, event, { reportInput: true });
  if (result.success) return result.data;
  const action =
    typeof event === 'object' && event !== null && typeof (event as { action?: unknown }).action === 'string'
      ? (event as { action: string }).action
      : 'deployment step';
  const problems = result.error.issues.map((issue) => `input.${pathOf(issue.path)} ${messageOf(issue)}`);
  throw new InvalidStepInputError(`${action}: ${problems.join('; ')}`);
}

/**
 * Runs the step `event.action` with its input, after checking the input.
 *
 * @throws InvalidStepInputError for an unknown action or a malformed input (a state machine bug)
 */
export async function runDeploymentStep(
  steps: DeploymentSteps,
  event: unknown,
): Promise<BeginOutput | DecideOutput | EpochStepOutput> {
  const input = parseStepInput(event);
  const base = { workspace: input.workspace, deploymentId: input.deploymentId };
  switch (input.action) {
    case 'begin':
      return steps.begin(base);
    case 'decide': {
      const prepareError = input.prepareError ?? input.error;
      return steps.decide({
        ...base,
        ...(input.votes === undefined ? {} : { votes: input.votes as ConductorVote[] }),
        ...(prepareError === undefined || prepareError === null
          ? {}
          : { prepareError: prepareError as StepError }),
      });
    }
    case 'write-epoch':
      return steps.writeEpoch({ ...base, targetEpoch: input.targetEpoch });
    default: {
      const epochInput: EpochStepInput = {
        ...base,
        ...(input.targetEpoch === undefined ? {} : { targetEpoch: input.targetEpoch }),
        ...(input.error === undefined || input.error === null ? {} : { error: input.error as StepError }),
      };
      if (input.action === 'finish-committed') return steps.finishCommitted(epochInput);
      if (input.action === 'finish-aborted') return steps.finishAborted(epochInput);
      return steps.finishCommitIncomplete(epochInput);
    }
  }
}

type Issue = z.core.$ZodIssue;

/** `votes[0].vote` for the path `['votes', 0, 'vote']`. */
function pathOf(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`))
    .join('');
}

/** What is wrong with the value of one issue, in words. */
function messageOf(issue: Issue): string {
  const got = 'input' in issue && issue.input !== undefined ? `, got ${JSON.stringify(issue.input)}` : '';
  switch (issue.code) {
    case 'invalid_union':
      if ('discriminator' in issue) {
        const input = (issue.input ?? {}) as { action?: unknown };
        const value = input.action === undefined ? ', got nothing' : `, got ${JSON.stringify(input.action)}`;
        return `must be one of ${deploymentStepNames.join(', ')}${value}`;
      }
      return `is invalid${got}`;
    case 'invalid_type':
      return issue.input === undefined
        ? `is required (${issue.expected})`
        : `must be ${issue.expected === 'int' ? 'an integer' : `a ${issue.expected}`}${got}`;
    case 'invalid_format':
      return 'pattern' in issue && issue.pattern !== undefined
        ? `must match ${issue.pattern}${got}`
        : `is malformed${got}`;
    case 'too_small':
      return `must be ${issue.origin === 'number' ? 'an integer' : 'a value'} ≥ ${String(issue.minimum)}${got}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}${got}`;
    default:
      return `is invalid${got}`;
  }
}
