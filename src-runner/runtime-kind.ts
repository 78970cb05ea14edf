/**
 * Tells whether this runner is a single executable (Node SEA) or the JS-only artifact run by the server's Node.
 * It must never fail: node:sea does not exist before Node 20.12, and its absence simply means 'js'.
 */
import type { RunnerKind } from '../src-shared/protocol/runner-info';

export function runtimeKind(): RunnerKind {
  try {
    // A lazy require, not an import: on Node 18 the module does not exist and a static import would stop the runner.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sea = require('node:sea') as { isSea?: () => boolean };
    return typeof sea.isSea === 'function' && sea.isSea() ? 'sea' : 'js';
  } catch {
    return 'js';
  }
}
