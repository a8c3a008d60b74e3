/**
 * HTML escaping for the admin status page. Every string that goes into the page goes through
 * `escapeHtml`, numbers included, so no figure a node reports can become markup.
 */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Text safe inside an element and inside a double- or single-quoted attribute. */
export function escapeHtml (text: string | number): string {
  return String(text).replace(/[&<>"']/g, (c) => ENTITIES[c]!)
}
