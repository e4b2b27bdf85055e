/** The build step that inlines the dashboard's stylesheet and script into its page. */
import t from 'tap'
import { bundle } from '../scripts/build-dashboard.js'

const PAGE = [
  '<!doctype html>',
  '<head><link rel="stylesheet" href="style.css" /></head>',
  '<body><script src="client.js"></script></body>',
].join('\n')

t.test('the stylesheet and the script replace the tags that name their files', async (t) => {
  const html = bundle(PAGE, 'body { margin: 0 }\n', 'x = "$&"\n')
  t.equal(
    html,
    [
      '<!doctype html>',
      '<head><style>\nbody { margin: 0 }\n</style></head>',
      '<body><script>\nx = "$&"\n</script></body>',
    ].join('\n'),
  )
})

t.test('a page without the tag of either file is refused', async (t) => {
  t.throws(() => bundle(PAGE.replace('href="style.css"', 'href="other.css"'), '', ''), {
    message: /index\.html must contain <link rel="stylesheet" href="style\.css" \/> exactly once/,
  })
  t.throws(() => bundle(PAGE + PAGE, '', ''), { message: /exactly once/ })
})

t.test('a style or script that would end its inline element early is refused', async (t) => {
  t.throws(() => bundle(PAGE, 'a::after { content: "</style>" }', ''), {
    message: /must not contain <\/style/,
  })
  t.throws(() => bundle(PAGE, '', 'const s = "</SCRIPT>"'), {
    message: /must not contain <\/script/,
  })
})
