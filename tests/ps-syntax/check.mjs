// Parses every .ps1/.psd1/.psm1 file of the repository with tree-sitter-powershell (its wasm build, so no native
// compiler and no network after `npm ci`) and fails on any syntax error, printing file:line:column.
// Usage: node tests/ps-syntax/check.mjs [repo root]   (exit 0 = all parse, 1 = errors, 2 = setup problem)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const root = process.argv[2] ?? join(here, '..', '..');
const require = createRequire(import.meta.url);

let Parser, Language;
try {
  ({ Parser, Language } = await import('web-tree-sitter'));
} catch {
  console.error(`ps-syntax: node_modules missing: run (cd ${relative(process.cwd(), here) || '.'} && npm ci --ignore-scripts)`);
  process.exit(2);
}
await Parser.init();
const language = await Language.load(require.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm'));
const parser = new Parser();
parser.setLanguage(language);

const skip = new Set(['.git', 'node_modules', 'bin', 'obj', 'out', 'artifacts', 'TestResults']);
function* scripts(dir) {
  for (const name of readdirSync(dir)) {
    if (skip.has(name)) continue;
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) yield* scripts(path);
    else if (/\.(ps1|psd1|psm1)$/i.test(name)) yield path;
  }
}

function* errors(node) {
  if (node.isError || node.isMissing) { yield node; return; }
  if (!node.hasError) return;
  for (const child of node.children) yield* errors(child);
}

let files = 0, bad = 0;
for (const file of scripts(root)) {
  files++;
  const text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  const tree = parser.parse(text);
  for (const node of errors(tree.rootNode)) {
    bad++;
    const p = node.startPosition;
    const what = node.isMissing ? `missing ${node.type}` : `unexpected '${text.slice(node.startIndex, Math.min(node.endIndex, node.startIndex + 40)).split('\n')[0]}'`;
    console.error(`${relative(root, file)}:${p.row + 1}:${p.column + 1}: syntax error: ${what}`);
  }
  tree.delete();
}
if (files === 0) { console.error('ps-syntax: no PowerShell files found under ' + root); process.exit(2); }
console.log(`ps-syntax: ${files} file(s) parsed, ${bad} error(s)`);
process.exit(bad === 0 ? 0 : 1);
