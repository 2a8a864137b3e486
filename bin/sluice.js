#!/usr/bin/env node
// The `sluice` command. Sources are TypeScript, loaded through tsx so no build step stands between
// a checkout and a working CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
