import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { bundleWorkflows } from '../../workers/mail-worker';

/**
 * The workflow bundle preloads Postflow's workflow modules and the SDK's workflow API: the worker's
 * V8 context evaluates them once and every workflow shares them (workers/mail-worker.ts). Sharing is
 * safe only while none of them keeps state in its module scope. The SDK freezes what a shared module
 * exports, so an assignment to an exported object throws; what freezing cannot catch is a `let` or
 * `var` binding, or a Map/Set (their entries are not frozen). These tests pin the preload list and
 * check every Postflow module of the bundle for those.
 */
const ROOT = path.resolve(__dirname, '../..');
let code: string;

beforeAll(async () => {
  code = (await bundleWorkflows()).code;
}, 120_000);

function postflowModules(): string[] {
  const ids = [...code.matchAll(/^\/\*\*\*\/ "\.\/((?:dist\/)?(?:workflows|src)\/[^"]+)"/gm)].map((m) => m[1]);
  return ids.map((id) => id.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
}

describe('workflow bundle preloading', () => {
  it('preloads the workflow modules and the SDK workflow API', () => {
    const body = (name: string): string => {
      const match = new RegExp(`exports\\.${name} = function ${name}\\(\\) \\{([^}]*)\\}`).exec(code);
      expect(match).not.toBeNull();
      return match![1];
    };
    const required = (text: string): string[] => [...text.matchAll(/__webpack_require__\([^)]*?"([^"]+)"\)/g)].map((m) => m[1]);
    const [workflowsModule] = required(body('importWorkflows'));
    expect(workflowsModule).toMatch(/workflows\/index\.[jt]s$/);
    expect(required(body('preloadModules'))).toEqual(['./node_modules/@temporalio/workflow/lib/index.js', workflowsModule]);
  });

  it('bundles only Postflow modules whose scope holds no mutable binding and no Map or Set', () => {
    const modules = postflowModules();
    expect(modules).toEqual(expect.arrayContaining(['workflows/index.ts', 'workflows/process-mail.ts', 'src/mailet/graph/walker.ts']));
    const findings: string[] = [];
    for (const file of modules) {
      const source = ts.createSourceFile(file, readFileSync(path.join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true);
      findings.push(...moduleScopeState(source).map((finding) => `${file}: ${finding}`));
    }
    expect(findings).toEqual([]);
  });

  it('reports module-scope state in a sample module (the check can fail)', () => {
    const sample = ts.createSourceFile(
      'sample.ts',
      ['let count = 0;', 'export var seen = [];', 'const cache = new Map<string, number>();', 'export const ok = { a: 1 };', 'function f() { let local = 1; return local; }'].join('\n'),
      ts.ScriptTarget.Latest,
      true,
    );
    expect(moduleScopeState(sample)).toEqual(['line 1: let count', 'line 2: var seen', 'line 3: new Map in cache']);
  });
});

/** Module-scope `let`/`var` bindings and Map/Set/WeakMap/WeakSet instances of a source file. */
function moduleScopeState(source: ts.SourceFile): string[] {
  const findings: string[] = [];
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    const flags = statement.declarationList.flags;
    const kind = flags & ts.NodeFlags.Let ? 'let' : flags & ts.NodeFlags.Const ? 'const' : 'var';
    for (const declaration of statement.declarationList.declarations) {
      const line = source.getLineAndCharacterOfPosition(declaration.getStart(source)).line + 1;
      const name = declaration.name.getText(source);
      if (kind !== 'const') findings.push(`line ${line}: ${kind} ${name}`);
      const init = declaration.initializer;
      if (init && ts.isNewExpression(init) && /^(Weak)?(Map|Set)$/.test(init.expression.getText(source))) {
        findings.push(`line ${line}: new ${init.expression.getText(source)} in ${name}`);
      }
    }
  }
  return findings;
}
