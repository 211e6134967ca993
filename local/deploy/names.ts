import { createHash, randomBytes } from 'node:crypto';
import { lambdaFunctionNameMaxLength } from '../../domain/names.ts';

/** A service's rules for a resource name. */
export interface NameRules {
  /** Longest name the service accepts, in characters. */
  readonly maxLength: number;
  /** Characters outside this class are removed from the stack name and logical id parts. */
  readonly allowed: RegExp;
  /** S3 bucket names are lowercase. @default false */
  readonly lowercase?: boolean;
}

/**
 * Name rules per resource kind, from each service's API reference:
 * DynamoDB TableName 3-255 `[a-zA-Z0-9_.-]`; S3 bucket 3-63 lowercase `[a-z0-9.-]`;
 * Lambda FunctionName 1-64 `[a-zA-Z0-9-_]`; Step Functions name 1-80; EventBridge rule 1-64
 * `[.\-_A-Za-z0-9]`; IAM role 1-64 `[\w+=,.@-]`; CloudWatch Logs group 1-512.
 */
export const nameRules = {
  dynamodbTable: { maxLength: 255, allowed: /[^a-zA-Z0-9_.-]/g },
  s3Bucket: { maxLength: 63, allowed: /[^a-z0-9.-]/g, lowercase: true },
  lambdaFunction: { maxLength: lambdaFunctionNameMaxLength, allowed: /[^a-zA-Z0-9_-]/g },
  stateMachine: { maxLength: 80, allowed: /[^a-zA-Z0-9_-]/g },
  eventRule: { maxLength: 64, allowed: /[^a-zA-Z0-9_.-]/g },
  iamRole: { maxLength: 64, allowed: /[^a-zA-Z0-9_+=,.@-]/g },
  logGroup: { maxLength: 512, allowed: /[^a-zA-Z0-9_./#-]/g },
  generic: { maxLength: 128, allowed: /[^a-zA-Z0-9_.-]/g },
} as const satisfies Record<string, NameRules>;

const suffixAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/**
 * Makes physical names the way CloudFormation does for resources the template does not name:
 * `<stackName>-<logicalId>-<SUFFIX>`, the first two parts shortened so that the whole fits the
 * service's limit, and `SUFFIX` 12 random characters.
 *
 * With `stable`, the suffix is a hash of stack name and logical id instead, so that a local
 * cloud restarted on persisted data finds its tables and buckets under the same names.
 */
export class PhysicalNames {
  readonly stable: boolean;

  constructor(options: { stable?: boolean } = {}) {
    this.stable = options.stable ?? false;
  }

  /** A name for `logicalId` of `stackName` that follows `rules`. */
  name(stackName: string, logicalId: string, rules: NameRules): string {
    const suffix = this.#suffix(`${stackName}/${logicalId}`, 12);
    const clean = (part: string): string => {
      const cased = rules.lowercase === true ? part.toLowerCase() : part;
      return cased.replace(rules.allowed, '');
    };
    const room = rules.maxLength - suffix.length - 2;
    let stackPart = clean(stackName);
    let idPart = clean(logicalId);
    while (stackPart.length + idPart.length > room) {
      if (stackPart.length >= idPart.length) stackPart = stackPart.slice(0, -1);
      else idPart = idPart.slice(0, -1);
    }
    const tail = rules.lowercase === true ? suffix.toLowerCase() : suffix;
    return [stackPart, idPart, tail].filter((part) => part !== '').join('-');
  }

  /** A lowercase alphanumeric id like API Gateway's (`length` 10 for APIs, 7 for routes). */
  id(stackName: string, logicalId: string, length: number): string {
    return this.#suffix(`${stackName}/${logicalId}#id`, length).toLowerCase();
  }

  #suffix(seed: string, length: number): string {
    const bytes = this.stable ? createHash('sha256').update(seed).digest() : randomBytes(length);
    let out = '';
    for (let index = 0; index < length; index++)
      out += suffixAlphabet[(bytes[index] ?? 0) % suffixAlphabet.length];
    return out;
  }
}
