import { readFileSync } from 'node:fs';

/**
 * The version in package.json. This module runs from dist/src/cli (tsc) or
 * dist/bin (the bundle), so the nearest package.json named peerkit above it
 * is the one.
 */
export const VERSION: string = (() => {
  for (const up of ['../../', '../../../']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(`${up}package.json`, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'peerkit' && pkg.version !== undefined) return pkg.version;
    } catch {
      // not there; look one level up
    }
  }
  return '0.0.0';
})();
