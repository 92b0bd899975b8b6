/** Characters AsyncAPI allows in the keys of `channels`, `operations` and `messages`. */
const ILLEGAL = /[^A-Za-z0-9_.-]/g;

/**
 * A key for an event or handler name: the name itself when legal, else the
 * cleaned name with a short hash of the original, so `a/b` and `a_b` stay apart.
 */
export function asyncApiKey(name: string): string {
  const cleaned = name.replace(ILLEGAL, '_');
  return cleaned === name ? name : `${cleaned}-${fnv1a(name)}`;
}

function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}
