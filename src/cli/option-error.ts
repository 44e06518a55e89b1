/** Thrown for a command-line option value that cannot be used; the message names the value and the fix. */
export class OptionError extends Error {
  override name = "OptionError";
}
