/**
 * BENCHMARKS.md holds one section per benchmark, each between `<!-- bench:<id>:start -->` and
 * `<!-- bench:<id>:end -->` markers. A benchmark rewrites only its own section and leaves the rest of the
 * file as it was; a missing file is created with a short intro, a missing section is appended.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BENCHMARKS_FILE = fileURLToPath(new URL('../../BENCHMARKS.md', import.meta.url));

const INTRO = `# Benchmarks

Figures written by \`npm run bench\`; each section is rewritten by the benchmark that owns it (between its
markers) and the rest of this file is left alone. Machines are noisy: figures are medians of several runs,
and each Sluice figure is compared with a raw floor measured in the same run on the same machine.
`;

export function writeMarkdownSection(id: string, body: string, file = BENCHMARKS_FILE): void {
  const start = `<!-- bench:${id}:start -->`;
  const end = `<!-- bench:${id}:end -->`;
  const block = `${start}\n${body.trim()}\n${end}`;
  const current = existsSync(file) ? readFileSync(file, 'utf8') : INTRO;
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  let next: string;
  if (from !== -1 && to > from) {
    next = current.slice(0, from) + block + current.slice(to + end.length);
  } else {
    next = `${current.trimEnd()}\n\n${block}\n`;
  }
  const temp = `${file}.tmp`;
  writeFileSync(temp, next);
  renameSync(temp, file);
}
