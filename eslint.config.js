import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

/**
 * Layers point one way: http → ingest → pipeline → db, and on the read side http → feed → db. A
 * module may import its own layer and the ones below it, never above; workers run beside the
 * pipeline and never load the HTTP edge.
 * Types may be named across layers (the validated `Event` is the contract between them); code may
 * not be imported upward.
 */
const layers = [
  { files: ['src/ingest/**'], above: ['http', 'feed'] },
  { files: ['src/feed/**'], above: ['http', 'ingest', 'pipeline'] },
  { files: ['src/pipeline/**'], above: ['http', 'ingest', 'feed'] },
  { files: ['src/db/**'], above: ['http', 'ingest', 'pipeline', 'feed'] },
  { files: ['workers/**'], above: ['http', 'ingest', 'feed'] },
]

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', '.tap/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
    },
  },
  {
    // tap runs top-level `t.test()` calls itself; an async test body without `await` is normal
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafePromises: [
            { from: 'package', package: '@tapjs/core', name: 'PromiseWithSubtest' },
          ],
        },
      ],
      '@typescript-eslint/require-await': 'off',
    },
  },
  ...layers.map(({ files, above }) => ({
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: above.map((layer) => ({
            regex: `(^|/)${layer}/`,
            allowTypeImports: true,
            message: `${files[0]} sits below ${layer}/: dependencies point http → ingest → pipeline → db and http → feed → db`,
          })),
        },
      ],
    },
  })),
  // the dashboard's script runs in a browser, everything else in Node
  { files: ['src/dashboard/page/**'], languageOptions: { globals: globals.browser } },
  { ignores: ['src/dashboard/page/**'], languageOptions: { globals: globals.node } },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
)
