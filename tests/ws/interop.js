// interop.js — rentezyd's WebSocket against node's `ws` library (Debian's
// node-ws), a real client with its own framing, masking and close handling.
//
//   node tests/ws/interop.js PORT TOKEN
//
// Prints "ok NAME" / "FAIL NAME: why" per case; exits 1 when any failed.
'use strict';
let WebSocket;
try {
    WebSocket = require('ws');
} catch (e) {
    WebSocket = require('/usr/share/nodejs/ws');
}

const [port, token] = process.argv.slice(2);
const url = `ws://127.0.0.1:${port}/v1/ws`;
let failures = 0;

function open(opts) {
    const o = opts || {};
    const ws = new WebSocket(o.url || url, o.protocols || ['bearer', `bearer.${token}`],
                             Object.assign({perMessageDeflate: false}, o.options || {}));
    ws.inbox = [];
    ws.waiters = [];
    ws.on('message', (data, isBinary) => {
        const m = JSON.parse(data.toString());
        const w = ws.waiters.findIndex((x) => x.pred(m));
        if (w >= 0) ws.waiters.splice(w, 1)[0].resolve(m);
        else ws.inbox.push(m);
    });
    return ws;
}

function next(ws, pred, ms) {
    const i = ws.inbox.findIndex(pred);
    if (i >= 0) return Promise.resolve(ws.inbox.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('timed out waiting for a message')), ms || 5000);
        ws.waiters.push({pred, resolve: (m) => { clearTimeout(t); resolve(m); }});
    });
}

function opened(ws) {
    return new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
        ws.once('unexpected-response', (req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
}

function closed(ws) {
    return new Promise((resolve) => ws.once('close', (code, reason) =>
        resolve({code, reason: reason.toString()})));
}

async function test(name, fn) {
    try {
        await fn();
        console.log(`ok   node ws: ${name}`);
    } catch (e) {
        failures++;
        console.log(`FAIL node ws: ${name}: ${e.message}`);
    }
}

function assert(cond, msg) { if (!cond) throw new Error(msg); }

(async () => {
    await test('handshake with the bearer subprotocol, hello, echo', async () => {
        const ws = open();
        await opened(ws);
        assert(ws.protocol === 'bearer', `selected protocol '${ws.protocol}'`);
        const hello = await next(ws, (m) => m.type === 'hello');
        assert(hello.ch === 'echo' && hello.user, 'hello names the user');
        ws.send(JSON.stringify({ch: 'echo', n: 42, s: 'κόσμε €'}));
        const m = await next(ws, (x) => x.n === 42);
        assert(m.s === 'κόσμε €', 'UTF-8 survives the round trip');
        ws.close(1000, 'done');
        const c = await closed(ws);
        assert(c.code === 1000, `close code ${c.code}`);
    });

    await test('query-string token and Authorization header', async () => {
        const a = open({url: `${url}?access_token=${encodeURIComponent(token)}`, protocols: []});
        await opened(a);
        await next(a, (m) => m.type === 'hello');
        a.close();
        const b = open({protocols: [], options: {headers: {Authorization: `Bearer ${token}`}}});
        await opened(b);
        await next(b, (m) => m.type === 'hello');
        b.terminate();
    });

    await test('a bad token is refused with 401', async () => {
        const ws = open({protocols: ['bearer', 'bearer.nonsense']});
        let status = 0;
        ws.on('unexpected-response', (req, res) => { status = res.statusCode; ws.terminate(); });
        ws.on('error', () => {});
        await new Promise((r) => setTimeout(r, 300));
        assert(status === 401, `status ${status}`);
    });

    await test('a fragmented message (fin: false frames) is reassembled', async () => {
        const ws = open();
        await opened(ws);
        const parts = ['{"ch":"echo",', '"frag":"', 'x'.repeat(70000), '"}'];
        parts.forEach((p, i) => ws.send(p, {fin: i === parts.length - 1}));
        const m = await next(ws, (x) => x.frag !== undefined);
        assert(m.frag.length === 70000, `length ${m.frag.length}`);
        ws.close();
    });

    await test('a 1 MiB message is refused with 1009', async () => {
        const ws = open();
        await opened(ws);
        const c = closed(ws);
        ws.send(JSON.stringify({ch: 'echo', big: 'y'.repeat(1 << 20)}));
        const r = await c;
        assert(r.code === 1009, `close code ${r.code}`);
    });

    await test('ping is answered with pong', async () => {
        const ws = open();
        await opened(ws);
        const pong = new Promise((r) => ws.once('pong', (d) => r(d.toString())));
        ws.ping('node');
        assert((await pong) === 'node', 'pong payload');
        ws.close();
    });

    await test('unknown channel gives an error message and the connection stays', async () => {
        const ws = open();
        await opened(ws);
        ws.send(JSON.stringify({ch: 'nope'}));
        const e = await next(ws, (m) => m.ch === 'error');
        assert(e.error.code === 'unknown_channel', e.error.code);
        ws.send(JSON.stringify({ch: 'echo', still: true}));
        await next(ws, (m) => m.still === true);
        ws.close();
    });

    await test('ws_send_user reaches two connections of the same user', async () => {
        const a = open(), b = open();
        await Promise.all([opened(a), opened(b)]);
        const hello = await next(a, (m) => m.type === 'hello');
        a.send(JSON.stringify({ch: 'echo', type: 'to_user', user: hello.user, text: 'both'}));
        await Promise.all([next(a, (m) => m.text === 'both'), next(b, (m) => m.text === 'both')]);
        a.close();
        b.close();
    });

    await test('server-initiated close reaches the client with code and reason', async () => {
        const ws = open();
        await opened(ws);
        const c = closed(ws);
        ws.send(JSON.stringify({ch: 'echo', type: 'close', code: 4000, reason: 'bye now'}));
        const r = await c;
        assert(r.code === 4000 && r.reason === 'bye now', `${r.code} ${r.reason}`);
    });

    process.exit(failures ? 1 : 0);
})();
