import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Bitset, FileFingerprintStore, Snapshot, SnapshotBuilder, hash64, mergeSnapshot } from './fingerprints.ts';

const out = new Uint32Array(2);
function hashOf(text: string): [number, number] {
  hash64(text, out);
  return [out[0]!, out[1]!];
}

/** Adds `key → value` to a builder, hashing both as the pipeline does. */
function add(builder: SnapshotBuilder, key: string, value: string): void {
  const [keyHigh, keyLow] = hashOf(key);
  const [valueHigh, valueLow] = hashOf(value);
  builder.add(keyHigh, keyLow, valueHigh, valueLow, key);
}

function build(entries: Record<string, string>, meta = {}): Snapshot {
  const builder = new SnapshotBuilder();
  for (const [key, value] of Object.entries(entries)) add(builder, key, value);
  return Snapshot.decode(mergeSnapshot(Snapshot.empty(), builder, meta));
}

function lookup(snapshot: Snapshot, key: string, value: string): 'missing' | 'same' | 'changed' {
  const index = snapshot.find(...hashOf(key));
  if (index < 0) return 'missing';
  return snapshot.sameValue(index, ...hashOf(value)) ? 'same' : 'changed';
}

describe('hash64', () => {
  it('is deterministic, spreads close inputs, and has no collisions over 200k keys', () => {
    expect(hashOf('{"id":1}')).toEqual(hashOf('{"id":1}'));
    expect(hashOf('{"id":1}')).not.toEqual(hashOf('{"id":2}'));
    expect(hashOf('')).not.toEqual(hashOf(' '));
    const seen = new Set<string>();
    for (let id = 0; id < 200_000; id++) seen.add(hashOf(String(id)).join(':'));
    expect(seen.size).toBe(200_000);
  });
});

describe('Snapshot', () => {
  it('encodes and decodes: entries, key texts, meta', () => {
    const snapshot = build({ '1': 'a', '"two"': 'b', '[3,"x"]': 'c', '"é ✓"': 'd' }, { columns: { id: 'integer' }, key: [['id']] });
    expect(snapshot.count).toBe(4);
    expect(snapshot.meta).toEqual({ columns: { id: 'integer' }, key: [['id']] });
    expect(lookup(snapshot, '1', 'a')).toBe('same');
    expect(lookup(snapshot, '1', 'z')).toBe('changed');
    expect(lookup(snapshot, '"two"', 'b')).toBe('same');
    expect(lookup(snapshot, '"é ✓"', 'd')).toBe('same');
    expect(lookup(snapshot, '4', 'a')).toBe('missing');
    const keys = Array.from({ length: snapshot.count }, (_, index) => snapshot.keyText(index)).sort();
    expect(keys).toEqual(['"two"', '"é ✓"', '1', '[3,"x"]'].sort());
    // Round trip: the same bytes again, also from an unaligned copy.
    const encoded = snapshot.encode();
    const unaligned = Buffer.alloc(encoded.length + 1).subarray(1);
    encoded.copy(unaligned);
    const again = Snapshot.decode(unaligned);
    expect(again.encode().equals(encoded)).toBe(true);
    expect(lookup(again, '[3,"x"]', 'c')).toBe('same');
    // A new meta, same entries.
    expect(Snapshot.decode(snapshot.encode({ columns: {} })).meta).toEqual({ columns: {} });
  });

  it('sorts by key hash, so lookups are binary searches', () => {
    const snapshot = build(Object.fromEntries(Array.from({ length: 5000 }, (_, id) => [String(id), `v${id}`])));
    for (let index = 1; index < snapshot.count; index++) {
      const previous = snapshot.entries[(index - 1) * 4]! * 2 ** 32 + snapshot.entries[(index - 1) * 4 + 1]!;
      const current = snapshot.entries[index * 4]! * 2 ** 32 + snapshot.entries[index * 4 + 1]!;
      expect(current).toBeGreaterThan(previous);
    }
    for (let id = 0; id < 5000; id += 97) expect(lookup(snapshot, String(id), `v${id}`)).toBe('same');
  });

  it('refuses what is not a snapshot', () => {
    expect(() => Snapshot.decode(Buffer.from('hello, this is not a snapshot at all'))).toThrow(/bad magic/);
    expect(() => Snapshot.decode(Buffer.alloc(3))).toThrow(/truncated/);
    const encoded = build({ '1': 'a' }).encode();
    expect(() => Snapshot.decode(encoded.subarray(0, encoded.length - 2))).toThrow(/truncated/);
  });

  it('an empty snapshot finds nothing and encodes', () => {
    const empty = Snapshot.decode(Snapshot.empty({ columns: { a: 'string' } }).encode());
    expect(empty.count).toBe(0);
    expect(empty.find(...hashOf('1'))).toBe(-1);
    expect(empty.meta.columns).toEqual({ a: 'string' });
  });
});

