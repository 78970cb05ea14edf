// The app:// protocol: serves the built renderer with the CSP, and nothing outside it.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { privilegedSchemes, protocolHandlers, resetFakeElectron } from './fake-electron';

vi.mock('electron', () => import('./fake-electron'));
const { CONTENT_SECURITY_POLICY, installAppProtocol, registerAppScheme, resolveAppAsset, serveAppRequest } = await import(
  '../../../src-main/electron/app-protocol'
);

// A real renderer folder, with a secret file beside it that no request may reach.
const base = mkdtempSync(path.join(tmpdir(), 'cronium-app-protocol-'));
const rendererDir = path.join(base, 'dist', 'renderer');
mkdirSync(path.join(rendererDir, 'assets'), { recursive: true });
writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>Cronium</title>');
writeFileSync(path.join(rendererDir, 'assets', 'app.js'), 'console.log("hi")');
writeFileSync(path.join(base, 'secret.txt'), 'TOP SECRET');
writeFileSync(path.join(base, 'dist', 'renderer-evil.txt'), 'sibling folder with a shared prefix');
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('the app:// protocol', () => {
  beforeEach(() => resetFakeElectron());

  it('registers app as a standard, secure scheme that supports fetch', () => {
    registerAppScheme();
    expect(privilegedSchemes).toEqual([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
  });

  describe('when the window loads the app', () => {
    it('gets index.html with the content security policy', async () => {
      installAppProtocol(rendererDir);
      const handler = protocolHandlers.get('app');
      expect(handler).toBeDefined();
      const res = await handler!(new Request('app://cronium/index.html'));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(await res.text()).toContain('<title>Cronium</title>');
    });

    it('gets scripts with their type, and index.html for the root and client-side routes', async () => {
      const js = await serveAppRequest(rendererDir, { url: 'app://cronium/assets/app.js' });
      expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(resolveAppAsset(rendererDir, 'app://cronium/')).toEqual({ ok: true, filePath: path.join(rendererDir, 'index.html') });
      expect(resolveAppAsset(rendererDir, 'app://cronium/logs/123')).toEqual({ ok: true, filePath: path.join(rendererDir, 'index.html') });
    });

    it('answers 404 for a missing asset, with the policy still attached', async () => {
      const res = await serveAppRequest(rendererDir, { url: 'app://cronium/assets/missing.js' });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    });

    it('refuses anything but GET and HEAD', async () => {
      expect((await serveAppRequest(rendererDir, { url: 'app://cronium/index.html', method: 'POST' })).status).toBe(405);
    });
  });

  describe('when a request tries to leave the renderer folder', () => {
    it.each([
      'app://cronium/%2e%2e/%2e%2e/secret.txt',
      'app://cronium/..%2f..%2fsecret.txt',
      'app://cronium/assets/%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.txt',
      'app://cronium/%5c..%5c..%5csecret.txt',
      'app://cronium/..%5c..%5csecret.txt',
      'app://cronium/index.html%00.png',
      'app://cronium/%2e%2e/renderer-evil.txt',
      'app://cronium/%252e%252e/%252e%252e/secret.txt',
      'app://cronium/%E0%A4%A',
      'app://evil/index.html',
      'app://cronium.evil.example/index.html',
      'file:///etc/passwd',
      'not a url',
    ])('refuses %s', async (url) => {
      const resolved = resolveAppAsset(rendererDir, url);
      if (resolved.ok) {
        // Double-encoded dots decode once to a literal "%2e%2e" folder name: harmless, but must stay inside.
        expect(resolved.filePath.startsWith(rendererDir + path.sep)).toBe(true);
      }
      const res = await serveAppRequest(rendererDir, { url });
      expect(res.status).not.toBe(200);
      expect(await res.text()).not.toContain('TOP SECRET');
    });

    it('never resolves outside the folder, even for plain ".." the URL parser would fold', () => {
      for (const url of ['app://cronium/../../secret.txt', 'app://cronium/assets/../../secret.txt', 'app://cronium/./../secret.txt']) {
        const resolved = resolveAppAsset(rendererDir, url);
        if (resolved.ok) expect(resolved.filePath.startsWith(rendererDir + path.sep)).toBe(true);
      }
    });
  });

  describe('the content security policy', () => {
    it('allows only the app itself, inline styles for the editors, and no objects, bases or framing', () => {
      const directives = Object.fromEntries(
        CONTENT_SECURITY_POLICY.split(';').map((d) => {
          const [name, ...values] = d.trim().split(/\s+/);
          return [name, values.join(' ')];
        }),
      );
      expect(directives).toMatchObject({
        'default-src': "'self'",
        'script-src': "'self'",
        'style-src': "'self' 'unsafe-inline'",
        'img-src': "'self' data:",
        'connect-src': "'self'",
        'object-src': "'none'",
        'base-uri': "'none'",
        'frame-ancestors': "'none'",
      });
      expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-eval|\*|https?:/);
    });
  });
});
