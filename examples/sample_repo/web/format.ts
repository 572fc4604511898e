// Small text helpers used when showing notes in the list view.

const UNITS: Array<[string, number]> = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
];

/** Describe how long ago a Unix timestamp was, e.g. "3 days ago" or "just now". */
export function timeAgo(epochSeconds: number, now: number = Date.now() / 1000): string {
  const elapsed = Math.max(0, Math.floor(now - epochSeconds));
  for (const [unit, size] of UNITS) {
    const count = Math.floor(elapsed / size);
    if (count >= 1) {
      return `${count} ${unit}${count === 1 ? "" : "s"} ago`;
    }
  }
  return "just now";
}

/** Remove Markdown punctuation (#, *, `, |) so only readable words remain. */
export function stripMarkup(markdown: string): string {
  return markdown
    .replace(/[#*`|>]/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

/**
 * A preview of a note body: plain text cut at a word boundary so that it is at most
 * `limit` characters, with an ellipsis when something was dropped.
 */
export function excerpt(markdown: string, limit = 120): string {
  const plain = stripMarkup(markdown);
  if (plain.length <= limit) {
    return plain;
  }
  const cut = plain.lastIndexOf(" ", limit);
  return `${plain.slice(0, cut > 0 ? cut : limit)}…`;
}

/** Number of whitespace-separated words once markup is gone. */
export function wordCount(markdown: string): number {
  const plain = stripMarkup(markdown);
  return plain ? plain.split(" ").length : 0;
}
