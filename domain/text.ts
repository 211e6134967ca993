/**
 * Checks on text that greco passes to other systems (zip entry names, Lambda handlers, tags,
 * environment values), defined once for every plane.
 *
 * @module
 */

/**
 * Whether `text` holds a C0 control character (U+0000 to U+001F, NUL included) or DEL (U+007F):
 * characters that no file name, handler or tag needs, and that terminate or corrupt C strings
 * and log lines.
 *
 * @example
 * hasControlCharacter('index.handler'); // false
 * hasControlCharacter('index\u0000.handler'); // true
 */
export function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 0x1f || code === 0x7f) return true;
  }
  return false;
}
