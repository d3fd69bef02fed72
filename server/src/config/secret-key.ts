/**
 * Checks of a configured server key (EARSHOT_SECRET_KEY or the file EARSHOT_SECRET_KEY_FILE
 * names); shared/server-key.ts turns the accepted text into the key's bytes.
 */

/** Shortest configured key accepted (characters; the key's bytes are its UTF-8 encoding). */
export const MIN_SECRET_KEY_LENGTH = 32;
/** Fewer distinct characters than this is a placeholder (`xxxx…`, `changeme…`), not a key. */
const MIN_DISTINCT_CHARACTERS = 10;

/**
 * Why a configured key is unusable, in plain words that never repeat the key, or null when it is
 * fine. Any printable text of 32+ characters is accepted as before (its UTF-8 bytes are the key);
 * control characters (a pasted line break, a NUL) and low-variety placeholders are refused.
 */
export function secretKeyProblem(key: string): string | null {
  if (key.length < MIN_SECRET_KEY_LENGTH)
    return `is ${key.length} characters long; it needs at least ${MIN_SECRET_KEY_LENGTH} (generate one with: openssl rand -base64 48)`;
  if (/[\u0000-\u001f\u007f]/.test(key))
    return 'contains a line break or another control character (a copy-paste slip?); use printable characters only';
  if (new Set(key).size < MIN_DISTINCT_CHARACTERS)
    return `uses fewer than ${MIN_DISTINCT_CHARACTERS} different characters, which looks like a placeholder (generate one with: openssl rand -base64 48)`;
  return null;
}

/** A key file's content: the text without the one trailing line break editors and `echo` add. */
export function keyFromFileText(text: string): string {
  return text.replace(/\r?\n$/, '');
}
