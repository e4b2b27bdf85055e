/**
 * Errors the aggregator raises itself. Internal failures are classes with a stable `code` under
 * one prefix (`ERR_AGG_*`, after Node's `ERR_*` and postgres.js's codes) and a `name`, so logs
 * and retry rules match on the code, never on a message.
 */
export class AggregatorError extends Error {
  constructor(
    readonly code: `ERR_AGG_${string}`,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = new.target.name
  }
}
