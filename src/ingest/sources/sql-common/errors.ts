/**
 * Driver errors turned into one-line reasons a person can act on, with every
 * secret removed: the configured password and URL, anything registered with
 * redact(), and passwords inside URLs. Never a stack trace.
 */
import { SmeltError } from '../../../core/errors.js';
import { redact } from '../../../core/redact.js';

/** The database refused or could not be reached; the message is safe to print. */
export class SourceConnectionError extends SmeltError {
  override readonly code = 'E_SOURCE';
}

export function scrub(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) if (s && s.length > 0) out = out.split(s).join('***');
  return redact(out);
}

/** `where`: `PostgreSQL at 127.0.0.1:5432`. */
export function connectionReason(e: unknown, where: string, timeoutMs: number): string {
  const err = e as { code?: string | number; errno?: number; message?: string; sqlMessage?: string };
  const msg = String(err?.sqlMessage ?? err?.message ?? e).split('\n')[0]!;
  switch (err?.code) {
    case 'ECONNREFUSED': return `cannot connect to ${where}: connection refused (is the server running?)`;
    case 'ENOTFOUND': case 'EAI_AGAIN': return `cannot connect to ${where}: host not found`;
    case 'ETIMEDOUT': return `cannot connect to ${where}: no answer within ${timeoutMs} ms`;
    case 'ECONNRESET': case 'EPIPE': return `cannot connect to ${where}: the connection was closed by the server`;
    case '28P01': case '28000': case 'ER_ACCESS_DENIED_ERROR': case 'ER_DBACCESS_DENIED_ERROR': case 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR':
      return `${where}: authentication failed: ${msg}`;
    case '3D000': case 'ER_BAD_DB_ERROR': return `${where}: ${msg}`;
    default:
      if (/timeout|timed out/i.test(msg)) return `cannot connect to ${where}: no answer within ${timeoutMs} ms`;
      return `${where}: ${msg}`;
  }
}
