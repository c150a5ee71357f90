import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// DESIGN.md §3: api/ and core/ import no component; a component imports no other component.
// The `ambit` command (cli/) is the one shell over every program and may import their faces.
const components = ['controlplane', 'ztunnel', 'waypoint', 'cni', 'local', 'cli'];
const layerRules = [
  ...['api', 'core'].map((layer) => ({
    files: [`${layer}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: components.map((c) => ({
            group: [`**/${c}/*`],
            message: `${layer}/ must not import ${c}/`,
          })),
        },
      ],
    },
  })),
  ...components
    .filter((c) => c !== 'cli')
    .map((c) => ({
      files: [`${c}/**/*.ts`],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: components
              .filter((o) => o !== c)
              .map((o) => ({
                group: [`**/${o}/*`],
                message: `${c}/ must not import ${o}/ (move shared code to core/ or api/)`,
              })),
          },
        ],
      },
    })),
];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'dist-*/', 'api/gen/', '.tap/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  ...layerRules,
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { URL: 'readonly', console: 'readonly', process: 'readonly' } },
  },
);
