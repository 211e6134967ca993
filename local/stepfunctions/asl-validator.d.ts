/** Types for `asl-validator` (v4), which ships none. */
declare module 'asl-validator' {
  interface AslValidatorOptions {
    /** Validate JSONPath syntax in paths (default true). */
    readonly checkPaths?: boolean;
    /** Validate the ARN syntax of Task `Resource` values (default true). */
    readonly checkArn?: boolean;
  }
  interface AslValidationError {
    readonly 'Error code': string;
    readonly Message: string;
  }
  interface AslValidationResult {
    readonly isValid: boolean;
    readonly errors: readonly AslValidationError[];
    errorsText(separator?: string): string;
  }
  /** Validates an Amazon States Language definition. Note: adds `QueryLanguage` to every state of `definition`. */
  function aslValidator(definition: unknown, options?: AslValidatorOptions): AslValidationResult;
  export default aslValidator;
}
