/** The running version: package.json's, for `/healthz`, `/metrics` and the API document. */
import { createRequire } from 'node:module'

// compiled to dist/src/, two folders below the package
export const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string })
  .version
