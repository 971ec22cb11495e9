// What the brain attaches to each copy it asks the keeper for (opaque to the keeper): the config
// a new brain adopts the copy under.
/**
 * What a vassal's copies were started with (`tag`): the config a new brain adopts them under, and
 * the file's mtime when it was read. `v` changes with the shape of a config: a brain adopts only
 * copies whose tag it can read (others are drained and started again from their file).
 */
export interface CopyTag {
  v: typeof TAG_VERSION;
  vassal: string;
  file: string;
  config: unknown;
  mtimeMs: number;
  /** the copy's generation in the brain that asked for it (absent from an older brain): a new brain numbers on from it */
  gen?: number;
}
export const TAG_VERSION = 1;

export function copyTag(vassal: string, file: string, config: unknown, mtimeMs: number, gen?: number): CopyTag {
  return { v: TAG_VERSION, vassal, file, config, mtimeMs, ...(gen === undefined ? {} : { gen }) };
}

export function tagOf(c: { tag: unknown }): CopyTag | null {
  const t = c.tag as Partial<CopyTag> | null;
  return t && t.v === TAG_VERSION && typeof t.vassal === 'string' && typeof t.file === 'string' && typeof t.config === 'object' && t.config !== null && typeof t.mtimeMs === 'number' ? (t as CopyTag) : null;
}
