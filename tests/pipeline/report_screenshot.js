// Renders an `s3editor report` page in headless Chromium (Debian's, driven by puppeteer-core over a pipe: the test
// runs this inside an empty network namespace, so any request the page made would fail and be seen here), takes a
// full-page screenshot and checks that every figure ([data-s3e-figure]: charts and frame strips) is drawn: the
// standard deviation of the screenshot's pixels inside its box must exceed 5 levels. Also fails on any request other
// than the page itself and its embedded data: pictures, on any console error or page error, and when a kind of
// figure the caller expects is absent.
//
// Usage: node report_screenshot.js PAGE.html OUT_DIR PUPPETEER_CORE_DIR EXPECTED...
//   EXPECTED: "prefix" or "prefix*suffix" patterns of figure names, each of which must match at least one figure.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const [page_file, out_dir, puppeteer_dir, ...expected] = process.argv.slice(2);
const puppeteer = require(puppeteer_dir);

// PNG decoder for Chromium's screenshots: 8-bit RGB or RGBA, not interlaced (zlib inflate + the five row filters).
function png_decode(buf) {
  if (buf.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let pos = 8, width = 0, height = 0, depth = 0, type = 0, interlace = 0;
  const idat = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos), kind = buf.toString('ascii', pos + 4, pos + 8);
    const body = buf.subarray(pos + 8, pos + 8 + len);
    if (kind === 'IHDR') {
      width = body.readUInt32BE(0); height = body.readUInt32BE(4);
      depth = body[8]; type = body[9]; interlace = body[12];
    } else if (kind === 'IDAT') idat.push(body);
    else if (kind === 'IEND') break;
    pos += 12 + len;
  }
  const channels = {2: 3, 6: 4}[type];
  if (depth !== 8 || !channels || interlace) throw new Error(`unsupported PNG: depth ${depth} type ${type}`);
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels, out = Buffer.alloc(stride * height);
  for (let y = 0; y < height; ++y) {
    const filter = raw[y * (stride + 1)], line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; ++i) {
      const a = i >= channels ? out[y * stride + i - channels] : 0;
      const b = y > 0 ? out[(y - 1) * stride + i] : 0;
      const c = y > 0 && i >= channels ? out[(y - 1) * stride + i - channels] : 0;
      let v = line[i];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[y * stride + i] = v & 255;
    }
  }
  return {width, height, channels, data: out};
}

// Standard deviation of the R, G and B values inside a box (clipped to the picture).
function box_std(img, box) {
  const x0 = Math.max(0, Math.ceil(box.x)), y0 = Math.max(0, Math.ceil(box.y));
  const x1 = Math.min(img.width, Math.floor(box.x + box.width)), y1 = Math.min(img.height, Math.floor(box.y + box.height));
  let n = 0, sum = 0, sq = 0;
  for (let y = y0; y < y1; ++y)
    for (let x = x0; x < x1; ++x)
      for (let c = 0; c < 3; ++c) {
        const v = img.data[(y * img.width + x) * img.channels + c];
        ++n; sum += v; sq += v * v;
      }
  if (!n) return {n: 0, std: 0};
  const mean = sum / n;
  return {n: n / 3, std: Math.sqrt(Math.max(0, sq / n - mean * mean))};
}

const failures = [];
(async () => {
  const profile = fs.mkdtempSync(path.join(out_dir, 'chromium-profile-'));
  const browser = await puppeteer.launch({
    executablePath: '/usr/bin/chromium', headless: true, pipe: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', `--user-data-dir=${profile}`, '--no-first-run',
           '--hide-scrollbars', '--force-device-scale-factor=1'],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({width: 1400, height: 900, deviceScaleFactor: 1});
    const url = 'file://' + path.resolve(page_file);
    const requests = [];
    page.on('request', r => requests.push(r.url()));
    page.on('requestfailed', r => {
      if (!r.url().startsWith('data:')) failures.push(`request failed: ${r.url()} (${r.failure() && r.failure().errorText})`);
    });
    page.on('console', m => { if (m.type() === 'error') failures.push(`console error: ${m.text()}`); });
    page.on('pageerror', e => failures.push(`page error: ${e.message}`));
    const t0 = Date.now();
    await page.goto(url, {waitUntil: 'load', timeout: 60000});
    await page.waitForFunction(() => document.documentElement.getAttribute('data-s3e-charts') === 'drawn' &&
                                     [...document.images].every(i => i.complete),
                               {timeout: 30000});
    for (const src of await page.evaluate(() => [...document.images].filter(i => !i.naturalWidth).map(i => i.src)))
      failures.push(`picture not shown: ${src.slice(0, 80)}`);
    // Two frames more, so everything the charts drew is on screen.
    await page.evaluate(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))));
    const load_ms = Date.now() - t0;
    for (const u of requests)
      if (u !== url && !u.startsWith('data:')) failures.push(`the page requested ${u}`);

    const figures = await page.evaluate(() => [...document.querySelectorAll('[data-s3e-figure]')].map(e => {
      const r = e.getBoundingClientRect();
      return {name: e.getAttribute('data-s3e-figure'), tag: e.tagName.toLowerCase(),
              x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height};
    }));
    const shot_file = path.join(out_dir, 'report.png');
    await page.screenshot({path: shot_file, fullPage: true, type: 'png'});
    const img = png_decode(fs.readFileSync(shot_file));

    const results = figures.map(f => ({...f, ...box_std(img, f)}));
    for (const r of results) {
      const ok = r.width >= 50 && r.height >= 50 && r.n > 0 && r.std > 5;
      console.log(`${ok ? 'ok  ' : 'FAIL'} std ${r.std.toFixed(1).padStart(6)}  ${String(Math.round(r.width)).padStart(5)}x` +
                  `${String(Math.round(r.height)).padEnd(5)} ${r.tag.padEnd(4)} ${r.name}`);
      if (!ok) failures.push(`figure ${r.name} is not drawn (std ${r.std.toFixed(2)} over ${r.n} pixels, box ` +
                             `${Math.round(r.width)}x${Math.round(r.height)})`);
    }
    const names = new Set(results.map(r => r.name));
    if (names.size !== results.length) failures.push('two figures share a name');
    for (const want of expected) {
      const [prefix, suffix = ''] = want.split('*');
      if (!results.some(r => r.name.startsWith(prefix) && r.name.endsWith(suffix)))
        failures.push(`no figure matches ${want}`);
    }
    const charts = await page.evaluate(() => document.querySelectorAll('[data-s3e-chart] canvas').length);
    const boxes = await page.evaluate(() => document.querySelectorAll('[data-s3e-chart]').length);
    if (charts < boxes) failures.push(`${boxes} chart boxes but ${charts} canvases`);
    fs.writeFileSync(path.join(out_dir, 'figures.json'), JSON.stringify(results, null, 1));
    console.log(`${results.length} figures (${boxes} charts), screenshot ${img.width}x${img.height}, ` +
                `${requests.length} requests, loaded and drawn in ${load_ms} ms`);
  } finally {
    await browser.close();
  }
  for (const f of failures) console.log('FAILED: ' + f);
  process.exit(failures.length ? 1 : 0);
})().catch(e => {
  for (const f of failures) console.log('FAILED: ' + f);
  console.log('FAILED: ' + (e && e.stack || e));
  process.exit(1);
});
