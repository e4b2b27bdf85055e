/**
 * A position in the feed: the (xid, seq) of the last event delivered, as an opaque string
 * (base64url of both as unsigned 64-bit big-endian numbers). Clients only hand back what they
 * were given; only this module and the feed read what is inside.
 */

import type { FeedPosition } from '../db/feed.js'

export type Cursor = string & { readonly __cursor: unique symbol }

const BYTES = 16

export function cursorAt(position: FeedPosition): Cursor {
  const buffer = Buffer.alloc(BYTES)
  buffer.writeBigUInt64BE(BigInt(position.xid), 0)
  buffer.writeBigUInt64BE(BigInt(position.seq), 8)
  return buffer.toString('base64url') as Cursor
}

/** Before the first event. */
export const START: Cursor = cursorAt({ xid: '0', seq: '0' })

/** The numeric cursor of the old seq-only feed that still means something: the start. */
const LEGACY_START = '0'

/** `undefined` when malformed: not one this server could have given out. */
export function parseCursor(text: string): Cursor | undefined {
  if (text === LEGACY_START) return START
  const buffer = Buffer.from(text, 'base64url')
  // base64url decoding skips what it cannot read: only the canonical spelling is a cursor
  if (buffer.length !== BYTES || buffer.toString('base64url') !== text) return undefined
  return text as Cursor
}

export function positionOf(cursor: Cursor): FeedPosition {
  const buffer = Buffer.from(cursor, 'base64url')
  return {
    xid: buffer.readBigUInt64BE(0).toString(),
    seq: buffer.readBigUInt64BE(8).toString(),
  }
}

/** Why `text` is no cursor, for the `invalid_cursor` answer. */
export function cursorProblem(text: string): string {
  return /^\d+$/.test(text)
    ? `cursor ${text} is a sequence number: cursors changed to opaque strings; start again with after=0 (or none) and follow X-Next-Cursor`
    : 'not a cursor this server gave out: pass X-Next-Cursor (or an event id from the stream) as it was received'
}
