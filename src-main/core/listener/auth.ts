/**
 * ListenerAuth: the bearer tokens of the local listener. HS256 JWTs (jose) signed with HELPER_JWT_SECRET from the
 * environment (at least 32 bytes, or start-up stops), or else the app secret kept in the keychain. `runner` tokens
 * name one job and its server and are accepted only while that job is live in this app (openJob ... close), never
 * after it ends; `automation` tokens are for scripts on this workstation. Every token must carry iss, aud, sub, iat
 * and exp (runner tokens also job and server) and be younger than MAX_TOKEN_AGE_SECONDS. It is the one place tokens
 * are minted and checked; it never logs a token or the secret.
 */
import type http from 'node:http';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { systemClock, type Clock } from '../clock';
import { AppError } from '../errors';
import type { SecretStore } from '../secrets/secret-store';
import { HELPER_JWT_SECRET_REF, getOrCreateAppSecret } from '../secrets/secret-refs';
import type { SettingsService } from '../settings/settings-service';

export type TokenAudience = 'runner' | 'automation';
const ISSUER = 'cronium-desktop';
/** The shortest HELPER_JWT_SECRET accepted (HS256 wants a key at least as long as its 32-byte hash). */
export const MIN_JWT_SECRET_BYTES = 32;
/** No token is accepted once this old (from its iat), whatever its exp says; and none is minted to live longer. */
export const MAX_TOKEN_AGE_SECONDS = 3600;

export interface TokenClaims {
  aud: TokenAudience;
  /** Who the token is for: a job id for runner tokens, a label for automation tokens. */
  sub: string;
  /** Runner tokens: the job (claim `job`, equal to sub) and its server (claim `server`). */
  jobId?: string;
  serverId?: string;
}

export interface VerifiedToken extends TokenClaims {
  exp: number;
  iat: number;
}

export interface ListenerAuthDeps {
  settings: Pick<SettingsService, 'helperJwtSecretFromEnv'>;
  secrets: SecretStore;
  /** Issue and expiry times are minted and checked on this clock (default: the system clock). */
  clock?: Clock;
}

export class ListenerAuth {
  private key: Promise<Uint8Array> | undefined;
  /** Jobs whose runner tokens are accepted now: job id -> server id (and how many sessions hold it open). */
  private readonly liveJobs = new Map<string, { serverId: string; holders: number }>();

  private readonly clock: Clock;

  constructor(private readonly deps: ListenerAuthDeps) {
    this.clock = deps.clock ?? systemClock;
  }

  /**
   * Stops start-up when HELPER_JWT_SECRET is set but too short (HELPER_JWT_SECRET_TOO_SHORT); core start calls it
   * before the listener opens. Unset, the keychain's generated secret is used.
   */
  assertConfigured(): void {
    const fromEnv = this.deps.settings.helperJwtSecretFromEnv();
    if (fromEnv !== undefined && Buffer.byteLength(fromEnv, 'utf8') < MIN_JWT_SECRET_BYTES) {
      throw new AppError(
        'HELPER_JWT_SECRET_TOO_SHORT',
        `HELPER_JWT_SECRET is ${Buffer.byteLength(fromEnv, 'utf8')} bytes long; it must be at least ${MIN_JWT_SECRET_BYTES} bytes ` +
          '(for example the output of `openssl rand -base64 48`), or unset so that Cronium uses its own secret from the keychain.',
      );
    }
  }

