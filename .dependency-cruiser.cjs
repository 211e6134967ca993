/**
 * greco's plane rules (docs/architecture.md), checked by `npm run architecture` in CI.
 * Paths are relative to the repository root. A rule's name is what a violation prints.
 * @type {import('dependency-cruiser').IConfiguration}
 */
const plane = {
  domain: '^domain/',
  hotpath: '^hotpath/',
  controlPlane: '^core/',
};

module.exports = {
  forbidden: [
    {
      name: 'domain-imports-no-plane',
      comment: 'domain/ holds facts both planes share; it imports neither plane, nor any tool of the repo.',
      severity: 'error',
      from: { path: plane.domain },
      to: { path: '^(core|hotpath|lib|lambdas|local|cli|bench|test|support|bin)/' },
    },
    {
      name: 'hotpath-imports-only-domain',
      comment:
        'The hot path (data-plane controller) shares code with the control plane only through domain/.',
      severity: 'error',
      from: { path: plane.hotpath },
      to: { path: '^(core|lib|lambdas|local|cli|bench|test|support|bin)/' },
    },
    {
      name: 'hotpath-bundle-reaches-no-control-plane',
      comment:
        'Nothing the hot-path controller bundles may be control-plane code: stores, deployments, conductor, HTTP routing, middy, zod, DynamoDB/SFN/S3 clients.',
      severity: 'error',
      from: { path: '^lambdas/hotpath-controller/' },
      to: {
        reachable: true,
        path: '^core/|node_modules/(@middy|zod)/|node_modules/@aws-sdk/(client-dynamodb|client-sfn|client-s3|lib-dynamodb)/',
      },
    },
    {
      name: 'control-plane-reaches-no-hotpath',
      comment: 'Control-plane code and handlers reach hot-path code only through domain/.',
      severity: 'error',
      from: { path: '^(core|lib)/|^lambdas/(?!hotpath-controller/)' },
      to: { reachable: true, path: plane.hotpath },
    },
    {
      name: 'handlers-are-apart',
      comment: 'A handler folder under lambdas/ imports no other handler folder.',
      severity: 'error',
      from: { path: '^lambdas/([^/]+)/' },
      to: { path: '^lambdas/', pathNot: '^lambdas/$1/' },
    },
    {
      name: 'shipped-code-imports-no-tooling',
      comment:
        'What cdk deploy ships (domain, hotpath, core, lambdas, lib, bin) imports nothing of the local cloud, the CLI, tests or benchmarks.',
      severity: 'error',
      from: { path: '^(domain|hotpath|core|lambdas|lib|bin)/' },
      to: { path: '^(local|cli|bench|test|support|contracts)/' },
    },
    {
      name: 'local-imports-no-cli',
      comment: 'The local cloud runs the CLI as a user would (a child process), never its code.',
      severity: 'error',
      from: { path: '^local/' },
      to: { path: '^cli/' },
    },
    {
      name: 'cli-imports-no-local',
      comment:
        'The CLI and the local cloud share only contracts/ (the local state file type and where it is), never each other.',
      severity: 'error',
      from: { path: '^cli/' },
      to: { path: '^local/' },
    },
    {
      name: 'contracts-import-nothing-of-the-repo',
      comment:
        'contracts/ are shared by tools that must not depend on each other; they import no folder of the repo.',
      severity: 'error',
      from: { path: '^contracts/' },
      to: { path: '^(domain|hotpath|core|lambdas|lib|bin|local|cli|bench|test|support)/' },
    },
    {
      name: 'bench-imports-no-test',
      comment: 'Benchmarks share drivers with tests through support/, never test/ files.',
      severity: 'error',
      from: { path: '^bench/' },
      to: { path: '^test/' },
    },
    {
      name: 'support-imports-no-test',
      comment: 'support/ is used by bench/ and test/; it imports no test file.',
      severity: 'error',
      from: { path: '^support/' },
      to: { path: '^test/' },
    },
    {
      name: 'no-undeclared-dependency',
      comment: 'Every package imported is declared in package.json.',
      severity: 'error',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'no-dev-dependency-at-run-time',
      comment:
        'Code that runs (shipped code, the local cloud, the CLI) imports only dependencies, not devDependencies.',
      severity: 'error',
      from: { path: '^(domain|hotpath|core|lambdas|lib|bin|local|cli)/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'Every relative import resolves to a file.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    parser: 'swc',
    tsPreCompilationDeps: false,
    combinedDependencies: false,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(cdk\\.out|\\.greco)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      extensions: ['.ts', '.mjs', '.js', '.json', '.d.ts'],
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};
