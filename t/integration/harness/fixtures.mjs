// Key and users files for a test prefix (hashes made once per process with authgatectl).
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ctlPath } from './env.mjs';

const hashes = new Map();
export function hashPassword(password) {
  if (!hashes.has(password)) {
    const out = execFileSync(ctlPath, ['hash-password'], { input: `${password}\n` });
    hashes.set(password, out.toString().trim());
  }
  return hashes.get(password);
}

export const users = {
  alice: { password: 'alice-pass-1', email: 'alice@example.com', name: 'Alice A', groups: ['admins', 'staff'] },
  bob: { password: 'bob-pass-1', email: 'bob@example.com', name: 'Bob B', groups: ['staff'] },
  carol: { password: 'carol-pass-1', email: 'carol@example.com', name: 'Carol C', groups: ['staff'], disabled: true },
};

export function writeKeyFile(file) {
  fs.writeFileSync(file, `k1 ${crypto.randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
}

// An entry with `roles` gets the optional seventh field (role names); others keep six.
export function writeUsersFile(file, list = users) {
  const lines = Object.entries(list).map(([u, d]) =>
    [u, hashPassword(d.password), d.email, d.name, d.groups.join(','), d.disabled ? 'disabled' : '',
      ...(d.roles ? [d.roles.join(',')] : [])].join(':'));
  fs.writeFileSync(file, `# test users\n${lines.join('\n')}\n`, { mode: 0o644 });
}

export function writeFixtures(dir) {
  writeKeyFile(path.join(dir, 'authgate.key'));
  writeUsersFile(path.join(dir, 'users'));
}
