// Local OpenID provider for obsgate's local profile and end-to-end tests.
//
// Runs oidc-provider on 127.0.0.1:${PORT:-19070} with issuer http://127.0.0.1:${PORT}.
// Only the client_credentials grant is enabled; every access token is a JWT (typ at+jwt) for
// the resource indicator urn:obsgate (audience "obsgate"), valid 10 minutes, carrying the
// client's fixed custom claims (tenant, roles). See README.md for the client table.
//
// Environment:
//   PORT              listen port (default 19070); always bound to 127.0.0.1
//   ACCESS_TOKEN_ALG  JWS alg for access tokens: RS256 (default), ES256 or EdDSA
//   KEYS_FILE         JWKS file with private keys to start from (otherwise keys are generated)
//   TLS_PORT, TLS_CERT_FILE, TLS_KEY_FILE
//                     all three set: also serve HTTPS on 127.0.0.1:${TLS_PORT} with the given
//                     server certificate, asking for (not requiring) a client certificate, and
//                     enable RFC 8705 certificate-bound access tokens (see below). Unset: plain
//                     HTTP only, exactly as before.
//
// RFC 8705 (only with TLS_*): the client `bound-collector` is registered with
// tls_client_certificate_bound_access_tokens; it authenticates with its secret like the others,
// must call the token endpoint over the HTTPS listener with a client certificate, and gets a
// token whose cnf["x5t#S256"] is the SHA-256 thumbprint of that certificate. The certificate is
// only a binding (any certificate, not checked against a CA): the relying party (obsgate)
// decides whom it trusts. Discovery stays on the HTTP issuer and names the HTTPS token endpoint
// in mtls_endpoint_aliases.
//
// Key rotation (tests): SIGUSR2, or `POST /__test/rotate` (loopback only), generates a new key
// for ACCESS_TOKEN_ALG, puts it first (new tokens use it) and keeps the old keys published.
// `GET /__test/keys` returns {active_kid, kids} for tests.
//
// One JSON line is written to stdout per token issued. SIGTERM/SIGINT stop it cleanly (exit 0).

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';

import Provider, { errors } from 'oidc-provider';

const kHost = '127.0.0.1';
const kPort = Number.parseInt(process.env.PORT || '19070', 10);
const kIssuer = `http://${kHost}:${kPort}`;
const kResource = 'urn:obsgate';
const kAudience = 'obsgate';
const kTokenTtlSeconds = 600;
const kAlg = process.env.ACCESS_TOKEN_ALG || 'RS256';
const kTls = tlsSettings(process.env);

// client_id -> custom access-token claims. Secret is always `${client_id}-secret`.
const kClients = {
  'tenant-a-reader': { tenant: 'team-a', roles: ['metrics-reader', 'logs-reader'] },
  'tenant-b-reader': { tenant: 'team-b', roles: ['metrics-reader', 'logs-reader'] },
  auditor: { tenant: 'platform', roles: ['auditor', 'logs-reader'] },
  'metrics-collector': { roles: ['metrics-collector'] },
  'tenant-a-writer': { tenant: 'team-a', roles: ['metrics-writer', 'logs-writer'] },
};

// client_id -> claims of the clients registered only when the HTTPS listener is on; their access
// tokens are bound to the client certificate presented on the token request.
const kBoundClients = {
  'bound-collector': { roles: ['metrics-collector'] },
};

// TLS_PORT/TLS_CERT_FILE/TLS_KEY_FILE: all or none.
function tlsSettings(env) {
  const names = ['TLS_PORT', 'TLS_CERT_FILE', 'TLS_KEY_FILE'];
  const set = names.filter((n) => env[n]);
  if (set.length === 0) {
    return undefined;
  }
  if (set.length !== names.length) {
    throw new Error(`set all of ${names.join(', ')} or none (got ${set.join(', ')})`);
  }
  return {
    port: Number.parseInt(env.TLS_PORT, 10),
    cert: fs.readFileSync(env.TLS_CERT_FILE),
    key: fs.readFileSync(env.TLS_KEY_FILE),
  };
}

function claimsOf(clientId) {
  const claims = kClients[clientId] || (kTls && kBoundClients[clientId]);
  return claims ? structuredClone(claims) : undefined;
}

// The peer certificate of an HTTPS request, or undefined (plain HTTP, or none presented).
function peerCertificate(ctx) {
  const { socket } = ctx.req;
  if (typeof socket.getPeerCertificate !== 'function') {
    return undefined;
  }
  const peer = socket.getPeerCertificate();
  return peer && peer.raw ? new crypto.X509Certificate(peer.raw) : undefined;
}

function clientMetadata(clientId, bound) {
  return {
    client_id: clientId,
    client_secret: `${clientId}-secret`,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_basic',
    ...(bound ? { tls_client_certificate_bound_access_tokens: true } : {}),
  };
}

// Extra configuration when the HTTPS listener is on (RFC 8705 bound tokens).
function tlsConfiguration() {
  if (!kTls) {
    return { clients: [], features: {}, discovery: {} };
  }
  return {
    clients: Object.keys(kBoundClients).map((id) => clientMetadata(id, true)),
    features: {
      mTLS: {
        enabled: true,
        certificateBoundAccessTokens: true,
        getCertificate: peerCertificate,
      },
    },
    discovery: {
      mtls_endpoint_aliases: { token_endpoint: `https://${kHost}:${kTls.port}/token` },
    },
  };
}

function log(event, fields = {}) {
  process.stdout.write(`${JSON.stringify({ ts: new Date().toISOString(), event, ...fields })}\n`);
}

