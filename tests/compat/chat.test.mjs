// The real @heroiclabs/nakama-js 2.8.0 chatting: two sockets joinChat a room (the reply lists
// the other, onchannelpresence hears joins and leaves), writeChatMessage / updateChatMessage /
// removeChatMessage answer acks and reach onchannelmessage with the content parsed, a direct
// message between the two users, and client.listChannelMessages pages the stored history
// both ways with its cursors. Run by meson on SQLite and PostgreSQL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@heroiclabs/nakama-js';
import { Feed } from '../lib/nakama.mjs';
import { startServer, randomId } from '../lib/server.mjs';

let srv;
let client;

before(async () => {
  srv = await startServer();
  client = new Client('defaultkey', '127.0.0.1', String(srv.port), false);
});
after(async () => { await srv?.stop(); });

async function player(tag) {
  const session = await client.authenticateDevice(randomId(`njs-ch-${tag}-`, 32), true);
  const socket = client.createSocket(false, false);
  socket.onerror = () => {};
  socket.ondisconnect = () => {};
  await socket.connect(session, false, 5000);
  return {
    session, socket,
    messages: new Feed(socket, 'onchannelmessage'),
    presence: new Feed(socket, 'onchannelpresence'),
  };
}

test('two sockets chat in a room and page its history with listChannelMessages', async () => {
  const a = await player('a');
  const b = await player('b');
  const room = `njs-${randomId('', 8)}`;

  const ca = await a.socket.joinChat(room, 1, true, false);
  assert.equal(ca.id, `2...${room}`);
  assert.equal(ca.self.user_id, a.session.user_id);
  assert.equal((await a.presence.next()).joins[0].user_id, a.session.user_id);
  const cb = await b.socket.joinChat(room, 1, true, false);
  assert.deepEqual(cb.presences.map((p) => p.user_id), [a.session.user_id]);
  for (const p of [a, b]) assert.equal((await p.presence.next()).joins[0].user_id, b.session.user_id);

  // a chat back and forth: every socket hears every message, the content parsed
  const lines = [[a, 'hello'], [b, 'hi a'], [a, 'ready?'], [b, 'yes'], [a, 'go']];
  const acks = [];
  for (const [p, text] of lines) {
    const ack = await p.socket.writeChatMessage(ca.id, { text });
    assert.deepEqual([ack.channel_id, ack.code, ack.username, ack.persistent],
      [ca.id, 0, p.session.username, true]);
    acks.push(ack);
    for (const q of [a, b]) {
      const m = await q.messages.next();
      assert.deepEqual([m.message_id, m.sender_id, m.content, m.code, m.room_name],
        [ack.message_id, p.session.user_id, { text }, 0, room]);
    }
  }

  // b fixes its first line, a takes back its last one
  const up = await b.socket.updateChatMessage(ca.id, acks[1].message_id, { text: 'hi, a' });
  assert.equal(up.code, 1);
  for (const q of [a, b]) assert.deepEqual((await q.messages.next()).content, { text: 'hi, a' });
  await assert.rejects(a.socket.updateChatMessage(ca.id, acks[1].message_id, { text: 'not yours' }),
    (e) => e.code === 3 && /Could not find message/.test(e.message));
  const rm = await a.socket.removeChatMessage(ca.id, acks[4].message_id);
  assert.equal(rm.code, 2);
  for (const q of [a, b]) assert.equal((await q.messages.next()).code, 2);

  // the history, two at a time, oldest first, then back again
  const texts = (page) => page.messages.map((m) => m.content.text);
  let page = await client.listChannelMessages(a.session, ca.id, 2, true);
  assert.deepEqual(texts(page), ['hello', 'hi, a']);
  assert.equal(page.messages[0].room_name, room);
  assert.equal(page.messages[0].sender_id, a.session.user_id);
  const second = await client.listChannelMessages(b.session, ca.id, 2, true, page.next_cursor);
  assert.deepEqual(texts(second), ['ready?', 'yes']);
  assert.equal(second.next_cursor, undefined, 'the removed line is gone: nothing after');
  const back = await client.listChannelMessages(b.session, ca.id, 2, true, second.prev_cursor);
  assert.deepEqual(texts(back), ['hello', 'hi, a']);
  const newest = await client.listChannelMessages(a.session, ca.id, 3, false);
  assert.deepEqual(texts(newest), ['yes', 'ready?', 'hi, a']);
  const oldest = await client.listChannelMessages(a.session, ca.id, 3, false, newest.next_cursor);
  assert.deepEqual(texts(oldest), ['hello']);
  const cached = (await client.listChannelMessages(a.session, ca.id, 100)).cacheable_cursor;
  await b.socket.writeChatMessage(ca.id, { text: 'one more' });
  await a.messages.next();
  await b.messages.next();
  assert.deepEqual(texts(await client.listChannelMessages(a.session, ca.id, 100, true, cached)), ['one more']);

  await b.socket.leaveChat(ca.id);
  assert.equal((await a.presence.next()).leaves[0].user_id, b.session.user_id);

  // a direct message between the two
  const dm = await a.socket.joinChat(b.session.user_id, 2, true, false);
  await a.presence.next();
  const [one, two] = [a.session.user_id, b.session.user_id].sort();
  assert.equal(dm.id, `4.${one}.${two}.`);
  const dmb = await b.socket.joinChat(a.session.user_id, 2, true, false);
  assert.equal(dmb.id, dm.id);
  await a.presence.next();
  await b.presence.next();
  await a.socket.writeChatMessage(dm.id, { text: 'just us' });
  const got = await b.messages.next();
  assert.deepEqual([got.content, got.user_id_one, got.user_id_two], [{ text: 'just us' }, one, two]);
  await a.messages.next();
  const dmPage = await client.listChannelMessages(b.session, dm.id, 10);
  assert.deepEqual(texts(dmPage), ['just us']);
  assert.equal(dmPage.messages[0].user_id_one, one);

  a.socket.disconnect(false);
  b.socket.disconnect(false);
});
