import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import pluginVue from 'eslint-plugin-vue';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'portal-ui/dist/', 'bench/results/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: { allowDefaultProject: ['*.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/ban-ts-comment': ['error', { 'ts-ignore': true, 'ts-expect-error': 'allow-with-description' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': ['error', { object: 'process', property: 'exit', message: 'Only proxy/cli/main.ts may exit the process.' }],
    },
  },
  { files: ['proxy/cli/main.ts', 'bench/**/*.ts', 'test/**/fixtures/**'], rules: { 'no-restricted-properties': 'off' } },
  // Retention Portal UI: a browser app (DOM, no node), type-checked through portal-ui/tsconfig.json, .vue included.
  ...pluginVue.configs['flat/recommended'].map((c) => ({ ...c, files: ['portal-ui/**/*.vue'] })),
  {
    files: ['portal-ui/**/*.{ts,vue}'],
    ignores: ['portal-ui/vite.config.ts'],
    languageOptions: {
      globals: { ...globals.browser },
      parserOptions: { parser: tseslint.parser, projectService: true, extraFileExtensions: ['.vue'], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      'no-restricted-globals': ['error', { name: 'fetch', message: 'Only portal-ui/src/api/ speaks HTTP.' }, { name: 'XMLHttpRequest', message: 'Only portal-ui/src/api/ speaks HTTP.' }],
    },
  },
  {
    files: ['portal-ui/**/*.vue'],
    rules: {
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/multiline-html-element-content-newline': 'off',
      'vue/html-self-closing': ['error', { html: { void: 'always', normal: 'always', component: 'always' } }],
      'vue/block-lang': ['error', { script: { lang: 'ts' } }],
      'vue/no-v-html': 'error',
    },
  },
  { files: ['portal-ui/src/api/**/*.ts'], rules: { 'no-restricted-globals': 'off' } },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
);
