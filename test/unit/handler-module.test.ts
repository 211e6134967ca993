import { describe, expect, it } from 'vitest';
import {
  handlerModuleProblem,
  listedEntriesMax,
  nodejsHandlerCandidates,
} from '../../core/handler-module.ts';

describe('nodejsHandlerCandidates', () => {
  it.each([
    ['index.handler', ['index', 'index.js', 'index.mjs', 'index.cjs']],
    ['src/app.handler', ['src/app', 'src/app.js', 'src/app.mjs', 'src/app.cjs']],
    ['a/b/c.nested.fn', ['a/b/c', 'a/b/c.js', 'a/b/c.mjs', 'a/b/c.cjs']],
  ])('resolves %s in the runtime order', (handler, files) => {
    // Act
    const candidates = nodejsHandlerCandidates(handler);

    // Assess
    expect(candidates?.files).toEqual(files);
  });

  it.each([['index'], ['.handler'], ['index.'], ['../up.handler']])(
    'refuses the malformed handler %s',
    (handler) => {
      // Act & Assess
      expect(nodejsHandlerCandidates(handler)).toBeUndefined();
    },
  );
});

describe('handlerModuleProblem', () => {
  it.each([
    ['nodejs24.x', 'index.handler', ['index.js']],
    ['nodejs24.x', 'index.handler', ['index.mjs']],
    ['nodejs22.x', 'index.handler', ['index.cjs']],
    ['nodejs22.x', 'index.handler', ['index']],
    ['nodejs22.x', 'src/app.handler', ['src/', 'src/app.js']],
    ['nodejs22.x', 'src/app.handler', ['./src/app.mjs']],
    ['nodejs22.x', 'lambda.handler', ['node_modules/lambda/index.js']],
    ['nodejs22.x', 'src/lambda.handler', ['src/node_modules/lambda.js']],
    ['python3.13', 'missing.handler', ['other.py']],
    ['java21', 'com.example.Handler::handleRequest', ['lib/app.jar']],
    ['provided.al2023', 'bootstrap', ['other']],
  ])('accepts %s %s with %j', (runtime, handler, entries) => {
    // Act & Assess
    expect(handlerModuleProblem(runtime, handler, entries)).toBeUndefined();
  });

  it.each([
    ['nodejs24.x', 'index.handler', ['main.js']],
    ['nodejs24.x', 'index.handler', ['index.ts']],
    ['nodejs24.x', 'src/app.handler', ['app.js']],
    ['nodejs24.x', 'app.handler', ['src/app.js']],
    ['nodejs24.x', 'app.handler', ['other/node_modules/app.js']],
  ])('refuses %s %s with %j, naming the handler and the entries', (runtime, handler, entries) => {
    // Act
    const problem = handlerModuleProblem(runtime, handler, entries);

    // Assess
    expect(problem).toContain(JSON.stringify(handler));
    expect(problem).toContain(entries.join(', '));
  });

  it('lists at most a bounded number of entries', () => {
    // Prepare
    const entries = Array.from({ length: listedEntriesMax + 5 }, (_, i) => `file${i}.txt`);

    // Act
    const problem = handlerModuleProblem('nodejs24.x', 'index.handler', entries);

    // Assess
    expect(problem).toContain(`file${listedEntriesMax - 1}.txt`);
    expect(problem).not.toContain(`file${listedEntriesMax}.txt`);
    expect(problem).toContain('and 5 more');
  });
});
