/** A source of uniformly distributed numbers in [0, 1), like `Math.random`. */
export type RandomSource = () => number;

/**
 * Creates a seeded pseudo-random generator (mulberry32), so that a run with the same seed
 * makes the same choices in the same order. Not for anything secret.
 */
export function createSeededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Returns an integer in [min, max], both ends included. */
export function randomInt(
  random: RandomSource,
  min: number,
  max: number,
): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** Returns one element of a non-empty list. */
export function pickOne<T>(random: RandomSource, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) {
    throw new RangeError("pickOne needs a non-empty list");
  }
  return item;
}

/** Returns `count` distinct elements of `items` in random order (all of them when `count` is larger). */
export function pickSome<T>(
  random: RandomSource,
  items: readonly T[],
  count: number,
): T[] {
  const pool = [...items];
  const picked: T[] = [];
  while (picked.length < count && pool.length > 0) {
    const index = Math.floor(random() * pool.length);
    picked.push(...pool.splice(index, 1));
  }
  return picked;
}
