/**
 * A position in the feed, opaque outside this module. Stand-in until the feed's own cursor lands:
 * here it is the `seq` of the last event delivered, as decimal text.
 */
export type Cursor = string & { readonly __cursor: unique symbol }

/** Before the first event. */
export const START = '0' as Cursor

/** The cursor `text` encodes, or undefined when it is malformed. */
export function parseCursor(text: string): Cursor | undefined {
  return /^(0|[1-9]\d{0,14})$/.test(text) ? (text as Cursor) : undefined
}
