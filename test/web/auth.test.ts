import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { Auth, cookie } from '../../src/web/auth.js';

/* The three checks of auth.ts as pure functions of a request's headers. */

const auth = new Auth({ token: 'the-token-1234567890', port: 9080, allowedHosts: ['nas.home.arpa'] });
const req = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;

describe('web auth', () => {
  it('takes the token as a bearer token or as its own cookie, and nothing else', () => {
    assert.ok(auth.authorized(req({ authorization: 'Bearer the-token-1234567890' })));
    assert.ok(auth.authorized(req({ cookie: 'a=1; peerkit-9080=the-token-1234567890; b=2' })));
    assert.ok(!auth.authorized(req({})));
    assert.ok(!auth.authorized(req({ authorization: 'Bearer the-token-123456789' })));
    assert.ok(!auth.authorized(req({ authorization: 'Basic the-token-1234567890' })));
    // Another daemon's cookie (another port on the same host) is not ours.
    assert.ok(!auth.authorized(req({ cookie: 'peerkit-9081=the-token-1234567890' })));
    // A wrong Authorization header is not rescued by a right cookie: the client said who it is.
    assert.ok(!auth.authorized(req({ authorization: 'Bearer nope', cookie: 'peerkit-9080=the-token-1234567890' })));
  });

  it('accepts IP literals, localhost and the allowed names as Host; refuses other names (DNS rebinding)', () => {
    for (const h of ['127.0.0.1:9080', '127.0.0.1', '[::1]:9080', 'localhost:9080', 'LOCALHOST', '192.0.2.7:9080', 'nas.home.arpa:9080']) assert.ok(auth.hostAllowed(h), h);
    for (const h of [undefined, '', 'evil.example:9080', 'localhost.evil.example', '127.0.0.1.nip.io:9080', 'a b', '[::1']) assert.ok(!auth.hostAllowed(h), String(h));
  });

  it('takes a state-changing request from our own pages or from a non-browser client, not from another site', () => {
    assert.ok(auth.sameOrigin(req({ host: '127.0.0.1:9080', origin: 'http://127.0.0.1:9080' })));
    assert.ok(auth.sameOrigin(req({ host: '127.0.0.1:9080' })), 'curl sends no Origin');
    assert.ok(auth.sameOrigin(req({ host: '127.0.0.1:9080', 'sec-fetch-site': 'same-origin' })));
    assert.ok(!auth.sameOrigin(req({ host: '127.0.0.1:9080', origin: 'http://evil.example' })));
    assert.ok(!auth.sameOrigin(req({ host: '127.0.0.1:9080', origin: 'http://127.0.0.1:9081' })));
    assert.ok(!auth.sameOrigin(req({ host: '127.0.0.1:9080', origin: 'null' })));
    assert.ok(!auth.sameOrigin(req({ host: '127.0.0.1:9080', 'sec-fetch-site': 'cross-site' })));
  });

  it('logs in with a cookie scripts cannot read and other sites cannot make the browser send', () => {
    assert.match(auth.loginCookie(), /^peerkit-9080=the-token-1234567890; Path=\/; HttpOnly; SameSite=Strict/);
    assert.match(auth.logoutCookie(), /Max-Age=0/);
    assert.equal(cookie('x=1;  peerkit-9080 = v ; y', 'peerkit-9080'), 'v');
    assert.equal(cookie(undefined, 'x'), undefined);
  });
});
