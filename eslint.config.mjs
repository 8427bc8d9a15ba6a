// Type-aware lint for TypeScript: typescript-eslint's recommended rules with
// type information, over the sources, the benchmark and the tests. Layout is
// prettier's (npm run format); eslint-config-prettier turns off the rules it owns.
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'native/build/**', 'esm/**', 'test/fixtures/**', 'eslint.config.mjs'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { project: ['./tsconfig.test.json'], tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A leading underscore marks a value left out on purpose (a destructured key, an unused callback argument).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      // A timer read by a closure declared before the timer is set.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    files: ['test/**/*.ts'],
    // vitest's asymmetric matchers (expect.stringMatching, ...) are typed any.
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  prettier,
);
