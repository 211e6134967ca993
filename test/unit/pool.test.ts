import { describe, expect, it } from 'vitest';
import { forEachWithConcurrency } from '../../domain/pool.ts';

/** A promise and the function that settles it. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

describe('forEachWithConcurrency', () => {
  it('works on every item in order, never more than the concurrency at once', async () => {
    // Prepare
    let inWork = 0;
    let most = 0;
    const started: number[] = [];
    // Act
    await forEachWithConcurrency(
      [1, 2, 3, 4, 5, 6, 7],
      async (item) => {
        started.push(item);
        inWork += 1;
        most = Math.max(most, inWork);
        await Promise.resolve();
        inWork -= 1;
      },
      { concurrency: 3 },
    );
    // Assess
    expect(started).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBe(3);
  });

  it('starts nothing more after a failure, and throws it once the items in work have ended', async () => {
    // Prepare: item 1 fails while item 2 is still in work.
    const second = deferred();
    const ended: number[] = [];
    const started: number[] = [];
    // Act
    const run = forEachWithConcurrency(
      [1, 2, 3, 4],
      async (item) => {
        started.push(item);
        if (item === 1) throw new Error('one failed');
        await second.promise;
        ended.push(item);
      },
      { concurrency: 2 },
    );
    await Promise.resolve();
    second.resolve();
    // Assess
    await expect(run).rejects.toThrow('one failed');
    expect(started).toEqual([1, 2]);
    expect(ended).toEqual([2]);
  });

  it('stops starting items when keepStarting says so, leaving the rest untouched', async () => {
    const started: string[] = [];
    await forEachWithConcurrency(
      ['a', 'b', 'c', 'd'],
      async (item) => {
        started.push(item);
      },
      { concurrency: 1, keepStarting: () => started.length < 2 },
    );
    expect(started).toEqual(['a', 'b']);
  });

  it('does nothing for no items', async () => {
    await expect(forEachWithConcurrency([], async () => {}, { concurrency: 4 })).resolves.toBeUndefined();
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses a concurrency of %s', async (concurrency) => {
    await expect(forEachWithConcurrency([1], async () => {}, { concurrency })).rejects.toThrow(RangeError);
  });
});
