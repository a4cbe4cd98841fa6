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
  for (const raw of text.replace(/#[^\n]*/g, '').split(';')) {
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

// nginx `location PATH { ... }` blocks whose statements are authgate_* directives, a plain
// proxy_pass to the echo backend, and add_header lines the Apache harness sets anyway, as
// <Location> sections (each starts with AuthGate Off: nginx locations do not inherit from
// "location /" as Apache sections do); null for anything else.
export function apacheLocations(text, backend) {
  const out = [];
  const blocks = text.replace(/#[^\n]*/g, '').matchAll(/location\s+(\S+)\s*\{([^{}]*)\}/g);
  let consumed = text.replace(/#[^\n]*/g, '');
  for (const [whole, where, body] of blocks) {
    consumed = consumed.replace(whole, '');
    if (!where.startsWith('/')) return null;
    const lines = /(^|;)\s*authgate\s+(on|off)\s*(;|$)/.test(body) ? [] : ['AuthGate Off'];
    for (const raw of body.split(';')) {
      const statement = raw.trim();
      if (statement === '') continue;
      if (statement === `proxy_pass http://127.0.0.1:${backend}`) continue;
      if (/^add_header X-(Status|Worker) \$(authgate_status|pid) always$/.test(statement)) continue;
      const translated = apacheDirectives(`${statement};`);
      if (translated === null) return null;
      lines.push(translated);
    }
    out.push(`    <Location ${where}>\n${lines.map((l) => `        ${l}`).join('\n')}\n    </Location>`);
  }
  return consumed.trim() === '' ? out.join('\n') : null;
}
