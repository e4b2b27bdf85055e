/**
 * `/docs`: Swagger UI over `/openapi.json`, served from the `swagger-ui-dist` package the project
 * installs (no CDN). The files are read once, at start-up.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'

export interface StaticFile {
  type: string
  body: Buffer | string
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>pubsub-aggregator API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`

const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui', deepLinking: true })\n`

/** Path → file, for `/docs` and its assets. */
export function docsFiles(): Map<string, StaticFile> {
  const dist = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'))
  const asset = (name: string, type: string): StaticFile => ({
    type,
    body: readFileSync(path.join(dist, name)),
  })
  return new Map([
    ['/docs', { type: 'text/html; charset=utf-8', body: PAGE }],
    ['/docs/init.js', { type: 'text/javascript; charset=utf-8', body: INIT }],
    ['/docs/swagger-ui.css', asset('swagger-ui.css', 'text/css; charset=utf-8')],
    ['/docs/swagger-ui-bundle.js', asset('swagger-ui-bundle.js', 'text/javascript; charset=utf-8')],
  ])
}
