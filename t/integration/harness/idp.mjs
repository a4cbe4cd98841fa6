// A real OpenID Provider (npm oidc-provider) in its own process on a free loopback port, with
// test controls (account, injected errors, key rotation, sessions, faults) and token forging.
import { fork } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as jose from 'jose';
import { freePort } from './ports.mjs';

const serverScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'idp_server.mjs');
const generateKeyPair = promisify(crypto.generateKeyPair);

// Test accounts at the IdP. `sub` differs from the user name on purpose, so claim mapping
// (sub vs preferred_username) is visible in tests. dave's email is not verified.
export const idpAccounts = {
  alice: { sub: 'sub-alice', password: 'alice-idp-pass', email: 'alice@example.com', email_verified: true, name: 'Alice A', groups: ['admins', 'staff'] },
  bob: { sub: 'sub-bob', password: 'bob-idp-pass', email: 'bob@example.com', email_verified: true, name: 'Bob B', groups: ['staff'] },
  carol: { sub: 'sub-carol', password: 'carol-idp-pass', email: 'carol@example.com', email_verified: true, name: 'Carol C', groups: [] },
  dave: { sub: 'sub-dave', password: 'dave-idp-pass', email: 'dave@example.com', email_verified: false, name: 'Dave D', groups: ['staff'] },
};

// The resource (API audience) whose access tokens are JWTs, for bearer-token tests.
export const testApi = 'https://api.authgate.test';

// Lifetimes in seconds; tests shorten what they need (e.g. { IdToken: 2 }).
export const defaultTtl = {
  AccessToken: 300, ClientCredentials: 300, IdToken: 300, RefreshToken: 3600, AuthorizationCode: 60,
  Interaction: 600, Session: 3600, Grant: 3600,
};

// A confidential web client with the authorization-code and refresh-token grants.
export function idpClient(overrides = {}) {
  return {
    client_id: 'authgate', client_secret: 'authgate-client-secret-0123456789abcdef',
    grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [], ...overrides,
  };
}

async function signingKeys() {
  const keys = [];
  for (const [type, opts] of [['rsa', { modulusLength: 2048 }], ['ec', { namedCurve: 'P-256' }]]) {
    const { privateKey } = await generateKeyPair(type, opts);
    const jwk = privateKey.export({ format: 'jwk' });
    keys.push({ ...jwk, kid: await jose.calculateJwkThumbprint(jwk), use: 'sig' });
  }
  return keys;
}

const publicJwk = ({ d, p, q, dp, dq, qi, ...pub }) => pub;
const algKty = (alg) => (alg.startsWith('ES') ? 'EC' : 'RSA');
const b64 = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');

export class Idp {
  constructor(options) {
    this.options = options;
  }

