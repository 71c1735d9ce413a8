// Lint rules for peerkit: typescript-eslint's recommended type-aware set,
// plus the project's own rule that protocol and policy code never reads the
// ambient clock or randomness (DESIGN.md: inject Clock and a seeded rng).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const leaves = ['src/bencode', 'src/metainfo', 'src/wire', 'src/extensions', 'src/dht', 'src/tracker', 'src/overlay', 'src/engine'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { files: ['**/*.js'], languageOptions: { globals: globals.node } },
  // The web UI runs in the browser.
  { files: ['src/web/ui/**/*.{ts,tsx}'], languageOptions: { globals: globals.browser } },
  {
    files: ['**/*.ts', '**/*.tsx'],
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: leaves.map((d) => `${d}/**/*.ts`),
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Inject the clock (DESIGN.md).' },
        { object: 'Math', property: 'random', message: 'Inject a seeded random source (DESIGN.md).' },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use the injected Clock (DESIGN.md).' },
        { name: 'setInterval', message: 'Use the injected Clock (DESIGN.md).' },
      ],
    },
  },
);
