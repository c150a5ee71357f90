import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// DESIGN.md §3: api/ and core/ import no component; a component imports no other component.
// An import reaches a component only by climbing to the repository root and descending into
// the component's top folder, so the rule is anchored at the importing file's depth: a file
// d folders deep names `(../){d}<component>/`. `api/waypoint/` and `controlplane/waypoint/`
// are not the waypoint component.
const components = ['controlplane', 'ztunnel', 'waypoint', 'cni', 'local', 'cli'];
const MAX_DEPTH = 8;

function restrict(layer, forbidden, message) {
  return Array.from({ length: MAX_DEPTH }, (_, i) => {
    const depth = i + 1;
    return {
      files: [`${layer}/${'*/'.repeat(depth - 1)}*.ts`],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: forbidden.map((c) => ({
              regex: `^(\\.\\./){${depth}}${c}/`,
              message: message(c),
            })),
          },
        ],
      },
    };
  });
}

const layerRules = [
  ...['api', 'core'].flatMap((layer) =>
    restrict(layer, components, (c) => `${layer}/ must not import ${c}/`),
  ),
  ...components
    .filter((c) => c !== 'cli')
    .flatMap((c) =>
      restrict(
        c,
        components.filter((o) => o !== c),
        (o) => `${c}/ must not import ${o}/ (move shared code to core/ or api/)`,
      ),
    ),
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
