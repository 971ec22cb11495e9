// Dashboard sessions (the page's cookie): signed with a key derived from the token, so a tampered,
// expired or other-token session is refused, and the cookie never contains the token. Negative
// control: a fresh session of the same token passes (the checks are what refuse the others).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sessions, SESSION_TTL_MS } from '../../emperor/dashboard/sessions.js';

const TOKEN = 'a-token-of-the-operators-choosing';

test('a session is bound to its token, expires, and cannot be forged or altered', () => {
  const s = new Sessions(TOKEN);
  const now = Date.now();
  const id = s.open(now);
  assert.ok(!id.includes(TOKEN));
  assert.ok(s.valid(id, now), 'negative control: a fresh session passes');
  assert.ok(new Sessions(TOKEN).valid(id, now), 'another process with the same token accepts it (restarts)');
  assert.ok(!new Sessions('another-token-entirely-123456789').valid(id, now), 'a new token ends it');
  assert.ok(!s.valid(id, now + SESSION_TTL_MS + 1), 'it expires');
  const [nonce, exp, mac] = id.split('.') as [string, string, string];
  assert.ok(!s.valid(`${nonce}.${Number(exp) + 10 * SESSION_TTL_MS}.${mac}`, now), 'its expiry cannot be pushed back');
  const flipped = mac.slice(0, -1) + (mac.endsWith('A') ? 'B' : 'A');
  assert.ok(!s.valid(`${nonce}.${exp}.${flipped}`, now));
  assert.ok(!s.valid(TOKEN, now), 'the token itself is no session');
  assert.ok(!s.valid('', now));
});
