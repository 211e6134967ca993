import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../local/dynamodb.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `http://127.0.0.1:<port>` of the DynamoDB Local that this test run started. */
    dynamodbEndpoint: string;
  }
}

/** Starts one DynamoDB Local for the whole run and stops it (and its JVM) at the end. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dynamodb = await startDynamoDbLocal();
  project.provide('dynamodbEndpoint', dynamodb.endpoint);
  return () => dynamodb.close();
}
