/**
 * The events the client sends and receives, typed from the schema the server validates with.
 * Type-only imports: the compiled client loads nothing of the server or of valibot.
 */
import type { InferInput } from 'valibot'
import type { Event, EventSchema } from '../src/ingest/event.js'
import type { ErrorCode } from '../src/errors.js'
import type { Stats } from '../src/stats/stats.js'

/** An event as a producer may publish it (`payload` may be left out: the server stores `{}`). */
export type PublishEvent = InferInput<typeof EventSchema>

/** An event as the feed returns it: as validated, plus when the server received it. */
export type StoredEvent = Event & { readonly received_at: string }

/** A public error code (`docs/errors.md`), or one this client version does not know yet. */
export type ServerErrorCode = ErrorCode | (string & {})

export type { Stats }
