/**
 * Summarize a V8 CPU profile (`node --cpu-prof`): the functions with the most self time, with their file and
 * line, so a benchmark that falls short can point at its hot spots without opening DevTools.
 *
 * Standalone: `node --import tsx bench/lib/cpu-profile.ts <file.cpuprofile> [top=25]`.
 */
import { readFileSync } from 'node:fs';
import { isMain } from './entry.ts';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface HotSpot {
  readonly name: string;
  readonly location: string;
  readonly selfMs: number;
  readonly selfPercent: number;
}

export function hotSpots(path: string, top = 25): HotSpot[] {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map<number, ProfileNode>(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!);
    const delta = profile.timeDeltas[i] ?? 0;
    if (node === undefined) continue;
    total += delta;
    const frame = node.callFrame;
    const file = frame.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '~/');
    const key = `${frame.functionName || '(anonymous)'}\t${file === '' ? '' : `${file.replace(/^.*\/(src|bench)\//, '$1/')}:${frame.lineNumber + 1}`}`;
    selfUs.set(key, (selfUs.get(key) ?? 0) + delta);
  }
  return [...selfUs.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, us]) => {
      const [name = '', location = ''] = key.split('\t');
      return { name, location, selfMs: us / 1000, selfPercent: total > 0 ? (us / total) * 100 : 0 };
    });
}

export function formatHotSpots(spots: readonly HotSpot[]): string {
  return spots.map((spot) => `${spot.selfPercent.toFixed(1).padStart(5)}%  ${spot.selfMs.toFixed(0).padStart(6)} ms  ${spot.name}  ${spot.location}`).join('\n');
}

if (isMain(import.meta.url)) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: cpu-profile.ts <file.cpuprofile> [top]\n');
    process.exit(1);
  }
  process.stdout.write(`${formatHotSpots(hotSpots(file, Number(process.argv[3] ?? 25)))}\n`);
}