  /**
   * Runner tokens of `jobId` are accepted, for `serverId` only, until the returned function is called (the job's
   * session ends). Tokens minted before or after stay refused outside that window.
   */
  openJob(jobId: string, serverId: string): () => void {
    const entry = this.liveJobs.get(jobId);
    if (entry && entry.serverId !== serverId) throw new AppError('JOB_STATE_INVALID', `job ${jobId} is already open for another server`);
    this.liveJobs.set(jobId, { serverId, holders: (entry?.holders ?? 0) + 1 });
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      const e = this.liveJobs.get(jobId);
      if (!e) return;
      if (--e.holders <= 0) this.liveJobs.delete(jobId);
    };
  }

  /** A token valid for ttlSeconds (at most MAX_TOKEN_AGE_SECONDS). Runner tokens must name their job and server. */
  async mintToken(claims: TokenClaims, ttlSeconds: number): Promise<string> {
    const { aud, sub, jobId, serverId } = claims;
    if (aud === 'runner' && (!jobId || !serverId || jobId !== sub)) {
      throw new AppError('INVALID_INPUT', 'A runner token names its job (as subject and job) and its server.');
    }
    const now = Math.floor(this.clock.now() / 1000);
    const ttl = Math.min(MAX_TOKEN_AGE_SECONDS, Math.max(1, Math.floor(ttlSeconds)));
    return new SignJWT({ ...(jobId ? { job: jobId } : {}), ...(serverId ? { server: serverId } : {}) })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setAudience(aud)
      .setSubject(sub)
      .setIssuedAt(now)
      .setExpirationTime(now + ttl)
      .sign(await this.secret());
  }

  /**
   * The token's claims if it is ours, carries every required claim, is unexpired, younger than the maximum age and
   * meant for one of `audiences`; a runner token also only while its job is live here, for the server it names.
   * UNAUTHORIZED otherwise.
   */
  async verifyToken(token: string, audiences: TokenAudience | TokenAudience[]): Promise<VerifiedToken> {
    const allowed = Array.isArray(audiences) ? audiences : [audiences];
    let verified: VerifiedToken;
    try {
      const { payload } = await jwtVerify(token, await this.secret(), {
        issuer: ISSUER,
        audience: allowed,
        algorithms: ['HS256'],
        requiredClaims: ['iss', 'aud', 'sub', 'iat', 'exp'],
        maxTokenAge: MAX_TOKEN_AGE_SECONDS,
        currentDate: new Date(this.clock.now()),
      });
      const aud = (Array.isArray(payload.aud) ? payload.aud.find((a) => allowed.includes(a as TokenAudience)) : payload.aud) as TokenAudience;
      verified = {
        aud,
        sub: String(payload.sub),
        exp: Number(payload.exp),
        iat: Number(payload.iat),
        ...(typeof payload.job === 'string' ? { jobId: payload.job } : {}),
        ...(typeof payload.server === 'string' ? { serverId: payload.server } : {}),
      };
    } catch (err) {
      const why =
        err instanceof joseErrors.JWTExpired
          ? 'the token has expired'
          : err instanceof joseErrors.JWTClaimValidationFailed
            ? err.claim === 'aud'
              ? `the token is not meant for ${allowed.join(' or ')}`
              : err.claim === 'iat'
                ? `the token is older than ${MAX_TOKEN_AGE_SECONDS} s`
                : `the token's ${err.claim} claim is missing or wrong`
            : 'the token is not valid';
      throw refused(why);
    }
    if (verified.exp - verified.iat > MAX_TOKEN_AGE_SECONDS) throw refused(`the token lives longer than ${MAX_TOKEN_AGE_SECONDS} s`);
    if (verified.aud === 'runner') {
      if (!verified.jobId || !verified.serverId || verified.jobId !== verified.sub) throw refused("the token's job or server claim is missing or wrong");
      const live = this.liveJobs.get(verified.jobId);
      if (!live) throw refused('its job is not running in this app (it ended, or never started here)');
      if (live.serverId !== verified.serverId) throw refused('the token names another server than its job runs on');
    }
    return verified;
  }

  /** For LocalListener routes: requires a bearer token for one of `audiences`. */
  bearer(audiences: TokenAudience | TokenAudience[]): (headers: http.IncomingHttpHeaders) => Promise<void> {
    return async (headers) => {
      await this.verifyToken(bearerToken(headers), audiences);
    };
  }

  private secret(): Promise<Uint8Array> {
    this.key ??= (async () => {
      this.assertConfigured();
      const fromEnv = this.deps.settings.helperJwtSecretFromEnv();
      const text = fromEnv ?? (await getOrCreateAppSecret(this.deps.secrets, HELPER_JWT_SECRET_REF));
      return new TextEncoder().encode(text);
    })();
    // A keychain failure is not cached: the next request tries again.
    this.key.catch(() => {
      this.key = undefined;
    });
    return this.key;
  }
}

function refused(why: string): AppError {
  return new AppError('UNAUTHORIZED', `Refused: ${why}. Send "Authorization: Bearer <token>" with a current token.`);
}

export function bearerToken(headers: http.IncomingHttpHeaders): string {
  const header = headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) throw new AppError('UNAUTHORIZED', 'This route needs "Authorization: Bearer <token>" (a runner or automation token from Cronium).');
  return m[1];
}
