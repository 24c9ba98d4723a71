// oidc-provider configured for bench/compare.sh: one confidential client
// that gets JWT access tokens by client credentials (RFC 6749 §4.4) for one
// resource server (RFC 8707), signed with a key of the algorithm under test.
// Storage is the library's in-memory adapter: a JWT access token is not
// stored, so the numbers are the token path and nothing else.
//
//   PORT=4600 ALG=RS256|ES256 CLIENT_ID=… CLIENT_SECRET=… node server.js
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 4600);
const alg = process.env.ALG || 'RS256';
const clientId = process.env.CLIENT_ID || 'bench';
const clientSecret = process.env.CLIENT_SECRET || 'bench-secret-0123456789abcdefghijklmnop';
const audience = process.env.AUDIENCE || 'api://bench';
const scope = process.env.SCOPE || 'api.read';

// The same key sizes tessera signs with: RSA 2048 for RS256, P-256 for ES256.
const { privateKey } = alg === 'ES256'
  ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
  : generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: `bench-${alg}` };

const resourceServer = {
  scope,
  audience,
  accessTokenFormat: 'jwt',
  accessTokenTTL: 3600,
  jwt: { sign: { alg } },
};

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_post',
    scope,
  }],
  jwks: { keys: [jwk] },
  scopes: [scope],
  clientDefaults: { id_token_signed_response_alg: alg },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // A request without `resource` gets the one API, as tessera's
      // `scope=api://…/.default` names it.
      defaultResource: () => audience,
      getResourceServerInfo: (ctx, indicator) => {
        if (indicator !== audience) throw new Provider.errors.InvalidTarget();
        return resourceServer;
      },
      useGrantedResource: () => true,
    },
  },
  ttl: { ClientCredentials: 3600 },
  cookies: { keys: ['bench-only-cookie-key-0123456789'] },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider ${alg} listening on http://127.0.0.1:${port}`);
});
