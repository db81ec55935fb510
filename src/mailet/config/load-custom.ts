import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { AnyMailet, AnyMatcher } from '../api';
import { GraphConfigError } from '../registry';

export interface CustomDefinitions {
  mailets: AnyMailet[];
  matchers: AnyMatcher[];
  /** Where each definition came from, for messages. */
  sources: Record<string, string>;
}

/**
 * Loads custom matchers and mailets: every `.js`/`.cjs` module of a directory (`.ts` too, where a
 * TypeScript loader is installed, as under jest), plus named packages or module paths. Every export that is a
 * `defineMailet`/`defineMatcher` result (or a list of them) is taken.
 */
export function loadCustomDefinitions(options: { directory?: string; packages?: string[] }): CustomDefinitions {
  const out: CustomDefinitions = { mailets: [], matchers: [], sources: {} };
  const modules: Array<{ id: string; label: string }> = [];
  if (options.directory) {
    const dir = path.resolve(options.directory);
    let entries: string[];
    try {
      if (!statSync(dir).isDirectory()) throw new Error('not a directory');
      entries = readdirSync(dir).sort();
    } catch (err) {
      throw new GraphConfigError(`mailetcontainer.customMailetsDirectory ${dir}: ${(err as Error).message}`);
    }
    for (const entry of entries) {
      if (entry.endsWith('.d.ts') || entry.includes('.test.')) continue;
      if (/\.(c?js|ts)$/.test(entry)) modules.push({ id: path.join(dir, entry), label: path.join(dir, entry) });
    }
  }
  for (const pkg of options.packages ?? []) modules.push({ id: pkg, label: `package ${pkg}` });
  for (const { id, label } of modules) {
    let exported: Record<string, unknown>;
    try {
      // Custom mailets are loaded at start-up by path or package name: a dynamic require by design.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      exported = require(id) as Record<string, unknown>;
    } catch (err) {
      throw new GraphConfigError(`Cannot load custom mailets from ${label}: ${(err as Error).message}`);
    }
    const candidates = Object.values(exported).flatMap((v) => (Array.isArray(v) ? v : [v]));
    for (const value of candidates) {
      if (!value || typeof value !== 'object' || typeof (value as { name?: unknown }).name !== 'string') continue;
      const def = value as { name: string; service?: unknown; match?: unknown };
      if (typeof def.service === 'function') {
        if (!out.mailets.includes(value as AnyMailet)) out.mailets.push(value as AnyMailet);
        out.sources[`mailet ${def.name}`] = label;
      } else if (typeof def.match === 'function') {
        if (!out.matchers.includes(value as AnyMatcher)) out.matchers.push(value as AnyMatcher);
        out.sources[`matcher ${def.name}`] = label;
      }
    }
  }
  return out;
}