  // Starts (or restarts, on the same port with the same keys and clients) the IdP process.
  async start() {
    const o = this.options;
    this.port = this.port ?? o.port ?? await freePort();
    this.issuer = `http://127.0.0.1:${this.port}`;
    this.keys = this.keys ?? await signingKeys();
    this.retiredKeys = this.retiredKeys ?? [];
    this.cookieKeys = this.cookieKeys ?? [crypto.randomBytes(32).toString('base64url')];
    this.clients = this.clients ?? (o.clients ?? [idpClient()]).map((c) => idpClient(c));
    this.stderr = '';
    this.pending = new Map();
    this.nextId = 1;
    this.proc = fork(serverScript, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (d) => { this.stderr = (this.stderr + d).slice(-20000); });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
    this.exited.then(() => {
      for (const { reject } of this.pending.values()) reject(new Error(`IdP exited\n${this.stderr}`));
      this.pending.clear();
    });
    const ready = new Promise((resolve, reject) => {
      this.proc.on('message', (m) => {
        if ('ready' in m) return m.ready ? resolve() : reject(new Error(`IdP did not start: ${m.error}`));
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.ok) p.resolve(m.value);
        else p.reject(new Error(`IdP control ${p.op}: ${m.error}`));
      });
      this.exited.then(({ code, signal }) => reject(new Error(`IdP exited (${code ?? signal}) before listening\n${this.stderr}`)));
    });
    this.proc.send({
      op: 'init',
      args: {
        issuer: this.issuer, port: this.port, keys: this.keys, cookieKeys: this.cookieKeys,
        clients: this.clients, accounts: Object.fromEntries(Object.entries(o.accounts ?? idpAccounts)
          .map(([name, a]) => [name, { preferred_username: name, ...a }])),
        account: o.account ?? 'alice', interaction: o.interaction ?? 'auto',
        ttl: { ...defaultTtl, ...o.ttl },
        resources: o.resources ?? { [testApi]: { scope: 'api:read api:write' } },
        claimsInIdToken: o.claimsInIdToken ?? true,
        pkceRequired: o.pkceRequired ?? true,
        rotateRefreshTokens: o.rotateRefreshTokens ?? true,
        refreshWithoutOfflineAccess: o.refreshWithoutOfflineAccess ?? true,
        strictClientAuth: o.strictClientAuth ?? true,
      },
    });
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10000);
    try {
      await ready;
    } catch (e) {
      await this.stop();
      throw e;
    } finally {
      clearTimeout(timer);
    }
    return this;
  }

  // Kills only this IdP's process and waits for it to exit (a paused one is resumed first).
  async stop() {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode) return;
    this.proc.kill('SIGCONT');
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  // The IdP stops answering (connections are accepted by the kernel but never served).
  pause() { this.proc.kill('SIGSTOP'); }
  resume() { this.proc.kill('SIGCONT'); }

  control(op, args = {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, op });
      this.proc.send({ id, op, args });
    });
  }

  url(pathname) { return `${this.issuer}${pathname}`; }

  async discovery() {
    const res = await fetch(this.url('/.well-known/openid-configuration'));
    if (res.status !== 200) throw new Error(`discovery: ${res.status}`);
    return res.json();
  }

  client(clientId) {
    const c = this.clients.find((x) => x.client_id === clientId);
    if (!c) throw new Error(`no client ${clientId} at ${this.issuer}`);
    return c;
  }

  async addClient(client) {
    const c = idpClient(client);
    this.clients.push(c);
    await this.control('addClient', { client: c });
    return c;
  }

  // Test account used by auto-login from now on (sticky).
  loginAs(account) { return this.control('loginAs', { account }); }
  // 'auto' (default: no page, the chosen account signs in) or 'form' (a real login form).
  setInteraction(mode) { return this.control('setInteraction', { mode }); }
  // The next authorization request ends with this OAuth error at the client's redirect_uri,
  // even for a user already signed in at the IdP.
  failNextAuthorization(error = 'access_denied', error_description = 'the test denied this authorization') {
    return this.control('failNextAuthorization', { error, error_description });
  }

  // New signing keys (RSA and EC) are published and used from now on. `keepOld: false`
  // removes the previous keys from the JWKS too. Returns the current and removed kids.
  async rotateKeys({ keepOld = true } = {}) {
    const fresh = await signingKeys();
    const removed = keepOld ? [] : this.keys;
    this.retiredKeys.push(...removed);
    this.keys = keepOld ? [...fresh, ...this.keys] : fresh;
    await this.control('setKeys', { keys: this.keys });
    return { kids: this.keys.map((k) => k.kid), removed: removed.map((k) => k.kid), current: fresh.map((k) => k.kid) };
  }

  // The private JWK the IdP signs `alg` with now.
  signingKey(alg = 'RS256') { return this.keys.find((k) => k.kty === algKty(alg)); }
  publicJwks() { return { keys: this.keys.map(publicJwk) }; }

  // Fault injection: requests to `path` ("/jwks", "/token", or a prefix ending in "*") get
  // { status, body, contentType } and/or wait delayMs, or `drop` the connection; `times`
  // limits how often. Returns after the fault is installed.
  addFault(fault) { return this.control('addFault', fault); }
  clearFaults() { return this.control('clearFaults'); }

  // Live sessions: [{ id, sub, clients: { client_id: { sid, grantId } } }].
  sessions() { return this.control('sessions'); }
  // Ends sessions (all, or by sub / id) as an IdP admin would: a logout_token is posted to
  // every signed-in client with a backchannel_logout_uri. Returns the deliveries.
  endSessions(filter = {}) { return this.control('endSessions', filter); }
  // What happened at the IdP: token requests ({ type: 'token', client_id, grant_type, auth,
  // status }), back-channel deliveries, failed logins, injected failures, faults, errors.
  events({ clear = false } = {}) { return this.control('events', { clear }); }

  // ---- forging (in the test process, with the keys the harness generated)

  // Standard ID token claims for `account` and `client`, valid now; `extra` overrides.
  idTokenClaims({ client = this.clients[0].client_id, account = 'alice', nonce, ttl = 300, ...extra } = {}) {
    const a = (this.options.accounts ?? idpAccounts)[account];
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: this.issuer, aud: client, sub: a.sub, iat: now, exp: now + ttl, auth_time: now,
      ...(nonce !== undefined ? { nonce } : {}),
      email: a.email, email_verified: a.email_verified, name: a.name, preferred_username: account, groups: a.groups,
      ...extra,
    };
  }

  // Signed with the IdP's current key for `alg` (kid header = that key's unless given;
  // `kid: null` leaves it out). Verifies against the IdP's JWKS.
  async sign(claims, { alg = 'RS256', kid, typ = 'JWT', header = {} } = {}) {
    const jwk = this.signingKey(alg);
    const h = { alg, typ, ...(kid === null ? {} : { kid: kid ?? jwk.kid }), ...header };
    return new jose.SignJWT(claims).setProtectedHeader(h).sign(await jose.importJWK(jwk, alg));
  }

  // Signed with a key the IdP never published; kid is a fresh one unless given (pass the
  // IdP's kid to test a key mismatch under a known kid).
  async signWithUnknownKey(claims, { alg = 'RS256', kid, typ = 'JWT' } = {}) {
    const [key] = await signingKeys().then((ks) => ks.filter((k) => k.kty === algKty(alg)));
    const h = { alg, typ, kid: kid ?? key.kid };
    return new jose.SignJWT(claims).setProtectedHeader(h).sign(await jose.importJWK(key, alg));
  }

  // alg "none": header.payload. with an empty signature.
  unsigned(claims, { kid } = {}) {
    return `${b64({ alg: 'none', typ: 'JWT', ...(kid ? { kid } : {}) })}.${b64(claims)}.`;
  }

  // The key-confusion attack: HS256 with the IdP's RSA public key as the HMAC secret, in the
  // form a confused verifier would use: 'pem' (SPKI PEM text), 'der' (SPKI DER) or 'jwk' (its JSON).
  async hs256WithPublicKey(claims, { secret = 'pem', kid } = {}) {
    const jwk = publicJwk(this.signingKey('RS256'));
    const pub = crypto.createPublicKey({ key: jwk, format: 'jwk' });
    const bytes = {
      pem: () => Buffer.from(pub.export({ type: 'spki', format: 'pem' })),
      der: () => pub.export({ type: 'spki', format: 'der' }),
      jwk: () => Buffer.from(JSON.stringify(jwk)),
    }[secret]();
    const h = { alg: 'HS256', typ: 'JWT', kid: kid ?? jwk.kid };
    return new jose.SignJWT(claims).setProtectedHeader(h).sign(new Uint8Array(bytes));
  }
}

// Starts an IdP; options: clients (idpClient() overrides each), accounts, account (auto-login
// account, default alice), interaction ('auto' | 'form'), ttl (seconds, see defaultTtl),
// resources ({ indicator: { scope, audience?, accessTokenTTL?, alg? } }), claimsInIdToken
// (default true), pkceRequired (default true), rotateRefreshTokens (default true),
// refreshWithoutOfflineAccess (default true: refresh_token grant clients always get one),
// strictClientAuth (default true: the token endpoint wants the registered auth method).
export function startIdp(options = {}) {
  return new Idp(options).start();
}
