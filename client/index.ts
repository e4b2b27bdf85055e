/** @pubsub-aggregator/client: publish to and subscribe to a pubsub-aggregator (README.md). */
export { AggregatorClient, type ClientOptions } from './client.js'
export type { BatchLimits } from './batches.js'
export { ClientError, type FailureKind } from './errors.js'
export type { PublishEvent, ServerErrorCode, Stats, StoredEvent } from './events.js'
export {
  PublishError,
  type BatchOutcome,
  type PublishOptions,
  type PublishResult,
} from './publish.js'
export type { RetryPolicy } from './retry.js'
export type {
  Interruption,
  OnEvent,
  SubscribeOptions,
  SubscribeQuery,
  Subscription,
} from './subscribe.js'
