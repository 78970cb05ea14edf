/**
 * ListenerAuth: the bearer tokens of the local listener. HS256 JWTs (jose) signed with HELPER_JWT_SECRET from the
 * environment, or else the app secret kept in the keychain; `runner` tokens name one job, `automation` tokens are for
 * scripts on this workstation. It is the one place tokens are minted and checked; it never logs a token or the secret.
 */
import type http from 'node:http';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { AppError } from '../errors';
import type { SecretStore } from '../secrets/secret-store';
import { HELPER_JWT_SECRET_REF, getOrCreateAppSecret } from '../secrets/secret-refs';
import type { SettingsService } from '../settings/settings-service';

export type TokenAudience = 'runner' | 'automation';
const ISSUER = 'cronium-desktop';

export interface TokenClaims {
  aud: TokenAudience;
  /** Who the token is for: a job id for runner tokens, a label for automation tokens. */
  sub: string;
  jobId?: string;
  serverId?: string;
}

export interface VerifiedToken extends TokenClaims {
  exp: number;
}

export interface ListenerAuthDeps {
  settings: Pick<SettingsService, 'helperJwtSecretFromEnv'>;
  secrets: SecretStore;
}

export class ListenerAuth {
  private key: Promise<Uint8Array> | undefined;

  constructor(private readonly deps: ListenerAuthDeps) {}

  /** A token valid for ttlSeconds. */
  async mintToken(claims: TokenClaims, ttlSeconds: number): Promise<string> {
    const { aud, sub, ...rest } = claims;
    return new SignJWT({ ...rest })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setAudience(aud)
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + Math.max(1, Math.floor(ttlSeconds)))
      .sign(await this.secret());
  }

  /** The token's claims if it is ours, unexpired and meant for one of `audiences`; UNAUTHORIZED otherwise. */
  async verifyToken(token: string, audiences: TokenAudience | TokenAudience[]): Promise<VerifiedToken> {
    const allowed = Array.isArray(audiences) ? audiences : [audiences];
    try {
      const { payload } = await jwtVerify(token, await this.secret(), { issuer: ISSUER, audience: allowed, algorithms: ['HS256'] });
      const aud = (Array.isArray(payload.aud) ? payload.aud.find((a) => allowed.includes(a as TokenAudience)) : payload.aud) as TokenAudience;
      return {
        aud,
        sub: String(payload.sub ?? ''),
        exp: Number(payload.exp),
        ...(typeof payload.jobId === 'string' ? { jobId: payload.jobId } : {}),
        ...(typeof payload.serverId === 'string' ? { serverId: payload.serverId } : {}),
      };
    } catch (err) {
      const why = err instanceof joseErrors.JWTExpired ? 'the token has expired' : err instanceof joseErrors.JWTClaimValidationFailed ? `the token is not meant for ${allowed.join(' or ')}` : 'the token is not valid';
      throw new AppError('UNAUTHORIZED', `Refused: ${why}. Send "Authorization: Bearer <token>" with a current token.`);
    }
  }

  /** For LocalListener routes: requires a bearer token for one of `audiences`. */
  bearer(audiences: TokenAudience | TokenAudience[]): (headers: http.IncomingHttpHeaders) => Promise<void> {
    return async (headers) => {
      await this.verifyToken(bearerToken(headers), audiences);
    };
  }

  private secret(): Promise<Uint8Array> {
    this.key ??= (async () => {
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

export function bearerToken(headers: http.IncomingHttpHeaders): string {
  const header = headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) throw new AppError('UNAUTHORIZED', 'This route needs "Authorization: Bearer <token>" (a runner or automation token from Cronium).');
  return m[1];
}
