import { defineConfig, loadEnv } from 'vite';
import react from '@vitejs/plugin-react';

// `npm run dev -w portal` serves the portal with hot reload and forwards /api to a running
// server (LPWAN_API_URL, default http://localhost:3000). `npm run build` writes dist/, which
// the server serves at `/`.
export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, '.', 'LPWAN_');
  return {
    plugins: [react()],
    build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
    server: {
      proxy: { '/api': env.LPWAN_API_URL ?? 'http://localhost:3000' },
    },
  };
});
