/**
 * The Standard Schema v1 interface (https://standardschema.dev), declared here
 * so core has no dependency: zod (3.24+/4), valibot (1+), arktype and others
 * implement it, so any of them can describe an event payload.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (
      value: unknown,
    ) => StandardSchemaV1.Result<Output> | Promise<StandardSchemaV1.Result<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** The types around {@link StandardSchemaV1}, as the specification declares them. */
export declare namespace StandardSchemaV1 {
  /** What `validate` returns: the parsed value, or the issues found. */
  type Result<Output> = SuccessResult<Output> | FailureResult;
  /** A valid input: its parsed value. */
  interface SuccessResult<Output> {
    readonly value: Output;
    readonly issues?: undefined;
  }
  /** An invalid input: what is wrong with it. */
  interface FailureResult {
    readonly issues: ReadonlyArray<Issue>;
  }
  /** One problem found in an input, with where it is. */
  interface Issue {
    readonly message: string;
    readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
  }
  /** The parsed type a schema produces. */
  type InferOutput<S extends StandardSchemaV1> = NonNullable<S['~standard']['types']>['output'];
  /** The input type a schema accepts. */
  type InferInput<S extends StandardSchemaV1> = NonNullable<S['~standard']['types']>['input'];
}
