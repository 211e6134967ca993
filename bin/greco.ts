#!/usr/bin/env node
// The greco CDK app: `npx cdk synth` / `npx cdk deploy` run it (cdk.json "app"), with Node 24
// running this TypeScript file natively. Settings: CDK context, see docs/deploying.md.
import { App } from 'aws-cdk-lib';
import { buildGrecoApp } from '../lib/app.ts';
import { GrecoConfigError } from '../lib/config.ts';

const app = new App();
try {
  buildGrecoApp(app);
} catch (error) {
  if (!(error instanceof GrecoConfigError)) throw error;
  console.error(`greco: ${error.message}`);
  process.exit(1);
}
