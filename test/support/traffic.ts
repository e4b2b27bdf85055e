/**
 * Realistic dashboard traffic, for the browser test and the screenshots script: a few busy
 * topics and a long tail, a fifth of the events re-sent (at-least-once producers).
 */
import { event, type TestEvent } from './client.js'

export const TOPICS: [string, number][] = [
  ['payment.notification', 30],
  ['order.created', 22],
  ['order.shipped', 14],
  ['user.signup', 9],
  ['inventory.adjusted', 8],
  ['invoice.paid', 7],
  ['refund.requested', 4],
  ['session.expired', 3],
  ['fraud.alert', 2],
  ['email.bounced', 1],
  ['audit.login', 0.5],
  ['webhook.retry', 0.3],
]
const WEIGHT = TOPICS.reduce((sum, [, w]) => sum + w, 0)

/** A topic drawn by weight; `shift` rotates the weights, so the busiest topics change. */
export function topic(shift = 0): string {
  let pick = Math.random() * WEIGHT
  for (let i = 0; i < TOPICS.length; i++) {
    const [, weight] = TOPICS[i]!
    if ((pick -= weight) < 0) return TOPICS[(i + shift) % TOPICS.length]![0]
  }
  return TOPICS[shift % TOPICS.length]![0]
}

/** `size` events, a fifth of them copies of events already sent (kept in `sent`). */
export function batch(size: number, sent: TestEvent[], shift = 0): TestEvent[] {
  return Array.from({ length: size }, () =>
    sent.length > 0 && Math.random() < 0.2
      ? sent[Math.floor(Math.random() * sent.length)]!
      : event({ topic: topic(shift), source: `gateway-${Math.ceil(Math.random() * 3)}` }),
  )
}
