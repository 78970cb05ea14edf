/**
 * The app:// protocol: serves the built renderer (dist/renderer) to the window from app://cronium/, with the
 * Content-Security-Policy attached to every response. It owns the scheme's privileges and the request -> file
 * mapping; it must never serve a file outside the renderer folder (traversal, encoded separators, NUL bytes).
 */
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { protocol } from 'electron';

export const APP_SCHEME = 'app';
export const APP_HOST = 'cronium';
/** The only origin whose frames may call the IPC contract (see ipc-transport.ts). */
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/**
 * The page's policy. 'unsafe-inline' for styles only: CodeMirror and React Flow set inline style attributes.
 * No remote origin anywhere: the UI talks to the main process over IPC, never over the network.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const MIME_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

export function mimeTypeFor(filePath: string): string {
  return MIME_TYPES[path.extname(filePath).toLowerCase()] ?? 'application/octet-stream';
}

export type AppAssetResolution = { ok: true; filePath: string } | { ok: false; status: 400 | 403 | 404; reason: string };

/**
 * Maps an app:// request URL to a file inside rendererDir, or says why it is refused. Pure (no file system access),
 * so every traversal trick is tested. Extension-less paths are client-side routes and get index.html.
 */
export function resolveAppAsset(rendererDir: string, requestUrl: string): AppAssetResolution {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return { ok: false, status: 400, reason: 'not a URL' };
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) {
    return { ok: false, status: 403, reason: `only ${APP_ORIGIN} is served` };
  }
  let pathname: string;
  try {
    pathname = decodeURIComponent(url.pathname);
  } catch {
    return { ok: false, status: 400, reason: 'malformed percent-encoding' };
  }
  // After decoding, a backslash or NUL can only come from an encoded trick (%5c, %00); a ".." segment from %2e%2e.
  if (pathname.includes('\0') || pathname.includes('\\')) return { ok: false, status: 403, reason: 'forbidden character in path' };
  const segments = pathname.split('/');
  if (segments.some((s) => s === '..' || s === '.')) return { ok: false, status: 403, reason: 'path traversal' };

  const root = path.resolve(rendererDir);
  let relative = segments.filter((s) => s !== '').join('/');
  if (relative === '' || path.posix.extname(relative) === '') relative = 'index.html';
  const filePath = path.resolve(root, relative);
  if (filePath !== root && !filePath.startsWith(root + path.sep)) return { ok: false, status: 403, reason: 'path traversal' };
  return { ok: true, filePath };
}

/** Must run before app 'ready': Chromium fixes scheme privileges at start-up. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  ]);
}

function textResponse(status: number, text: string): Response {
  return new Response(text, {
    status,
    headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Security-Policy': CONTENT_SECURITY_POLICY },
  });
}

/** Answers one app:// request from rendererDir (exported for tests; installAppProtocol wires it). */
export async function serveAppRequest(rendererDir: string, request: { url: string; method?: string }): Promise<Response> {
  if (request.method && request.method !== 'GET' && request.method !== 'HEAD') return textResponse(405, 'method not allowed');
  const resolved = resolveAppAsset(rendererDir, request.url);
  if (!resolved.ok) {
    console.warn(`[app-protocol] refused ${request.url}: ${resolved.reason}`);
    return textResponse(resolved.status, resolved.reason);
  }
  let body: Buffer;
  try {
    body = await readFile(resolved.filePath);
  } catch {
    return textResponse(404, 'not found');
  }
  return new Response(new Uint8Array(body), {
    status: 200,
    headers: {
      'Content-Type': mimeTypeFor(resolved.filePath),
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-cache',
    },
  });
}

/** Call once the app is ready. */
export function installAppProtocol(rendererDir: string): void {
  protocol.handle(APP_SCHEME, (request) => serveAppRequest(rendererDir, request));
}