describe('mergeSnapshot', () => {
  it('adds new keys, replaces changed ones, removes deleted ones, keeps the rest', () => {
    const old = build({ '1': 'a', '2': 'b', '3': 'c', '4': 'd' });
    const changes = new SnapshotBuilder();
    add(changes, '2', 'B'); // update
    add(changes, '5', 'e'); // create
    changes.remove(old.find(...hashOf('3')), old.count); // delete
    const next = Snapshot.decode(mergeSnapshot(old, changes, { columns: { x: 'string' } }));
    expect(next.count).toBe(4);
    expect(lookup(next, '1', 'a')).toBe('same');
    expect(lookup(next, '2', 'B')).toBe('same');
    expect(lookup(next, '3', 'c')).toBe('missing');
    expect(lookup(next, '4', 'd')).toBe('same');
    expect(lookup(next, '5', 'e')).toBe('same');
    expect(next.keyText(next.find(...hashOf('5')))).toBe('5');
    expect(next.meta).toEqual({ columns: { x: 'string' } });
  });

  it('keeps the last of two additions with one key', () => {
    const changes = new SnapshotBuilder();
    add(changes, '7', 'first');
    add(changes, '7', 'second');
    const next = Snapshot.decode(mergeSnapshot(Snapshot.empty(), changes, {}));
    expect(next.count).toBe(1);
    expect(lookup(next, '7', 'second')).toBe('same');
  });

  it('radix-sorts large change sets the same way (duplicates included)', () => {
    const changes = new SnapshotBuilder();
    for (let id = 0; id < 20_000; id++) add(changes, String(id % 15_000), `v${id}`);
    const next = Snapshot.decode(mergeSnapshot(Snapshot.empty(), changes, {}));
    expect(next.count).toBe(15_000);
    expect(lookup(next, '10', 'v15010')).toBe('same'); // the later of the two
    expect(lookup(next, '14000', 'v14000')).toBe('same');
    expect(lookup(next, '15000', 'v15000')).toBe('missing');
  });

  it('agrees with a Map model over random rounds of adds, updates, duplicates and removals', () => {
    let seed = 42;
    const random = (below: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % below;
    };
    const model = new Map<string, string>();
    let snapshot = Snapshot.empty();
    for (let round = 0; round < 8; round++) {
      const changes = new SnapshotBuilder();
      const removedKeys = new Set<string>();
      for (const [key] of model) if (random(10) === 0) removedKeys.add(key);
      for (const key of removedKeys) {
        changes.remove(snapshot.find(...hashOf(key)), snapshot.count);
        model.delete(key);
      }
      const additions = random(3000) + (round === 0 ? 2000 : 0);
      for (let step = 0; step < additions; step++) {
        const key = String(random(6000));
        if (removedKeys.has(key)) continue;
        const value = `v${round}-${step}`;
        add(changes, key, value);
        model.set(key, value);
      }
      snapshot = Snapshot.decode(mergeSnapshot(snapshot, changes, { round } as never));
      expect(snapshot.count).toBe(model.size);
      for (const [key, value] of model) expect(lookup(snapshot, key, value)).toBe('same');
      const keys = Array.from({ length: snapshot.count }, (_, index) => snapshot.keyText(index)).sort();
      expect(keys).toEqual([...model.keys()].sort());
    }
  });

  it('builds, encodes, decodes and merges a million entries in reasonable time and memory', () => {
    const started = performance.now();
    const builder = new SnapshotBuilder();
    const hash = new Uint32Array(2);
    for (let id = 0; id < 1_000_000; id++) {
      const key = String(id);
      hash64(key, hash);
      const keyHigh = hash[0]!;
      const keyLow = hash[1]!;
      hash64(`{"id":${id},"name":"customer ${id}"}`, hash);
      builder.add(keyHigh, keyLow, hash[0]!, hash[1]!, key);
    }
    const encoded = mergeSnapshot(Snapshot.empty(), builder, {});
    const first = performance.now() - started;
    const snapshot = Snapshot.decode(encoded);
    expect(snapshot.count).toBe(1_000_000);
    // 16 bytes of hashes and 4 of offset per entry, plus the key text.
    expect(encoded.length).toBeLessThan(30_000_000);
    // A second run that changed 1%: the merge is linear in the snapshot.
    const changes = new SnapshotBuilder();
    for (let id = 0; id < 1_000_000; id += 100) add(changes, String(id), 'changed');
    const again = performance.now();
    const next = Snapshot.decode(mergeSnapshot(snapshot, changes, {}));
    const second = performance.now() - again;
    expect(next.count).toBe(1_000_000);
    expect(lookup(next, '500', 'changed')).toBe('same');
    // Generous bounds for a shared 2-core machine; measured ~1.5 s and ~0.1 s.
    expect(first).toBeLessThan(15_000);
    expect(second).toBeLessThan(3_000);
  });
});

describe('Bitset', () => {
  it('sets and tests bits', () => {
    const bits = new Bitset(20);
    bits.set(0);
    bits.set(9);
    bits.set(19);
    expect([0, 1, 9, 10, 19].map((index) => bits.has(index))).toEqual([true, false, true, false, true]);
  });
});

describe('FileFingerprintStore', () => {
  it('returns undefined before the first save, then what was saved (atomically replaced)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-fp-'));
    const store = new FileFingerprintStore(join(dir, 'nested', 'a.fingerprints'));
    expect(await store.load()).toBeUndefined();
    const snapshot = build({ '1': 'a' }).encode();
    await store.save(snapshot);
    expect((await store.load())!.equals(snapshot)).toBe(true);
    const next = build({ '2': 'b' }).encode();
    await store.save(next);
    expect((await readFile(store.path)).equals(next)).toBe(true);
  });
});
