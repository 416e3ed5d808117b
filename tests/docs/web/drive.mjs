// Drive examples/web in headless Chromium, as a person would: load it, load it again (the service worker now
// keeps every file), go offline, load it once more, type each review, read the label and score it shows.
//   node drive.mjs URL CHROMIUM SCREENSHOT.png '["review", ...]'
// Prints one JSON object per review: {"label": ..., "score": ..., "shown": ...}.
import puppeteer from 'puppeteer-core';

const [url, executablePath, screenshot, reviewsJson] = process.argv.slice(2);
const reviews = JSON.parse(reviewsJson);
const browser = await puppeteer.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 900, height: 520 });
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
  const ready = () => page.waitForSelector('body[data-ready="true"]', { timeout: 60000 });
  await page.goto(url);
  await ready();
  await page.reload();
  await ready();
  await page.setOfflineMode(true);
  await page.reload();
  await ready();
  for (const [index, review] of reviews.entries()) {
    await page.$eval('#review', (element) => { element.value = ''; });
    await page.type('#review', review);
    await page.waitForFunction(
      (text) => document.getElementById('review').dataset.classified === text, { timeout: 30000 }, review,
    );
    const shown = await page.$eval('#label', (element) => element.textContent);
    const score = await page.$eval('#score', (element) => Number(element.dataset.value));
    const time = await page.$eval('#time', (element) => element.textContent);
    console.log(JSON.stringify({ label: shown, score, time }));
    if (index === 0) await page.screenshot({ path: screenshot });
  }
} finally {
  await browser.close();
}
