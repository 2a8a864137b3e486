// Entry of the conformance child process: TypeScript is loaded through tsx (as bin/sluice.js does), so a
// connector's module runs exactly as in the CLI, in a process the parent can kill -9.
import { register } from 'tsx/esm/api';

register();
await import('./child.ts');
