/// <reference types="vite/client" />

// For tools that see .ts files without the Vue language service (typescript-eslint): a .vue import is a component.
// vue-tsc resolves the real files and their types.
declare module '*.vue' {
  import type { DefineComponent } from 'vue';
  const component: DefineComponent;
  export default component;
}
