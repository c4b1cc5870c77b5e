import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

// Precompressed copies (FILE.gz) of the text files of the build: the web
// plugin sends them to clients that accept gzip (level 9, once, at build time).
function gzipFiles() {
  return {
    name: 'rentezy-gzip',
    apply: 'build',
    generateBundle(_opts, bundle) {
      for (const [name, f] of Object.entries(bundle)) {
        if (!/\.(js|mjs|css|html|svg|json|map|txt)$/.test(name)) continue;
        const src = f.type === 'chunk' ? f.code : f.source;
        const buf = typeof src === 'string' ? Buffer.from(src) : Buffer.from(src);
        if (buf.length < 512) continue;
        this.emitFile({ type: 'asset', fileName: name + '.gz', source: gzipSync(buf, { level: 9 }) });
      }
    },
  };
}

const api = process.env.RZ_API || 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react(), gzipFiles()],
  base: '/',
  build: { outDir: process.env.RZ_WEB_OUT || 'dist', emptyOutDir: true, sourcemap: false },
  server: {
    proxy: {
      '/v1/ws': { target: api.replace(/^http/, 'ws'), ws: true },
      '/v1': api,
      '/media': api,
    },
  },
  test: {
    dir: fileURLToPath(new URL('../tests/web', import.meta.url)),
    include: ['**/*.test.js', '**/*.test.jsx'],
    globals: true,
    environment: 'node',
  },
});
