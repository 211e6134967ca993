import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { App, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterEach, describe, expect, it } from 'vitest';
import { buildGrecoApp } from '../../lib/app.ts';
import { addNagChecks } from '../../lib/nag.ts';
import { cdkJsonContext } from './support.ts';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const binPath = join(repoRoot, 'node_modules', '.bin');

const outdirs: string[] = [];
function tempOutdir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'greco-nag-'));
  outdirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A stack with one bucket that breaks AwsSolutions-S1 (no access logs) and S10 (no TLS-only policy). */
function appWithPlainBuckets(count: number): { app: App; buckets: Bucket[] } {
  const app = new App({ outdir: tempOutdir() });
  addNagChecks(app);
  const stack = new Stack(app, 'NagProbe');
  const buckets = Array.from(
    { length: count },
    (_, i) => new Bucket(stack, `Plain${i}`, { removalPolicy: RemovalPolicy.RETAIN }),
  );
  return { app, buckets };
}

function acknowledgeBucketFindings(bucket: Bucket): void {
  Validations.of(bucket).acknowledge(
    { id: 'AwsSolutions-S1', reason: 'probe bucket of the nag test: access logs are out of scope' },
    { id: 'AwsSolutions-S10', reason: 'probe bucket of the nag test: never receives a request' },
  );
}

/** Every acknowledgement recorded in the tree: the construct path it is attached to, id and reason. */
function acknowledgements(root: IConstruct): { path: string; kind: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          kind: construct.constructor.name,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

describe('cdk-nag', () => {
  it('fails synthesis on an unacknowledged finding, naming the rule and the resource', () => {
    const { app } = appWithPlainBuckets(1);
    const synth = () => app.synth();
    expect(synth).toThrow(/AwsSolutions-S10/);
    expect(synth).toThrow(/NagProbe\/Plain0/);
  });

  it('passes once every finding of the resource is acknowledged on it', () => {
    const { app, buckets } = appWithPlainBuckets(1);
    acknowledgeBucketFindings(buckets[0] as Bucket);
    expect(() => app.synth()).not.toThrow();
  });

  it('does not extend an acknowledgement on one resource to another', () => {
    const { app, buckets } = appWithPlainBuckets(2);
    acknowledgeBucketFindings(buckets[0] as Bucket);
    let message = '';
    try {
      app.synth();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/AwsSolutions-S10/);
    expect(message).toContain('NagProbe/Plain1');
    expect(message).not.toContain('NagProbe/Plain0');
  });

  it('passes the greco app: every finding is fixed or acknowledged', () => {
    const app = new App({ outdir: tempOutdir(), context: cdkJsonContext() });
    buildGrecoApp(app);
    expect(() => app.synth()).not.toThrow();
    for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) {
      const report = pack.validateScope(app);
      expect(
        report.violations.map((v) => v.ruleName),
        pack.readPackName,
      ).toEqual([]);
      expect(report.success).toBe(true);
    }
  });

  it('fails the greco app when a resource with a finding joins it unacknowledged', () => {
    const app = new App({ outdir: tempOutdir(), context: cdkJsonContext() });
    const { controlPlane } = buildGrecoApp(app);
    new Bucket(controlPlane, 'Unlogged', { removalPolicy: RemovalPolicy.RETAIN });
    const synth = () => app.synth();
    expect(synth).toThrow(/AwsSolutions-S1\b/);
    expect(synth).toThrow(/GrecoControlPlane\/Unlogged/);
  });

  it('acknowledges findings only on specific resources, each with its own reason', () => {
    const app = new App({ outdir: tempOutdir(), context: cdkJsonContext() });
    buildGrecoApp(app);
    const acks = acknowledgements(app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(['App', 'Stack', 'ControlPlaneStack']).not.toContain(ack.kind);
      expect(ack.reason.length, `${ack.path} ${ack.id}`).toBeGreaterThanOrEqual(60);
    }
    // Wildcard IAM findings are acknowledged one finding at a time, never the whole rule.
    for (const ack of acks.filter((a) => a.id.startsWith('AwsSolutions-IAM5'))) {
      expect(ack.id).toMatch(/^AwsSolutions-IAM5\[(Resource|Action)::.+\]$/);
    }
    // The same rule on sibling resources of one kind may share a reason; different rules never do.
    const rulesByReason = new Map<string, Set<string>>();
    for (const ack of acks)
      rulesByReason.set(ack.reason, (rulesByReason.get(ack.reason) ?? new Set()).add(ack.id));
    for (const [reason, rules] of rulesByReason) expect([...rules], reason).toHaveLength(1);
  });
});

describe('cdk CLI', () => {
  it('`cdk synth` writes the GrecoControlPlane template', async () => {
    const outdir = tempOutdir();
    await run(join(binPath, 'cdk'), ['synth', '--quiet', '--output', outdir], {
      cwd: repoRoot,
      env: { ...process.env, PATH: `${binPath}:${process.env.PATH ?? ''}`, CDK_DISABLE_VERSION_CHECK: '1' },
      timeout: 120_000,
    });
    const template = JSON.parse(readFileSync(join(outdir, 'GrecoControlPlane.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string }>;
    };
    const types = new Set(Object.values(template.Resources).map((r) => r.Type));
    expect(types).toContain('AWS::ApiGatewayV2::Api');
    expect(types).toContain('AWS::DynamoDB::Table');
  });

  it('refuses a bad context value with a message naming it, and synthesizes nothing', async () => {
    const outdir = tempOutdir();
    const failure = await run(join(binPath, 'node'), [join(repoRoot, 'bin', 'greco.ts')], {
      cwd: repoRoot,
      env: {
        ...process.env,
        CDK_OUTDIR: outdir,
        CDK_CONTEXT_JSON: JSON.stringify({ 'greco:managedPrefix': 'Not-Valid' }),
      },
    }).then(
      () => undefined,
      (error: { code?: number; stderr?: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain(
      'greco: context greco:managedPrefix: must be 1 to 16 lowercase letters',
    );
    expect(failure?.stderr).toContain('"Not-Valid"');
    expect(() => readFileSync(join(outdir, 'manifest.json'))).toThrow();
  });
});
