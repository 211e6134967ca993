/**
 * A conductor's answer to the state machine (`ConductorResponse`, docs/conductors.md), tallied from
 * its progress records after a call: `done`, the counts, and for prepare the vote.
 *
 * `counts.done` only grows from one call to the next of the same action (records move forward
 * only): the state machine's batch loops take a call whose `counts.done` did not grow as a stall
 * and back off (`statemachines/deployment.asl.json`).
 *
 * @module
 */
import type { ChangeItem, ConductorResponse, ResultItem } from '../../deployments/types.ts';

/**
 * The answer to prepare. Vetoed once no change is `pending` and one is `vetoed` (the reasons of
 * every vetoed change); accepted once every change is `staged`; else not done.
 *
 * @param total the number of changes in the change set
 * @example
 * prepareAnswer(2, results); // { done: true, vote: 'accept', reasons: [], counts: { done: 2, remaining: 0 } }
 */
export function prepareAnswer(total: number, results: ReadonlyMap<string, ResultItem>): ConductorResponse {
  const recorded = [...results.values()];
  const finals = recorded.filter((r) => r.status === 'staged' || r.status === 'vetoed');
  const stillPending = recorded.some((r) => r.status === 'pending');
  const reasons = recorded.flatMap((r) => (r.status === 'vetoed' ? (r.reasons ?? []) : []));
  if (reasons.length > 0 && !stillPending) {
    return { done: true, vote: 'veto', reasons, counts: { done: finals.length, remaining: 0 } };
  }
  const remaining = total - finals.length;
  if (remaining > 0) return { done: false, counts: { done: finals.length, remaining } };
  return { done: true, vote: 'accept', reasons: [], counts: { done: finals.length, remaining: 0 } };
}

/**
 * The answer to commit: done when every change is `committed`.
 *
 * @param total the number of changes in the change set
 */
export function commitAnswer(total: number, results: ReadonlyMap<string, ResultItem>): ConductorResponse {
  const done = [...results.values()].filter((r) => r.status === 'committed').length;
  return { done: done === total, counts: { done, remaining: total - done } };
}

/** The answer to abort: done when every change prepare recorded is `aborted` (unrecorded ones staged nothing). */
export function abortAnswer(
  changes: readonly ChangeItem[],
  results: ReadonlyMap<string, ResultItem>,
): ConductorResponse {
  const recorded = changes.filter((change) => results.has(change.name));
  const done = recorded.filter((change) => results.get(change.name)?.status === 'aborted').length;
  const remaining = recorded.length - done;
  return { done: remaining === 0, counts: { done, remaining } };
}
