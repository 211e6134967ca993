/**
 * A conductor call's time budget: how much of its invocation it may use, and the worker pool that
 * starts changes only while the budget lasts (docs/conductors.md, "Time budget").
 *
 * @module
 */
import { forEachWithConcurrency } from '../../../domain/pool.ts';

/**
 * Time kept back from the invocation's remaining time, in ms: the changes in flight when the
 * budget runs out finish within it (a Lambda waiter may run 10 s past the budget) and the answer
 * is sent.
 */
export const budgetMarginMs = 20_000;

/** Smallest budget given to a call, in ms, so that even a short invocation makes progress. */
export const minimumBudgetMs = 1_000;

/**
 * The budget of one call from the invocation's remaining time: that time minus
 * {@link budgetMarginMs}, at least {@link minimumBudgetMs}.
 *
 * @example
 * callBudgetMs(context.getRemainingTimeInMillis()); // 880_000 for a fresh 900 s invocation
 */
export function callBudgetMs(remainingMs: number): number {
  return Math.max(minimumBudgetMs, remainingMs - budgetMarginMs);
}

/**
 * The moment a call given `budgetMs` stops starting work, in ms since the Unix epoch.
 *
 * @throws RangeError when `budgetMs` is negative or not finite
 */
export function callDeadline(budgetMs: number, now: number = Date.now()): number {
  if (!Number.isFinite(budgetMs) || budgetMs < 0) {
    throw new RangeError(`budgetMs must be a finite number of milliseconds >= 0, got ${budgetMs}`);
  }
  return now + budgetMs;
}

/** Options of {@link forEachWithinBudget}. */
export interface BudgetedPoolOptions<T> {
  /** Items in work at once: an integer ≥ 1. */
  readonly concurrency: number;
  /** No item is started after this moment (ms since the Unix epoch), except the first. */
  readonly deadline: number;
  /** Errors that leave an item as it is instead of failing the call. */
  readonly isTransient: (error: unknown) => boolean;
  /** Told of every item left by a transient error. @default - nothing */
  readonly onTransient?: (item: T, error: unknown) => void;
}

/**
 * Runs `work` over `items` through the one worker pool (`domain/pool.ts`), starting new items only
 * before the deadline, and always at least one so that every call makes progress (`work` answers
 * `'skip'` for an item it did not work on, which does not count). An item whose work throws a
 * transient error stays as it is; any other error is thrown once the items in flight have ended.
 *
 * @throws the first non-transient error `work` threw
 * @example
 * await forEachWithinBudget(changes, async (change) => { await stage(change); return 'done'; },
 *   { concurrency: 8, deadline: callDeadline(budgetMs), isTransient });
 */
export async function forEachWithinBudget<T>(
  items: readonly T[],
  work: (item: T) => Promise<'done' | 'skip'>,
  options: BudgetedPoolOptions<T>,
): Promise<void> {
  const { deadline, isTransient, onTransient } = options;
  let launched = 0;
  await forEachWithConcurrency(
    items,
    async (item) => {
      launched += 1;
      try {
        if ((await work(item)) === 'skip') launched -= 1;
      } catch (error) {
        if (!isTransient(error)) throw error;
        onTransient?.(item, error);
      }
    },
    { concurrency: options.concurrency, keepStarting: () => launched === 0 || Date.now() < deadline },
  );
}
