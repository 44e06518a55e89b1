import type { CallContext, Completion, Link } from "./ports.js";

/** Builds a completion from the requests gathered in `context`. */
export function finish(
  outcome: Completion["outcome"],
  reason: string,
  links: Link[],
  context: CallContext,
  warnings: string[] = [],
): Completion {
  return { outcome, reason, links, requests: context.requests, warnings };
}

/** Links of `earlier` replaced by those of `later` with the same key, plus the rest of `later`. */
export function mergeLinks(earlier: Link[], later: Link[]): Link[] {
  const key = (link: Link) =>
    `${link.entity}\u0000${link.ghlLocationId}\u0000${link.ghlId}`;
  const merged = new Map(earlier.map((link) => [key(link), link]));
  for (const link of later) merged.set(key(link), link);
  return [...merged.values()];
}

/** Whether a completion sent any write to the other side. */
export function wrote(completion: Completion): boolean {
  return completion.requests.some((request) => request.method !== "GET");
}