// RFC 7638 JWK thumbprint (SHA-256, base64url) used as kid.
function thumbprint(jwk) {
  const members = {
    RSA: ['e', 'kty', 'n'],
    EC: ['crv', 'kty', 'x', 'y'],
    OKP: ['crv', 'kty', 'x'],
  }[jwk.kty];
  const canonical = JSON.stringify(Object.fromEntries(members.map((m) => [m, jwk[m]])));
  return crypto.createHash('sha256').update(canonical).digest('base64url');
}

function generateKey(alg) {
  let pair;
  switch (alg) {
    case 'RS256':
      pair = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      break;
    case 'ES256':
      pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
      break;
    case 'EdDSA':
      pair = crypto.generateKeyPairSync('ed25519');
      break;
    default:
      throw new Error(`unsupported ACCESS_TOKEN_ALG ${alg} (RS256, ES256, EdDSA)`);
  }
  const jwk = pair.privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: thumbprint(jwk), alg, use: 'sig' };
}

function initialKeys() {
  if (process.env.KEYS_FILE) {
    const { keys } = JSON.parse(fs.readFileSync(process.env.KEYS_FILE, 'utf8'));
    if (!Array.isArray(keys) || keys.length === 0) {
      throw new Error(`KEYS_FILE ${process.env.KEYS_FILE} has no keys`);
    }
    return keys.map((k) => ({ use: 'sig', ...k, kid: k.kid || thumbprint(k) }));
  }
  // The signing key for kAlg first, then the others (all published; ES256/RS256 always present).
  const algs = [kAlg, ...['RS256', 'ES256'].filter((a) => a !== kAlg)];
  return algs.map(generateKey);
}

function activeKid(keys) {
  const key = keys.find((k) => k.alg === kAlg || (!k.alg && kAlg === 'RS256' && k.kty === 'RSA'));
  return key ? key.kid : undefined;
}

function makeProvider(keys) {
  const tls = tlsConfiguration();
  const provider = new Provider(kIssuer, {
    clients: [
      ...Object.keys(kClients).map((clientId) => clientMetadata(clientId, false)),
      ...tls.clients,
    ],
    discovery: tls.discovery,
    jwks: { keys },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      ...tls.features,
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => kResource,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resourceIndicator) => {
          if (resourceIndicator !== kResource) {
            throw new errors.InvalidTarget(`unknown resource, use ${kResource}`);
          }
          return {
            audience: kAudience,
            scope: 'metrics logs',
            accessTokenTTL: kTokenTtlSeconds,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: kAlg } },
          };
        },
      },
    },
    ttl: { ClientCredentials: kTokenTtlSeconds },
    extraTokenClaims: (ctx, token) => claimsOf(token.clientId),
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256', 'ES256', 'EdDSA'],
    },
  });
  const logIssued = (token) => {
    log('token_issued', {
      client_id: token.clientId,
      jti: token.jti,
      aud: kAudience,
      kid: activeKid(keys),
      ...(token['x5t#S256'] ? { cnf_x5t_s256: token['x5t#S256'] } : {}),
    });
  };
  provider.on('client_credentials.issued', logIssued);
  provider.on('client_credentials.saved', logIssued);
  provider.on('server_error', (ctx, err) => log('server_error', { error: String(err) }));
  return provider;
}

let keys = initialKeys();
let provider = makeProvider(keys);
let handler = provider.callback();

function rotate() {
  const key = generateKey(kAlg);
  keys = [key, ...keys];
  provider = makeProvider(keys);
  handler = provider.callback();
  log('keys_rotated', { active_kid: key.kid, kids: keys.map((k) => k.kid) });
  return key.kid;
}

function isLoopback(address) {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

function sendJson(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function serve(req, res) {
  if (req.url.startsWith('/__test/')) {
    if (!isLoopback(req.socket.remoteAddress)) {
      sendJson(res, 403, { error: 'loopback only' });
    } else if (req.method === 'POST' && req.url === '/__test/rotate') {
      const kid = rotate();
      sendJson(res, 200, { active_kid: kid, kids: keys.map((k) => k.kid) });
    } else if (req.method === 'GET' && req.url === '/__test/keys') {
      sendJson(res, 200, { active_kid: activeKid(keys), kids: keys.map((k) => k.kid) });
    } else {
      sendJson(res, 404, { error: 'not found' });
    }
    return;
  }
  handler(req, res);
}

const server = http.createServer(serve);
// Asks for a client certificate but lets the handshake through without one, or with one no CA
// vouches for: the certificate is only the RFC 8705 binding (peerCertificate above).
const tlsServer = kTls
  ? https.createServer(
    { cert: kTls.cert, key: kTls.key, requestCert: true, rejectUnauthorized: false }, serve)
  : undefined;

function shutdown(signal) {
  log('stopping', { signal });
  const servers = [server, tlsServer].filter(Boolean);
  let open = servers.length;
  for (const s of servers) {
    s.close(() => {
      open -= 1;
      if (open === 0) {
        process.exit(0);
      }
    });
    s.closeAllConnections();
  }
  setTimeout(() => process.exit(0), 2000).unref();
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGUSR2', () => rotate());

server.listen(kPort, kHost, () => {
  log('listening', {
    issuer: kIssuer,
    discovery: `${kIssuer}/.well-known/openid-configuration`,
    resource: kResource,
    audience: kAudience,
    alg: kAlg,
    active_kid: activeKid(keys),
    clients: Object.keys(kClients),
  });
});

if (tlsServer) {
  tlsServer.listen(kTls.port, kHost, () => {
    log('listening_tls', {
      token_endpoint: `https://${kHost}:${kTls.port}/token`,
      bound_clients: Object.keys(kBoundClients),
    });
  });
}
