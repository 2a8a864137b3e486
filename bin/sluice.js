#!/usr/bin/env node
// The `sluice` command. In a checkout (src/ present) it runs the TypeScript sources through tsx, so no build
// step stands between an edit and the CLI; an installed package runs the compiled dist/ (`npm run build`),
// which starts twice as fast and uses ~35 MB less memory. SLUICE_DIST=1 forces dist/ in a checkout.
import { existsSync } from 'node:fs';

const fromSource = existsSync(new URL('../src/cli/bin.ts', import.meta.url)) && process.env.SLUICE_DIST !== '1';
if (fromSource) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/bin.ts');
} else {
  await import('../dist/cli/bin.js');
}
