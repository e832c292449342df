import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'keys/', 'test-artifacts/', 'bench/results/', '.tap/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Typed rules: the checker knows which calls return promises.
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['bin/*.js', 'scripts/*.mjs', 'eslint.config.js', 'examples/*/*.mjs'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      // A promise nobody awaits loses its rejection; `void` says it was meant.
      // tap's test() and t.test() are awaited by the runner itself.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafePromises: [{ from: 'package', package: '@tapjs/core', name: 'PromiseWithSubtest' }],
      }],
      '@typescript-eslint/no-misused-promises': 'error',
      'no-console': 'error',
      // process.env is read in src/config only (STYLE.md rule 7); the CLI's entry hands it over.
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'read configuration through src/config' }],
    },
  },
  {
    files: ['src/config/**', 'src/cli/main.ts', 'test/**', 'bench/**', 'bin/**', 'examples/**', 'scripts/*.mjs', 'eslint.config.js'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // The CLI writes to the streams it is given; only tools and tests print.
    files: ['test/**', 'bench/**', 'bin/**', 'examples/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // Examples are plain JavaScript for users to copy: Node's globals, and node:test's test() left to its runner.
    files: ['examples/**/*.mjs'],
    languageOptions: {
      globals: { Buffer: 'readonly', URL: 'readonly', URLSearchParams: 'readonly', fetch: 'readonly', process: 'readonly', console: 'readonly', setTimeout: 'readonly' },
    },
    rules: { '@typescript-eslint/no-floating-promises': 'off', '@typescript-eslint/no-misused-promises': 'off' },
  },
);
