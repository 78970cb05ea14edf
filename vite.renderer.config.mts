// Builds the renderer (React + zustand) from src-renderer into dist/renderer. base './' keeps every asset URL
// relative, so the same build works under Electron's app:// protocol and under serve mode's http://127.0.0.1.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('./src-renderer', import.meta.url));

export default defineConfig({
  root,
  base: './',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('./dist/renderer', import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
    target: 'chrome120',
    // The app is loaded from disk or loopback: one chunk size warning threshold that fits an admin tool's editor deps.
    chunkSizeWarningLimit: 2048,
  },
});
