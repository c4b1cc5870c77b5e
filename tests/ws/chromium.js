// chromium.js — run a page in headless Chromium and print what it reports.
//
//   node tests/ws/chromium.js CHROMIUM PAGE.html USER_DATA_DIR
//
// --dump-dom cannot wait for asynchronous WebSocket traffic (it dumps at the
// load event, and --virtual-time-budget skips ahead of real sockets), so this
// drives the browser over the DevTools protocol instead: it polls the page's
// #out element until it starts with "RESULT" (20 s at most) and prints it.
'use strict';
const {spawn} = require('child_process');
const fs = require('fs');
const http = require('http');
let WebSocket;
try {
    WebSocket = require('ws');
} catch (e) {
    WebSocket = require('/usr/share/nodejs/ws');
}

const [chrome, page, dataDir] = process.argv.slice(2);
const proc = spawn(chrome, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    `--user-data-dir=${dataDir}`, '--remote-debugging-port=0', `file://${page}`,
], {stdio: ['ignore', 'ignore', 'pipe']});
let stderr = '';
proc.stderr.on('data', (d) => { stderr += d; });

const deadline = Date.now() + 20000;
function bail(msg) {
    console.log(`chromium: ${msg}`);
    if (stderr) console.log(stderr.split('\n').slice(-5).join('\n'));
    proc.kill('SIGKILL');
    process.exit(1);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function getJSON(url) {
    return new Promise((resolve, reject) => {
        http.get(url, (res) => {
            let body = '';
            res.on('data', (d) => { body += d; });
            res.on('end', () => { try { resolve(JSON.parse(body)); } catch (e) { reject(e); } });
        }).on('error', reject);
    });
}

(async () => {
    let port;
    while (!port) { // Chromium writes its port here once it listens
        if (Date.now() > deadline) bail('no DevTools port');
        try { port = fs.readFileSync(`${dataDir}/DevToolsActivePort`, 'utf8').split('\n')[0]; } catch (e) { /* not yet */ }
        await sleep(100);
    }
    let target;
    while (!target) {
        if (Date.now() > deadline) bail('the page never appeared');
        try {
            const list = await getJSON(`http://127.0.0.1:${port}/json/list`);
            target = list.find((t) => t.type === 'page' && t.url.startsWith('file:'));
        } catch (e) { /* not yet */ }
        if (!target) await sleep(100);
    }
    const cdp = new WebSocket(target.webSocketDebuggerUrl, {perMessageDeflate: false});
    await new Promise((r, j) => { cdp.once('open', r); cdp.once('error', j); });
    let id = 0;
    const pending = new Map();
    cdp.on('message', (d) => {
        const m = JSON.parse(d.toString());
        if (m.id && pending.has(m.id)) { pending.get(m.id)(m); pending.delete(m.id); }
    });
    const evaluate = (expression) => new Promise((resolve) => {
        pending.set(++id, resolve);
        cdp.send(JSON.stringify({id, method: 'Runtime.evaluate', params: {expression, returnByValue: true}}));
    });
    for (;;) {
        if (Date.now() > deadline) bail('the page did not finish');
        const r = await evaluate("document.getElementById('out') ? document.getElementById('out').textContent : ''");
        const text = r.result && r.result.result ? String(r.result.result.value) : '';
        if (text.startsWith('RESULT')) {
            console.log(text);
            cdp.close();
            proc.kill('SIGKILL');
            process.exit(0);
        }
        await sleep(200);
    }
})().catch((e) => bail(e.message));
