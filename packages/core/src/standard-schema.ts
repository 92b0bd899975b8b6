/**
 * The Standard Schema v1 interface (https://standardschema.dev), declared here
 * so core has no dependency: zod (3.24+/4), valibot (1+), arktype and others
 * implement it, so any of them can describe an event payload.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  /** The Standard Schema properties, under a name no schema library uses for its own API. */
  readonly '~standard': {
    /** The Standard Schema version the library implements: 1. */
    readonly version: 1;
    /** The schema library's name (`zod`, `valibot`, `arktype`, …). */
    readonly vendor: string;
    /** Validates `value`: its parsed value, or the issues found (maybe asynchronously). */
    readonly validate: (
      value: unknown,
    ) => StandardSchemaV1.Result<Output> | Promise<StandardSchemaV1.Result<Output>>;
    /** Type-level only (undefined at run time): the input and output types, for inference. */
    readonly types?:
      | {
          /** The type the schema accepts. */
          readonly input: Input;
          /** The type the schema produces. */
          readonly output: Output;
        }
      | undefined;
  };
}

/** The types around {@link StandardSchemaV1}, as the specification declares them. */
export declare namespace StandardSchemaV1 {
  /** What `validate` returns: the parsed value, or the issues found. */
  type Result<Output> = SuccessResult<Output> | FailureResult;
  /** A valid input: its parsed value. */
  interface SuccessResult<Output> {
    /** The parsed value (defaults applied, values coerced as the schema says). */
    readonly value: Output;
    /** Always undefined on success. */
    readonly issues?: undefined;
  }
  /** An invalid input: what is wrong with it. */
  interface FailureResult {
    /** The problems found (at least one). */
    readonly issues: ReadonlyArray<Issue>;
  }
  /** One problem found in an input, with where it is. */
  interface Issue {
    /** What is wrong, in the schema library's words. */
    readonly message: string;
    /** Where in the input: property names and array indexes, outermost first; absent for the input itself. */
    readonly path?:
      | ReadonlyArray<
          | PropertyKey
          | {
              /** The property name or array index of this path segment. */
              readonly key: PropertyKey;
            }
        >
      | undefined;
  }
  /** The parsed type a schema produces. */
  type InferOutput<S extends StandardSchemaV1> = NonNullable<S['~standard']['types']>['output'];
  /** The input type a schema accepts. */
  type InferInput<S extends StandardSchemaV1> = NonNullable<S['~standard']['types']>['input'];
}
