// nginx test snippets made of authgate_* directives only, in Apache syntax (names from the
// core's directive table, as `authgatectl directives` prints it).
import { execFileSync } from 'node:child_process';
import { ctlPath } from './env.mjs';

let names;
function apacheNames() {
  if (!names) {
    names = new Map();
    const table = execFileSync(ctlPath, ['directives'], { encoding: 'utf8' });
    for (const m of table.matchAll(/^\| `(authgate[a-z_]*)` \| [^|]* \| `(AuthGate[A-Za-z]*)` \|/gm)) {
      names.set(m[1], m[2]);
    }
  }
  return names;
}

// The Apache form of `text` (statements "authgate_x args;"), or null when it holds anything
// else (blocks, other directives): such a test needs an explicit apache option.
export function apacheDirectives(text) {
  const out = [];
  for (const raw of text.split(';')) {
    const statement = raw.trim();
    if (statement === '') continue;
    // Quoted arguments stay quoted: Apache reads "a b" as one argument too.
    const [name, ...args] = statement.match(/"[^"]*"|'[^']*'|[^\s"']+/g);
    const apache = apacheNames().get(name);
    if (!apache || statement.includes('{') || statement.includes('}')) return null;
    out.push([apache, ...args].join(' '));
  }
  return out.join('\n');
}
