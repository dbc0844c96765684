// The real @heroiclabs/nakama-js 2.8.0 with groups: createGroup, listGroups (name prefix and
// cursor pages), joinGroup (open and closed), listGroupUsers and listUserGroups with states,
// updateGroup, addGroupUsers, promoteGroupUsers, demoteGroupUsers, kickGroupUsers, banGroupUsers,
// leaveGroup, deleteGroup, and a group chat: joinChat(groupId, 3) on two sockets with
// writeChatMessage heard by the other, and the group event messages (a join, code 3) heard
// through onchannelmessage and listed by listChannelMessages. Run by meson on SQLite and
// PostgreSQL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@heroiclabs/nakama-js';
import { Feed, statusOf } from '../lib/nakama.mjs';
import { startServer, randomId } from '../lib/server.mjs';

let srv;
let client;
before(async () => {
  srv = await startServer();
  client = new Client('defaultkey', '127.0.0.1', String(srv.port), false);
});
after(async () => { await srv?.stop(); });

const player = (tag) => client.authenticateDevice(randomId(`njs-gr-${tag}-`, 32), true);
const members = async (s, gid, state) =>
  (await client.listGroupUsers(s, gid, state)).group_users.map((g) => [g.user.id, g.state]);

test('create, list, join, members, promote, kick, ban, leave, delete', async () => {
  const a = await player('a');
  const b = await player('b');
  const c = await player('c');
  const prefix = `njs${randomId('', 8)}`;
  const g = await client.createGroup(a, { name: `${prefix}-open`, description: 'd', lang_tag: 'en', open: true, max_count: 10 });
  assert.equal(g.creator_id, a.user_id);
  assert.equal(g.open, true);
  assert.equal(g.edge_count, 1);
  const closed = await client.createGroup(a, { name: `${prefix}-closed`, open: false });

  const first = await client.listGroups(b, `${prefix}%`, undefined, 1);
  assert.deepEqual(first.groups.map((x) => x.name), [`${prefix}-closed`]);
  const second = await client.listGroups(b, `${prefix}%`, first.cursor, 1);
  assert.deepEqual(second.groups.map((x) => x.id), [g.id]);

  assert.equal(await client.joinGroup(b, g.id), true);
  assert.equal(await client.joinGroup(c, g.id), true);
  assert.deepEqual(await members(a, g.id), [[a.user_id, 0], [b.user_id, 2], [c.user_id, 2]]);
  assert.equal(await client.joinGroup(b, closed.id), true);
  assert.deepEqual(await members(a, closed.id, 3), [[b.user_id, 3]], 'a join request');
  const mine = await client.listUserGroups(b, b.user_id);
  assert.deepEqual(mine.user_groups.map((x) => [x.group.id, x.state]).sort(),
    [[g.id, 2], [closed.id, 3]].sort());
  assert.equal(await client.addGroupUsers(a, closed.id, [b.user_id]), true);
  assert.deepEqual(await members(a, closed.id, 2), [[b.user_id, 2]], 'accepted');

  // nakama-js 2.8.0 hands back promoteGroupUsers' body itself (the others map it to true)
  assert.deepEqual(await client.promoteGroupUsers(a, g.id, [b.user_id]), {});
  assert.deepEqual(await members(a, g.id, 1), [[b.user_id, 1]]);
  assert.equal(await client.updateGroup(b, g.id, { description: 'by an admin' }), true);
  assert.equal(await statusOf(client.kickGroupUsers(c, g.id, [b.user_id])), 404, 'Nakama: not found or permission denied');
  assert.equal(await client.kickGroupUsers(b, g.id, [c.user_id]), true);
  assert.equal(await client.demoteGroupUsers(a, g.id, [b.user_id]), true);
  assert.deepEqual(await members(a, g.id), [[a.user_id, 0], [b.user_id, 2]]);
  assert.equal(await client.banGroupUsers(a, g.id, [c.user_id]), true);
  assert.equal(await client.addGroupUsers(a, g.id, [c.user_id]), true);
  assert.deepEqual(await members(a, g.id, 4), [[c.user_id, 4]], 'an add keeps a ban');
  assert.equal(await statusOf(client.joinGroup(c, g.id)), 403);

  assert.equal(await statusOf(client.leaveGroup(a, g.id)), 400, 'the last superadmin');
  assert.equal(await client.leaveGroup(b, g.id), true);
  assert.deepEqual(await members(a, g.id, 2), []);
  assert.equal(await client.deleteGroup(a, closed.id), true);
  assert.deepEqual((await client.listGroups(b, `${prefix}%`)).groups.map((x) => x.id), [g.id]);
});

test('joinChat(groupId, 3): two members talk over their sockets', async () => {
  const a = await player('ca');
  const b = await player('cb');
  const g = await client.createGroup(a, { name: `njs-chat-${randomId('', 8)}`, open: true });
  await client.joinGroup(b, g.id);
  const sockets = [];
  const join = async (s) => {
    const socket = client.createSocket(false, false);
    socket.onerror = () => {};
    socket.ondisconnect = () => {};
    await socket.connect(s, false, 5000);
    sockets.push(socket);
    const messages = new Feed(socket, 'onchannelmessage');
    const channel = await socket.joinChat(g.id, 3, true, false);
    return { socket, messages, channel };
  };
  const pa = await join(a);
  const pb = await join(b);
  assert.equal(pa.channel.id, `3.${g.id}..`);
  assert.equal(pa.channel.group_id, g.id);
  const ack = await pa.socket.writeChatMessage(pa.channel.id, { text: 'hello group' });
  assert.equal(ack.group_id, g.id);
  const heard = await pb.messages.next();
  assert.deepEqual([heard.sender_id, heard.content, heard.group_id], [a.user_id, { text: 'hello group' }, g.id]);
  const history = await client.listChannelMessages(b, pa.channel.id, 10, true);
  assert.deepEqual(history.messages.map((m) => [m.code, m.sender_id, m.content.text]),
    [[3, b.user_id, undefined], [0, a.user_id, 'hello group']], "b's join event, then the chat");

  const c = await player('cc');
  const outsider = client.createSocket(false, false);
  outsider.onerror = () => {};
  outsider.ondisconnect = () => {};
  await outsider.connect(c, false, 5000);
  sockets.push(outsider);
  await assert.rejects(outsider.joinChat(g.id, 3, true, false), (e) => e.code === 3);
  await client.joinGroup(c, g.id);
  const ev = await pb.messages.next();
  assert.deepEqual([ev.code, ev.sender_id, ev.username, ev.group_id, ev.content],
    [3, c.user_id, c.username, g.id, {}], 'a join event, heard live');
  for (const s of sockets) s.disconnect(false);
});
