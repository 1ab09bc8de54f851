/**
 * Secrets never leave the process in logs, errors or API output. Every value that
 * came from `env()` in the config is registered here, and text that leaves smelt
 * passes through `redact()`.
 */
const secrets = new Set<string>();

export function registerSecret(value: string): void {
  if (value.length >= 4) secrets.add(value);
}

/** Replaces every registered secret (and passwords in URLs) in `text`. */
export function redact(text: string): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('***');
  return out.replace(/(\w+:\/\/[^:/@\s]+:)[^@\s]+@/g, '$1***@');
}
