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
 *
 * The same pass finds each event's payload as published, so that it is stored as that text
 * instead of serialised again from the parsed object (a pass over every byte less, and the
 * payload kept as the producer wrote it).
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
  /**
   * Each event's payload, the text of its value as published, in the order of the events in the
   * body (undefined where an event has none). Events are the top-level objects (an NDJSON body
   * has one per line), the objects of a top-level array, and those of the array under
   * `eventsKey` in a top-level object, which is then a wrapper and no event. It matches the
   * parsed items only when the body parses and every item is an object.
   */
  payloads: (string | undefined)[]
}

const QUOTE = 34
const BACKSLASH = 92
const COLON = 58
const COMMA = 44
const OPEN_OBJECT = 123
const CLOSE_OBJECT = 125
const OPEN_ARRAY = 91
const CLOSE_ARRAY = 93

/** What a container is to the events, when it is not one of them (an index into `payloads`). */
const NEITHER = -1
const EVENT_ARRAY = -2

/** What the value after the key just read is. */
const ANY_VALUE = 0
const PAYLOAD = 1
const WRAPPED_EVENTS = 2

/**
 * @param eventsKey the key under which a top-level object wraps an array of events (JSON's
 * `{"events": [...]}`); null where top-level objects are always events (NDJSON)
 */
export function scanBody(json: string, eventsKey: string | null): BodyScan {
  let repeatedKey: string | null = null
  let values = 0
  // keys of the innermost open object; null inside an array (or outside any container)
  let keys: ObjectKeys | null = null
  const outer: (ObjectKeys | null)[] = []
  const payloads: (string | undefined)[] = []
  // the innermost container's role (NEITHER, EVENT_ARRAY or its event's index), the outer ones'
  let role = NEITHER
  const outerRoles: number[] = []
  let next = ANY_VALUE
  let wrapped = false
  // an open payload container: where it starts, whose it is, how many containers enclose it
  let payloadStart = 0
  let payloadOf = NEITHER
  let payloadDepth = -1
  const exceeds = (excess: string): BodyScan => ({ excess, repeatedKey, payloads: [] })
  for (let i = 0; i < json.length;) {
    const c = json.charCodeAt(i)
    if (c === QUOTE) {
      const end = closingQuote(json, i)
      if (keys !== null && nextNonSpace(json, end + 1) === COLON) {
        const key = decodedKey(json, i, end)
        if (!keys.add(key)) repeatedKey ??= key
        else if (keys.size > MAX_OBJECT_KEYS) {
          return exceeds(
            `an object has more than ${MAX_OBJECT_KEYS} keys; send a map that wide as an array`,
          )
        }
        if (role >= 0) {
          if (key === 'payload') next = PAYLOAD
          else if (key === eventsKey && outer.length === 1) next = WRAPPED_EVENTS
        }
      } else {
        values++
        if (next === PAYLOAD) payloads[role] = json.slice(i, end + 1)
        next = ANY_VALUE
      }
      i = end + 1
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      values++
      if (next === PAYLOAD) {
        payloadStart = i
        payloadOf = role
        payloadDepth = outer.length
      }
      const topLevel = outer.length === 0
      outer.push(keys)
      outerRoles.push(role)
      if (c === OPEN_OBJECT) {
        keys = new ObjectKeys()
        role = topLevel || role === EVENT_ARRAY ? payloads.push(undefined) - 1 : NEITHER
      } else {
        keys = null
        wrapped ||= next === WRAPPED_EVENTS
        role = topLevel || next === WRAPPED_EVENTS ? EVENT_ARRAY : NEITHER
      }
      next = ANY_VALUE
      i++
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      keys = outer.pop() ?? null
      role = outerRoles.pop() ?? NEITHER
      if (outer.length === payloadDepth) {
        payloads[payloadOf] = json.slice(payloadStart, i + 1)
        payloadDepth = -1
      }
      i++
    } else if (c === COLON || c === COMMA || isSpace(c)) {
      i++
    } else {
      // a number, true, false or null: one value, however long
      values++
      const end = scalarEnd(json, i + 1)
      if (next === PAYLOAD) payloads[role] = json.slice(i, end)
      next = ANY_VALUE
      i = end
    }
    if (values > MAX_BODY_VALUES) {
      return exceeds(
        `the body holds more than ${MAX_BODY_VALUES} JSON values; split it into smaller requests`,
      )
    }
  }
  // the wrapper, the first top-level object, is no event
  return { excess: null, repeatedKey, payloads: wrapped ? payloads.slice(1) : payloads }
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
