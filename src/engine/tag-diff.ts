/**
 * Tag comparison and diffing. Tags are compared by a key: Unicode NFC,
 * trimmed, lower-cased. GHL's interface treats tags that differ only in case
 * as one tag, so a case-only edit in GHL must not make the sync remove a tag
 * on Coopel and add it again. The spelling sent on an add is GHL's.
 */
export function tagKey(tag: string): string {
  return tag.normalize("NFC").trim().toLowerCase();
}

/** Tags of `from` whose key is not among the keys of `without`, first spelling kept, no repeats. */
export function tagsMinus(
  from: readonly string[],
  without: readonly string[],
): string[] {
  const excluded = new Set(without.map(tagKey));
  const seen = new Set<string>();
  const result: string[] = [];
  for (const tag of from) {
    const key = tagKey(tag);
    if (key === "" || excluded.has(key) || seen.has(key)) continue;
    seen.add(key);
    result.push(tag.trim());
  }
  return result;
}

/** Whether `tags` holds `tag` by key. */
export function hasTag(tags: readonly string[], tag: string): boolean {
  const key = tagKey(tag);
  return tags.some((t) => tagKey(t) === key);
}

/** The tag writes for one contact event. */
export interface TagPlan {
  add: string[];
  remove: string[];
  /** The GHL list to remember for the next diff; null while still unknown. */
  ghlTags: string[] | null;
  /** The rule tags the sync owns after this event. */
  ruleTags: string[];
}

/**
 * Plans tag writes from the GHL list last seen, the list in the event (null
 * when the event carried none, which is "unknown" and changes nothing), and
 * the rule tags owned before and wanted now.
 *
 * - GHL tags added since last time are added; GHL tags removed since last
 *   time are removed, unless a rule still wants them.
 * - When no earlier list is known, the current list is added and nothing is
 *   removed, since a removal cannot be told from a tag that only Coopel has.
 * - Rule tags are added while their rule holds and removed when it stops,
 *   unless GHL itself has the tag.
 * - A tag that only Coopel has is in none of these lists, so it is never removed.
 */
export function planTags(input: {
  previousGhlTags: string[] | null;
  currentGhlTags: string[] | null;
  ownedRuleTags: string[];
  wantedRuleTags: string[];
}): TagPlan {
  const { previousGhlTags, currentGhlTags, ownedRuleTags, wantedRuleTags } =
    input;
  const ghlTags = currentGhlTags ?? previousGhlTags;
  const add: string[] = [];
  const remove: string[] = [];
  if (currentGhlTags !== null) {
    add.push(...tagsMinus(currentGhlTags, previousGhlTags ?? []));
    if (previousGhlTags !== null)
      remove.push(
        ...tagsMinus(previousGhlTags, [...currentGhlTags, ...wantedRuleTags]),
      );
  }
  add.push(
    ...tagsMinus(wantedRuleTags, [
      ...ownedRuleTags,
      ...add,
      ...(ghlTags ?? []),
    ]),
  );
  remove.push(
    ...tagsMinus(ownedRuleTags, [
      ...wantedRuleTags,
      ...(ghlTags ?? []),
      ...remove,
    ]),
  );
  return {
    add: tagsMinus(add, []),
    remove: tagsMinus(remove, add),
    ghlTags: ghlTags === null ? null : tagsMinus(ghlTags, []),
    ruleTags: tagsMinus(wantedRuleTags, []),
  };
}
