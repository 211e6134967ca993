import { describe, expect, it } from 'vitest';
import { LogsApiError } from '../../local/logs/errors.ts';
import { compileFilterPattern } from '../../local/logs/filter-pattern.ts';
import { LogStore } from '../../local/logs/store.ts';

describe('CloudWatch Logs filter patterns', () => {
  it.each([
    ['', 'anything', true],
    ['ERROR', 'ERROR disk full', true],
    ['ERROR', 'error disk full', false],
    ['ERROR disk', 'disk ERROR', true],
    ['ERROR disk', 'ERROR memory', false],
    ['"disk full"', 'ERROR disk full', true],
    ['"disk full"', 'full disk', false],
    ['"say \\"hi\\""', 'they say "hi"', true],
    ['?WARN ?ERROR', 'WARN low', true],
    ['?WARN ?ERROR', 'INFO fine', false],
    ['ERROR -Retrying', 'ERROR Retrying', false],
    ['ERROR -"retry later"', 'ERROR gave up', true],
    ['%[0-9]{3} ms%', 'took 125 ms', true],
    ['%[0-9]{3} ms%', 'took 12 ms', false],
  ])('pattern %j on %j matches: %s', (pattern, message, expected) => {
    expect(compileFilterPattern(pattern)(message)).toBe(expected);
  });

  it.each([
    ['"unterminated', /no closing "/],
    ['%[a-%', /not a valid regular expression/],
    ['{ $.level = "ERROR" }', /JSON/],
    ['[ip, user]', /space-delimited/],
  ])('refuses %j with InvalidParameterException', (pattern, message) => {
    let thrown: unknown;
    try {
      compileFilterPattern(pattern);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(LogsApiError);
    expect((thrown as LogsApiError).code).toBe('InvalidParameterException');
    expect((thrown as LogsApiError).message).toMatch(message);
  });
});

describe('the CloudWatch Logs store', () => {
  it('drops the oldest events of a group beyond its bound, whatever their stream', () => {
    // Prepare
    const store = new LogStore({ region: 'us-east-1', accountId: '000000000000', maxEventsPerGroup: 3 });
    const all = { matches: () => true, limit: 100 };

    // Act
    store.append('/g', 'a', [
      { timestamp: 1_000, message: 'a1' },
      { timestamp: 3_000, message: 'a3' },
    ]);
    store.append('/g', 'b', [
      { timestamp: 2_000, message: 'b2' },
      { timestamp: 4_000, message: 'b4' },
    ]);

    // Assess
    expect(store.filterLogEvents('/g', all).events.map((e) => e.message)).toEqual(['b2', 'a3', 'b4']);
  });

  it('cuts a function line at 256 KB, as Lambda does', () => {
    // Prepare
    const store = new LogStore({ region: 'us-east-1', accountId: '000000000000' });

    // Act
    store.append('/g', 's', [{ timestamp: 1, message: 'x'.repeat(300_000) }]);

    // Assess
    const [event] = store.filterLogEvents('/g', { matches: () => true, limit: 1 }).events;
    expect(event?.message.length).toBe(262_144);
  });
});
