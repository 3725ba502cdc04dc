import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

// Built with `vite build --config portal-ui/vite.config.ts` (npm run build) into portal-ui/dist, which the proxy serves
// at `/`. `npx vite --config portal-ui/vite.config.ts` serves it for development with /api proxied to a running
// proxy (PORTAL_API, default http://127.0.0.1:8080).
const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  plugins: [vue()],
  build: { outDir: fileURLToPath(new URL('./dist', import.meta.url)), emptyOutDir: true, target: 'es2022', sourcemap: false },
  server: {
    host: '127.0.0.1',
    proxy: { '/api': { target: process.env.PORTAL_API ?? 'http://127.0.0.1:8080', changeOrigin: false } },
  },
});
