/**
 * Finds a key repeated within one JSON object. `JSON.parse` silently keeps the last one, so
 * `{"topic":"a","topic":"b"}` would be stored as whatever a different parser in front of us did
 * not see. Runs on text `JSON.parse` has already accepted, so it only has to find strings (by
 * jumping between quotes), tell keys from values, and track which object it is in.
 */
const QUOTE = 34
const BACKSLASH = 92
const COLON = 58
const OPEN_OBJECT = 123
const CLOSE_OBJECT = 125
const OPEN_ARRAY = 91
const CLOSE_ARRAY = 93

export function duplicateKey(json: string): string | null {
  // keys of the innermost open object (short arrays beat Sets for the few keys objects have)
  let keys: string[] | null = null
  const outer: (string[] | null)[] = []
  for (let i = 0; i < json.length;) {
    const c = json.charCodeAt(i)
    if (c === QUOTE) {
      const end = closingQuote(json, i)
      if (keys !== null && nextNonSpace(json, end + 1) === COLON) {
        const raw = json.slice(i + 1, end)
        // escapes can spell one key two ways ("a" and "\u0061"): compare decoded keys
        const key = raw.includes('\\') ? (JSON.parse(json.slice(i, end + 1)) as string) : raw
        if (keys.includes(key)) return key
        keys.push(key)
      }
      i = end + 1
    } else {
      if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        outer.push(keys)
        keys = c === OPEN_OBJECT ? [] : null
      } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        keys = outer.pop() ?? null
      }
      i++
    }
  }
  return null
}

function closingQuote(json: string, open: number): number {
  let end = json.indexOf('"', open + 1)
  // a quote preceded by an odd number of backslashes is escaped
  for (;;) {
    let slashes = 0
    while (json.charCodeAt(end - 1 - slashes) === BACKSLASH) slashes++
    if (slashes % 2 === 0) return end
    end = json.indexOf('"', end + 1)
  }
}

function nextNonSpace(json: string, at: number): number {
  let c = json.charCodeAt(at)
  while (c === 32 || c === 10 || c === 13 || c === 9) c = json.charCodeAt(++at)
  return c
}
