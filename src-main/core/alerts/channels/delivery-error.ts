/**
 * DeliveryError: why one delivery attempt failed, in words for the Alerts history ("timed out after 10 s",
 * "HTTP 500 Internal Server Error", "bad certificate: self-signed certificate"), and whether another attempt may pass.
 * describeNetworkError is the one translation of Node socket and TLS error codes into those words.
 */

export class DeliveryError extends Error {
  constructor(
    message: string,
    /** false when trying again cannot help (HTTP 400, a missing program, a missing secret). */
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

/** A network or TLS failure in words, with its code: "bad certificate: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)". */
export function describeNetworkError(err: unknown): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (code && TLS_CODES.has(code)) return new DeliveryError(`bad certificate: ${message} (${code})`, true);
  if (code === 'ECONNREFUSED') return new DeliveryError(`connection refused (${code})`, true);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new DeliveryError(`host not found (${code})`, true);
  if (code === 'ECONNRESET' || code === 'EPIPE') return new DeliveryError(`connection reset by the endpoint (${code})`, true);
  if (code === 'ETIMEDOUT' || code === 'ETIMEOUT') return new DeliveryError(`timed out (${code})`, true);
  if (/certificate|self[- ]signed/i.test(message)) return new DeliveryError(`bad certificate: ${message}${code ? ` (${code})` : ''}`, true);
  return new DeliveryError(code ? `${message} (${code})` : message, true);
}
