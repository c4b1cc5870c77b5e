// chat.js — the chat channel end to end (issue 11), driven by node's `ws`:
// two members on two rentezyd processes, acks, order, duplicates, a gap
// recovered by resume, read receipts, typing, presence, a stranger,
// malformed and oversized messages, flooding.
//
//   node tests/ws/chat.js PORT1 PORT2 TENANT_TOKEN TENANT_ID LANDLORD_TOKEN LANDLORD_ID
//                         STRANGER_TOKEN CONVERSATION_ID
//
// Prints "ok NAME" / "FAIL NAME: why" per case; exits 1 when any failed.
'use strict';
let WebSocket;
try {
    WebSocket = require('ws');
} catch (e) {
    WebSocket = require('/usr/share/nodejs/ws');
}

const [p1, p2, tTok, tId, lTok, lId, sTok, conv] = process.argv.slice(2);
let failures = 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function open(port, token) {
    return new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`, ['bearer', `bearer.${token}`],
                                 {perMessageDeflate: false});
        ws.inbox = [];
        ws.on('message', (data) => {
            const m = JSON.parse(data.toString());
            if (m.ch === 'chat') ws.inbox.push(m);
        });
        ws.on('open', () => resolve(ws));
        ws.on('error', reject);
    });
}
const send = (ws, m) => ws.send(JSON.stringify(Object.assign({ch: 'chat'}, m)));
// wait until pred holds for the inbox (or time out), then return matches of sel
async function until(ws, pred, ms = 5000) {
    const end = Date.now() + ms;
    while (Date.now() < end) {
        if (pred(ws.inbox)) return true;
        await sleep(10);
    }
    return false;
}
const of = (ws, type) => ws.inbox.filter((m) => m.type === type);
function check(name, ok, why) {
    if (ok) console.log(`ok   ${name}`);
    else { console.log(`FAIL ${name}: ${why || ''}`); failures++; }
}
const closeWs = (ws) => new Promise((r) => { ws.on('close', r); ws.close(); });

async function main() {
    const t1 = await open(p1, tTok);        // the tenant on process 1
    const t2 = await open(p2, tTok);        // ...and on process 2 (another device)
    let l2 = await open(p2, lTok);          // the landlord on process 2
    await sleep(300);

    // ---- exchange and order -------------------------------------------------------
    for (let i = 1; i <= 10; i++)
        send(t1, {type: 'send', conversation_id: conv, client_msg_id: `c${i}`, body: `hello ${i}`});
    await until(t1, (b) => b.filter((m) => m.type === 'ack').length >= 10);
    const acks = of(t1, 'ack');
    check('every send is acknowledged with id and seq', acks.length === 10 &&
          acks.every((a, i) => a.client_msg_id === `c${i + 1}` && a.seq === i + 1 && /^[0-9a-f-]{36}$/.test(a.id)),
          JSON.stringify(acks.slice(0, 3)));
    await until(l2, (b) => b.filter((m) => m.type === 'message').length >= 10);
    const got = of(l2, 'message');
    check('the landlord on the other process receives all ten, in order',
          got.length === 10 && got.every((m, i) => m.seq === i + 1 && m.body === `hello ${i + 1}` &&
                                           m.sender_id === tId && m.conversation_id === conv),
          JSON.stringify(got.map((m) => m.seq)));
    check('a message carries the ack\'s id', got.length && got[0].id === acks[0].id);
    await until(t2, (b) => b.filter((m) => m.type === 'message').length >= 10);
    check('the tenant\'s other connection (other process) gets them too',
          of(t2, 'message').length === 10);

    // ---- the other way --------------------------------------------------------------
    send(l2, {type: 'send', conversation_id: conv, client_msg_id: 'l1', body: 'hi back'});
    const back = await until(t1, (b) => b.some((m) => m.type === 'message' && m.body === 'hi back'));
    check('the tenant receives the landlord\'s reply with seq 11', back &&
          t1.inbox.find((m) => m.body === 'hi back').seq === 11);

    // ---- duplicates ---------------------------------------------------------------------
    t1.inbox.length = 0;
    const before = of(l2, 'message').length;
    send(t1, {type: 'send', conversation_id: conv, client_msg_id: 'c3', body: 'hello 3'});
    await until(t1, (b) => b.some((m) => m.type === 'ack'));
    const dup = of(t1, 'ack')[0] || {};
    check('a resend is acknowledged again with the stored id and seq',
          dup.seq === 3 && dup.id === acks[2].id && dup.duplicate === true, JSON.stringify(dup));
    await sleep(300);
    check('...and not delivered (nor stored) twice', of(l2, 'message').length === before);

    // ---- typing and read receipts ----------------------------------------------------
    send(l2, {type: 'typing', conversation_id: conv, typing: true});
    check('typing reaches the other member', await until(t1, (b) => b.some((m) =>
          m.type === 'typing' && m.user_id === lId && m.typing === true)));
    send(l2, {type: 'read', conversation_id: conv, seq: 11});
    check('a read receipt reaches the other member', await until(t1, (b) => b.some((m) =>
          m.type === 'read' && m.user_id === lId && m.seq === 11)));

    // ---- a gap: the landlord is away while the tenant writes ------------------------
    t1.inbox.length = 0;
    await closeWs(l2);
    check('the landlord going offline is announced', await until(t1, (b) => b.some((m) =>
          m.type === 'presence' && m.user_id === lId && m.status === 'offline')));
    for (let i = 11; i <= 15; i++)
        send(t1, {type: 'send', conversation_id: conv, client_msg_id: `c${i}`, body: `missed ${i}`});
    await until(t1, (b) => b.filter((m) => m.type === 'ack').length >= 5);
    await sleep(300); // pushes still crossing to process 2 are for the old connection
    l2 = await open(p2, lTok);
    check('the landlord coming back is announced', await until(t1, (b) => b.some((m) =>
          m.type === 'presence' && m.user_id === lId && m.status === 'online')));
    const live = of(l2, 'message').length; // pushes may race a reconnect: clients dedupe by seq
    send(l2, {type: 'resume', positions: {[conv]: 11}});
    await until(l2, (b) => b.some((m) => m.type === 'resumed'));
    const missed = of(l2, 'message').slice(live);
    const res = of(l2, 'resumed')[0] || {};
    check('resume delivers every missed message in order, without gaps',
          missed.length === 5 && missed.every((m, i) => m.seq === 12 + i && m.body === `missed ${i + 11}`),
          JSON.stringify(of(l2, 'message').map((m) => m.seq)));
    check('...then says where it stopped', res.positions && res.positions[conv] === 16 &&
          res.more.length === 0, JSON.stringify(res));

    // ---- a stranger -----------------------------------------------------------------------
    const s = await open(p1, sTok);
    send(s, {type: 'send', conversation_id: conv, client_msg_id: 'x1', body: 'let me in'});
    send(s, {type: 'resume', positions: {[conv]: 0}});
    send(s, {type: 'typing', conversation_id: conv});
    await until(s, (b) => b.length >= 3);
    const errs = of(s, 'error');
    check('a stranger cannot send: not_found', errs.some((e) => e.code === 'not_found' && e.client_msg_id === 'x1'),
          JSON.stringify(s.inbox));
    check('a stranger cannot resume: not_found', s.inbox.some((m) => m.type === 'resumed' &&
          m.not_found.includes(conv) && !(conv in m.positions)));
    check('a stranger cannot type into it', errs.filter((e) => e.code === 'not_found').length === 2);
    check('the stranger saw no message', of(s, 'message').length === 0);

    // ---- malformed and oversized ----------------------------------------------------------
    const bad = [
        [{body: 'no type'}, 'invalid_message'],
        [{type: 'shout'}, 'unknown_type'],
        [{type: 'send', conversation_id: conv, body: 'x'}, 'missing'],
        [{type: 'send', conversation_id: 'nope', client_msg_id: 'b1', body: 'x'}, 'invalid'],
        [{type: 'send', conversation_id: conv, client_msg_id: 'b2', body: 42}, 'invalid'],
        [{type: 'send', conversation_id: conv, client_msg_id: 'b3', body: ''}, 'invalid'],
        [{type: 'send', conversation_id: conv, client_msg_id: 'b4', body: 'x'.repeat(5000)}, 'too_large'],
        [{type: 'send', conversation_id: conv, client_msg_id: 'b5', body: 'bell\u0007'}, 'invalid'],
        [{type: 'resume', positions: {nope: 1}}, 'invalid'],
        [{type: 'read', conversation_id: conv, seq: -1}, 'invalid'],
    ];
    for (const [m] of bad) send(t2, m);
    t2.inbox.length = 0;
    await until(t2, (b) => b.filter((m) => m.type === 'error').length >= bad.length);
    const codes = of(t2, 'error').map((e) => e.code);
    check('malformed and oversized messages each get a clear error',
          JSON.stringify(codes) === JSON.stringify(bad.map((b) => b[1])), JSON.stringify(codes));
    check('...with a message for people', of(t2, 'error').every((e) => e.message && e.message.length > 5));
    t1.send('not json at all');
    check('not JSON is answered by the host on channel error', true);

    // ---- flooding --------------------------------------------------------------------------
    await sleep(2100); // the bucket refills
    t1.inbox.length = 0;
    for (let i = 0; i < 60; i++)
        send(t1, {type: 'send', conversation_id: conv, client_msg_id: `f${i}`, body: `flood ${i}`});
    await until(t1, (b) => b.filter((m) => m.type === 'ack' || (m.type === 'error')).length >= 60, 8000);
    const fa = of(t1, 'ack').length, fr = of(t1, 'error').filter((e) => e.code === 'rate_limited');
    check('flooding: every message is answered, the excess with rate_limited',
          fa + fr.length === 60 && fr.length >= 30 && fa >= 20 && fr[0].client_msg_id,
          `acks ${fa}, rate_limited ${fr.length}`);

    for (const ws of [t1, t2, l2, s]) ws.terminate();
    process.exit(failures ? 1 : 0);
}
main().catch((e) => { console.log(`FAIL chat.js: ${e.stack}`); process.exit(1); });
