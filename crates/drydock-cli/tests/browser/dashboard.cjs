// Drives the dashboard in headless Chromium (Debian's) with playwright-core:
// logs in with a token, loads every page (no console errors allowed),
// searches a CVE and follows it to the pod that runs it, filters by KEV,
// downloads the SBOM; prints the numbers each page showed as JSON for the
// Rust test to compare with the API. Screenshots go to $SCREENSHOTS if set.
//
// usage: node dashboard.cjs BASE_URL TOKEN VULN_ID DIGEST CLUSTER NAMESPACE
'use strict';
const path = require('path');
const fs = require('fs');
const { chromium } = require(process.env.PLAYWRIGHT_CORE_DIR);

const [base, token, vuln, digest, cluster, namespace] = process.argv.slice(2);
const shots = process.env.SCREENSHOTS || '';
const downloads = process.env.DOWNLOADS;

(async () => {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`${page.url()}: console ${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`${page.url()}: ${error.message}`));
  page.on('requestfailed', (request) => {
    if (!request.url().includes('/sbom?')) problems.push(`${request.url()}: ${request.failure().errorText}`);
  });
  const out = { pages: {} };
  const text = async (selector) => (await page.locator(selector).first().textContent()).trim();
  const number = async (selector) => Number(await text(selector));
  const visit = async (url, name) => {
    const response = await page.goto(base + url);
    if (response.status() !== 200) problems.push(`${url}: HTTP ${response.status()}`);
    const title = await page.title();
    out.pages[url] = title;
    if (shots && name) await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  };

  // Not logged in: the login form, then back where we wanted to go.
  await page.goto(`${base}/vulnerabilities`);
  if (!page.url().includes('/login?next=')) problems.push(`no login redirect: ${page.url()}`);
  await page.getByLabel('API token').fill(token);
  await Promise.all([page.waitForURL(`${base}/vulnerabilities`), page.keyboard.press('Enter')]);

  // Keyboard: the first Tab reaches the skip link.
  await page.keyboard.press('Tab');
  out.skip_link_focused = await page.evaluate(() => document.activeElement && document.activeElement.classList.contains('skip'));

  await visit('/', 'overview');
  out.overview = {};
  for (const key of ['total', 'kev', 'critical', 'high', 'medium', 'low', 'vulnerabilities']) {
    out.overview[key] = await number(`#open-${key}`);
  }
  out.overview.overdue = await number('#overdue-count');
  out.overview.chart = await page.locator('figure.chart svg polyline').count();

  await visit('/clusters', 'clusters');
  await visit(`/clusters/${encodeURIComponent(cluster)}`, null);
  await visit('/images', 'images');
  await visit(`/images/${digest}`, 'image');
  out.image = { findings: await number('#image-findings'), packages: await number('#package-count') };
  // Package search on the image page.
  await page.getByLabel('Name contains').fill('jinja');
  await Promise.all([page.waitForURL(/q=jinja/), page.getByRole('button', { name: 'Filter' }).click()]);
  out.image.jinja = await number('#package-shown');
  // The SBOM download.
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#sbom-cyclonedx').click()]);
  const saved = path.join(downloads, 'sbom.cdx.json');
  await download.saveAs(saved);
  out.sbom_components = JSON.parse(fs.readFileSync(saved, 'utf8')).components.length;

  // Search a CVE, follow it to its page, then to the pod that runs it.
  await visit('/vulnerabilities', 'vulnerabilities');
  out.vulnerabilities_total = await number('#vuln-total');
  await page.getByLabel('Search').fill(vuln);
  await Promise.all([page.waitForURL(/q=/), page.getByLabel('Search').press('Enter')]);
  out.search_total = await number('#vuln-total');
  await Promise.all([page.waitForURL(/\/vulnerabilities\/[^?]+$/), page.locator('#vulnerabilities tbody a').first().click()]);
  out.vulnerability = { url: page.url().slice(base.length), open: await number('#vuln-open'), pods: await number('#vuln-pods') };
  if (shots) await page.screenshot({ path: path.join(shots, 'vulnerability.png'), fullPage: true });
  const pod = await text('#workloads a.pod');
  await Promise.all([page.waitForURL(/#pod-/), page.locator('#workloads a.pod').first().click()]);
  await page.waitForSelector('tr.highlight');
  out.followed = {
    url: page.url().slice(base.length),
    pod,
    highlighted: await page.locator('tr.highlight').count(),
    digest_link: await page.locator('tr.highlight a.digest').first().getAttribute('title'),
  };
  if (shots) await page.screenshot({ path: path.join(shots, 'namespace.png'), fullPage: true });

  // Filter by KEV (the checkbox applies itself).
  await page.goto(`${base}/vulnerabilities`);
  await Promise.all([page.waitForURL(/kev=true/), page.getByLabel('KEV only').check()]);
  out.kev_total = await number('#vuln-total');
  out.kev_url = page.url().slice(base.length);

  out.problems = problems;
  await browser.close();
  process.stdout.write(JSON.stringify(out));
})().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
