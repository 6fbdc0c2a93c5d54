/**
 * @module Small text helpers for messages people read: the closest names to a typo.
 */

/** Levenshtein edit distance, case-insensitive. */
export function distance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let previous = Array.from({ length: t.length + 1 }, (_, i) => i);
  for (let i = 1; i <= s.length; i++) {
    const current = [i];
    for (let j = 1; j <= t.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (s[i - 1] === t[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[t.length]!;
}

/** Up to `count` names closest to `wanted` (substring matches first), for "did you mean". */
export function closest(wanted: string, names: readonly string[], count = 3): string[] {
  const w = wanted.trim().toLowerCase();
  return [...new Set(names)]
    .map((name) => ({ name, score: name.toLowerCase().includes(w) || w.includes(name.toLowerCase()) ? -1 : distance(w, name) }))
    .filter((c) => c.score <= Math.max(3, Math.floor(w.length / 2)))
    .sort((a, b) => a.score - b.score || a.name.localeCompare(b.name))
    .slice(0, count)
    .map((c) => c.name);
}
