/**
 * Loads uWebSockets.js. The npm mirror we install silently falls back to a slow pure-JS server
 * when its native binary does not load on this platform; native functions stringify as
 * `[native code]`, which tells the two apart so start-up can say which one runs.
 */
import { createRequire } from 'node:module'
import type * as UwsTypes from 'uWebSockets.js'

export interface Uws {
  module: typeof UwsTypes
  implementation: 'native' | 'js-fallback'
}

export function loadUws(): Uws {
  const module = createRequire(import.meta.url)('uWebSockets.js') as typeof UwsTypes
  const implementation = String(module.App).includes('[native code]') ? 'native' : 'js-fallback'
  return { module, implementation }
}
