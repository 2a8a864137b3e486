// After `tsc -p tsconfig.build.json`: copy the non-TypeScript files that src/ reads at run time
// (scaffold templates, plain-JS runners and fixtures) into dist/, mirroring their paths.
import { cpSync, readdirSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';

const SOURCE = 'src';
const TARGET = 'dist';
const walk = (dir) => readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? walk(join(dir, name)) : [join(dir, name)]));
let copied = 0;
for (const file of walk(SOURCE)) {
  if (['.ts', '.md'].includes(extname(file)) && !file.endsWith('.tpl')) continue;
  cpSync(file, join(TARGET, relative(SOURCE, file)));
  copied++;
}
console.log(`copied ${copied} asset files into ${TARGET}/`);
