// chat_presence.js — presence across processes when a process dies
// (issue 11): the landlord is connected to process B, the tenant to A; the
// test kills B with SIGKILL once this prints "ready"; the tenant must be
// told "offline" once B's lease has expired.  With MODE "silent" the
// tenant sends nothing at all: A's heartbeat timer (ABI 1.2) must renew
// its own lease and sweep B's; with "ping" it pings every 250 ms (what
// clients had to do before the host had timers).
//
//   node tests/ws/chat_presence.js PORT_A PORT_B TENANT_TOKEN LANDLORD_TOKEN LANDLORD_ID TIMEOUT_MS [MODE]
'use strict';
let WebSocket;
try {
    WebSocket = require('ws');
} catch (e) {
    WebSocket = require('/usr/share/nodejs/ws');
}
const [pa, pb, tTok, lTok, lId, timeout, mode = 'ping'] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function open(port, token) {
    return new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`, ['bearer', `bearer.${token}`],
                                 {perMessageDeflate: false});
        ws.inbox = [];
        ws.on('message', (d) => { const m = JSON.parse(d.toString()); if (m.ch === 'chat') ws.inbox.push(m); });
        ws.on('open', () => resolve(ws));
        ws.on('error', reject);
    });
}

async function main() {
    const l = await open(pb, lTok);
    l.on('error', () => {});
    const t = await open(pa, tTok);
    await sleep(300);
    console.log('ready');
    const t0 = Date.now();
    while (Date.now() - t0 < Number(timeout)) {
        if (mode !== 'silent')
            t.send(JSON.stringify({ch: 'chat', type: 'ping'}));
        if (t.inbox.some((m) => m.type === 'presence' && m.user_id === lId && m.status === 'offline')) {
            console.log(`ok   a member on a killed process is announced offline (${mode}, ${Date.now() - t0} ms)`);
            process.exit(0);
        }
        await sleep(250);
    }
    console.log(`FAIL a member on a killed process is announced offline: ${JSON.stringify(t.inbox)}`);
    process.exit(1);
}
main().catch((e) => { console.log(`FAIL chat_presence.js: ${e.stack}`); process.exit(1); });
