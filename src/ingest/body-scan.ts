/**
 * One pass over a publish body's text before `JSON.parse` builds it: counts its values and each
 * object's keys against fixed limits, and finds a key repeated within one object. `JSON.parse`
 * silently keeps the last of repeated keys, so `{"topic":"a","topic":"b"}` would be stored as
 * whatever a different parser in front of us did not see.
 *
 * Parsing first would let a 10 MiB body of `[{},{},…]` or `[[[…]]]` cost 200-290 MB of heap
 * and up to 1.5 s before any limit applied; scanning first bounds what the parse can build. So
 * it runs on text not yet known to be JSON: it must end, in time linear in the text, whatever
 * the text. It only has to find strings (by jumping between quotes), tell keys from values, and
 * track which object it is in. On text that then fails to parse, its limits still apply; its
 * repeated key means nothing (the caller reports the parse error instead).
 */

/** Keys in one object. Far more than events carry; a map that wide is better sent as an array. */
export const MAX_OBJECT_KEYS = 10_000
/**
 * Values (objects, arrays, strings, numbers, booleans, nulls, at any depth) in one body. A full
 * default request, 10,000 events with ten-value payloads, holds ~160,000; at the cap, a parse
 * builds at most ~65 MB of heap whatever the body's shape.
 */
export const MAX_BODY_VALUES = 1_000_000

export interface BodyScan {
  /** Which limit the body exceeds (the scan stopped there), or null. */
  excess: string | null
  /** The first key found repeated within one object, decoded; null if none. */
  repeatedKey: string | null
}

const QUOTE = 34
const BACKSLASH = 92
const COLON = 58
const COMMA = 44
const OPEN_OBJECT = 123
const CLOSE_OBJECT = 125
const OPEN_ARRAY = 91
const CLOSE_ARRAY = 93

export function scanBody(json: string): BodyScan {
  let repeatedKey: string | null = null
  let values = 0
  // keys of the innermost open object; null inside an array (or outside any container)
  let keys: ObjectKeys | null = null
  const outer: (ObjectKeys | null)[] = []
  for (let i = 0; i < json.length;) {
    const c = json.charCodeAt(i)
    if (c === QUOTE) {
      const end = closingQuote(json, i)
      if (keys !== null && nextNonSpace(json, end + 1) === COLON) {
        const key = decodedKey(json, i, end)
        if (!keys.add(key)) repeatedKey ??= key
        else if (keys.size > MAX_OBJECT_KEYS) {
          return {
            excess: `an object has more than ${MAX_OBJECT_KEYS} keys; send a map that wide as an array`,
            repeatedKey,
          }
        }
      } else values++
      i = end + 1
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      values++
      outer.push(keys)
      keys = c === OPEN_OBJECT ? new ObjectKeys() : null
      i++
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      keys = outer.pop() ?? null
      i++
    } else if (c === COLON || c === COMMA || isSpace(c)) {
      i++
    } else {
      // a number, true, false or null: one value, however long
      values++
      i = scalarEnd(json, i + 1)
    }
    if (values > MAX_BODY_VALUES) {
      return {
        excess: `the body holds more than ${MAX_BODY_VALUES} JSON values; split it into smaller requests`,
        repeatedKey,
      }
    }
  }
  return { excess: null, repeatedKey }
}

/** Most objects have a handful of keys, where a short array beats a Set; wider ones get a Set. */
const FEW_KEYS = 8

class ObjectKeys {
  private few: string[] = []
  private many: Set<string> | null = null

  get size(): number {
    return this.many === null ? this.few.length : this.many.size
  }

  /** Adds `key`; false if the object already has it. */
  add(key: string): boolean {
    if (this.many !== null) {
      if (this.many.has(key)) return false
      this.many.add(key)
      return true
    }
    if (this.few.includes(key)) return false
    this.few.push(key)
    if (this.few.length > FEW_KEYS) this.many = new Set(this.few)
    return true
  }
}

/** The quote closing the string opened at `open`, or the text's length if it never closes. */
function closingQuote(json: string, open: number): number {
  let end = json.indexOf('"', open + 1)
  while (end !== -1) {
    // a quote preceded by an odd number of backslashes is escaped; each run of backslashes is
    // counted once, by the quote right after it, so this stays linear
    let slashes = 0
    while (json.charCodeAt(end - 1 - slashes) === BACKSLASH) slashes++
    if (slashes % 2 === 0) return end
    end = json.indexOf('"', end + 1)
  }
  return json.length
}

function decodedKey(json: string, open: number, close: number): string {
  const raw = json.slice(open + 1, close)
  if (!raw.includes('\\')) return raw
  // escapes can spell one key two ways ("a" and "\u0061"): compare decoded keys. A bad escape
  // makes the whole body malformed, which the parse reports; the raw text serves until then.
  try {
    return JSON.parse(json.slice(open, close + 1)) as string
  } catch {
    return raw
  }
}

/** Where the scalar (or stray text) running through `at` ends: at the next structural character. */
function scalarEnd(json: string, at: number): number {
  for (; at < json.length; at++) {
    const c = json.charCodeAt(at)
    if (c === COMMA || c === COLON || c === QUOTE || isSpace(c) || isBracket(c)) return at
  }
  return at
}

function nextNonSpace(json: string, at: number): number {
  while (isSpace(json.charCodeAt(at))) at++
  return json.charCodeAt(at)
}

const isSpace = (c: number) => c === 32 || c === 10 || c === 13 || c === 9
const isBracket = (c: number) =>
  c === OPEN_OBJECT || c === CLOSE_OBJECT || c === OPEN_ARRAY || c === CLOSE_ARRAY
