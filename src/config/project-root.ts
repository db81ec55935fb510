import { existsSync } from 'node:fs';
import path from 'node:path';

/** The folder holding Postflow's package.json, found from this file (works from src/ and dist/). */
export function projectRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'workflows'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}
