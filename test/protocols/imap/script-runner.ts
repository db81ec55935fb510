import { readFileSync } from 'node:fs';
import { RawClient } from './doubles';

/**
 * Protocol conversation scripts (James' `C:`/`S:` files), our own format:
 *
 * - `C: text` is sent as one line (CRLF appended); `C:` alone sends an empty line; `\xHH` in it
 *   is the byte HH (garbage input, UTF-8 names). `\xHH` in `S:` lines is a byte too.
 * - `S: text` must be the next line the server sends. In `S:` lines `{*}` matches any run of
 *   characters (variable parts: UIDVALIDITY, sizes, dates) and `${NAME}` is replaced by a
 *   variable of the run (`${USER}`, `${PASSWORD}`, `${UIDVALIDITY}`…). `{=NAME}` captures one
 *   token (no space, parenthesis or bracket) into the variable NAME for later lines (server-chosen
 *   ids such as MAILBOXID or EMAILID).
 * - `S? text` is an optional server line: matched if it is next, skipped otherwise.
 * - `!name args` runs a hook of the fixture (deliver a message, change flags from elsewhere).
 * - `#` starts a comment line; blank lines are ignored.
 * - `!closed` expects the server to close the connection.
 */
export type ScriptStep =
  | { kind: 'send'; text: string; line: number }
  | { kind: 'expect'; text: string; optional: boolean; line: number }
  | { kind: 'hook'; name: string; args: string[]; line: number };

export function parseScript(text: string): ScriptStep[] {
  const steps: ScriptStep[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    const number = index + 1;
    if (line.trim() === '' || line.startsWith('#')) return;
    if (line === 'C:' || line.startsWith('C: ')) steps.push({ kind: 'send', text: line.slice(3), line: number });
    else if (line.startsWith('S: ') || line.startsWith('S? ')) steps.push({ kind: 'expect', text: line.slice(3), optional: line[1] === '?', line: number });
    else if (line.startsWith('!')) {
      const [name, ...args] = line.slice(1).split(' ');
      steps.push({ kind: 'hook', name, args, line: number });
    } else throw new Error(`script line ${number}: unknown step ${JSON.stringify(line)}`);
  });
  return steps;
}

function substitute(text: string, variables: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}/g, (whole, name: string) => {
    if (!(name in variables)) throw new Error(`unknown script variable ${whole}`);
    return variables[name];
  });
}

/** `S:` text (after substitution) as an anchored regular expression. */
export function expectationPattern(text: string): RegExp {
  const source = text
    .split(/(\{\*\}|\{=\w+\})/)
    .map((part) => {
      if (part === '{*}') return '.*';
      const capture = /^\{=(\w+)\}$/.exec(part);
      if (capture) return `(?<${capture[1]}>[^\\s()[\\]]+)`;
      return part.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${source}$`, 's');
}

export type ScriptHooks = Record<string, (args: string[]) => Promise<void>>;

/** Runs a script file against a server; throws with the script line number on the first mismatch. */
export async function runScript(file: string, port: number, variables: Record<string, string>, hooks: ScriptHooks = {}): Promise<void> {
  const steps = parseScript(readFileSync(file, 'utf8'));
  variables = { ...variables };
  const { client, greeting } = await RawClient.connect(port);
  let pending: string | null = greeting;
  const nextLine = async (): Promise<string> => {
    if (pending !== null) {
      const line = pending;
      pending = null;
      return line;
    }
    return withTimeout(client.readLine(), 10_000);
  };
  try {
    for (const step of steps) {
      const where = `${file.split('/').pop()}:${step.line}`;
      if (step.kind === 'send') {
        const text = substitute(step.text, variables).replace(/\\x([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
        client.write(Buffer.from(`${text}\r\n`, 'latin1'));
      } else if (step.kind === 'hook') {
        if (step.name === 'closed') {
          await withTimeout(client.waitClosed(), 10_000);
          continue;
        }
        const hook = hooks[step.name];
        if (!hook) throw new Error(`${where}: unknown hook !${step.name}`);
        await hook(step.args.map((arg) => substitute(arg, variables)));
      } else {
        // The server's lines are read as latin1 (one char per byte): `\xHH` stands for byte HH (UTF-8 names).
        const expected = substitute(step.text, variables).replace(/\\x([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
        let actual: string;
        try {
          actual = await nextLine();
        } catch (err) {
          throw new Error(`${where}: expected ${JSON.stringify(expected)} but ${(err as Error).message}`);
        }
        const match = expectationPattern(expected).exec(actual);
        if (match) {
          Object.assign(variables, match.groups ?? {});
          continue;
        }
        if (step.optional) {
          pending = actual;
          continue;
        }
        throw new Error(`${where}: expected ${JSON.stringify(expected)}\n  received ${JSON.stringify(actual)}`);
      }
    }
  } finally {
    client.close();
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no server line within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
