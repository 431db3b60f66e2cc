// Loads keyaki's HTML report in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core: no browser download) and checks that it works offline:
//   - no console error, no page error, no request other than the file itself;
//   - attacker-controlled text in the report stayed inert (no injected script ran);
//   - the control, status and severity filters, the search box and the not-applicable toggle
//     change which findings are shown, as computed independently from the report's JSON;
//   - a full-page screenshot.
//
// usage: node report.test.mjs REPORT.html REPORT.json SCREENSHOT.png [--expect-chart]
import { chromium } from "playwright-core";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [htmlPath, jsonPath, screenshotPath, ...flags] = process.argv.slice(2);
if (!htmlPath || !jsonPath || !screenshotPath) {
  console.error("usage: node report.test.mjs REPORT.html REPORT.json SCREENSHOT.png [--expect-chart]");
  process.exit(2);
}
const executablePath = process.env.KEYAKI_CHROMIUM || "/usr/bin/chromium";
if (!existsSync(executablePath)) {
  console.error(`chromium not found at \`${executablePath}\` (install it: apt-get install -y chromium)`);
  process.exit(1);
}

const report = JSON.parse(readFileSync(jsonPath, "utf8"));
const all = report.findings;
const isNa = (f) =>
  f.status === "NOT_AVAILABLE" && ["NOT_APPLICABLE", "EXCLUDED_PERMISSIONS_BOUNDARY"].includes(f.reason.code);
const shownByDefault = all.filter((f) => !isNa(f));

let passed = 0;
let failed = 0;
function check(name, ok, detail) {
  if (ok) {
    passed += 1;
    console.log(`ok - ${name}`);
  } else {
    failed += 1;
    console.log(`not ok - ${name}${detail ? `: ${detail}` : ""}`);
  }
}
function checkEq(name, actual, expected) {
  check(name, actual === expected, `got ${actual}, expected ${expected}`);
}

const profile = mkdtempSync(join(tmpdir(), "keyaki-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  viewport: { width: 1280, height: 900 },
});
const errors = [];
const requests = [];
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(`console: ${msg.text()}`);
  });
  page.on("pageerror", (err) => errors.push(`page error: ${err.message}`));
  page.on("request", (req) => requests.push(req.url()));
  page.on("dialog", (d) => {
    errors.push(`dialog opened: ${d.message()}`);
    d.dismiss();
  });

  const url = pathToFileURL(resolve(htmlPath)).href;
  await page.goto(url, { waitUntil: "load" });

  const visible = () => page.locator("article.finding:visible").count();
  const countText = () => page.locator("#count").textContent();

  check("title names the account", (await page.title()).includes(report.account));
  checkEq(
    "injected script in a Sid or name did not run",
    await page.evaluate(() => typeof window.__pwned),
    "undefined",
  );
  checkEq("every finding is in the page", await page.locator("article.finding").count(), all.length);
  checkEq("not-applicable findings hidden by default", await visible(), shownByDefault.length);
  check("count line says what is shown", (await countText()).startsWith(`${shownByDefault.length} of ${all.length}`));
  checkEq(
    "failed findings come first",
    await page.locator("article.finding").first().getAttribute("data-status"),
    "FAILED",
  );
  checkEq(
    "a score card per control",
    await page.locator(".card[data-control]").count(),
    report.controls.length,
  );
  check("granting part highlighted", (await page.locator("pre mark").count()) > 0);
  check("witness key shown", (await page.locator("code.witness").count()) > 0);
  check("counterexample key shown", (await page.locator("code.counterexample").count()) > 0);
  if (flags.includes("--expect-chart")) {
    check("history chart drawn", (await page.locator("svg.chart polyline").count()) > 0);
  }

  // Status filter.
  await page.selectOption("#f-status", "FAILED");
  const failedCount = shownByDefault.filter((f) => f.status === "FAILED").length;
  checkEq("status filter FAILED", await visible(), failedCount);
  check("status filter narrows the list", failedCount < shownByDefault.length);
  await page.selectOption("#f-status", "");

  // Control filter.
  for (const control of report.controls) {
    await page.selectOption("#f-control", control);
    checkEq(`control filter ${control}`, await visible(), shownByDefault.filter((f) => f.control === control).length);
  }
  await page.selectOption("#f-control", "");

  // Severity filter.
  await page.selectOption("#f-severity", "CRITICAL");
  checkEq("severity filter CRITICAL", await visible(), shownByDefault.filter((f) => f.severity === "CRITICAL").length);
  await page.selectOption("#f-severity", "");

  // Combined filters.
  await page.selectOption("#f-control", "KMS.1");
  await page.selectOption("#f-status", "PASSED");
  checkEq(
    "control and status filters combine",
    await visible(),
    shownByDefault.filter((f) => f.control === "KMS.1" && f.status === "PASSED").length,
  );
  await page.selectOption("#f-control", "");
  await page.selectOption("#f-status", "");

  // Text search over resource names.
  const term = (report.findings.find((f) => f.status === "FAILED" && f.control === "KMS.2")?.resource.name ?? "")
    .toLowerCase()
    .replace(/-\d+$/, "");
  check("search term found", term.length > 0);
  await page.fill("#f-search", term.toUpperCase());
  const termCount = shownByDefault.filter((f) => (f.resource.name ?? "").toLowerCase().includes(term)).length;
  checkEq(`search \`${term}\` (case-insensitive)`, await visible(), termCount);
  check("search narrows the list", termCount > 0 && termCount < shownByDefault.length);
  await page.fill("#f-search", "no-such-resource-anywhere");
  checkEq("search with no match shows nothing", await visible(), 0);
  check("empty-state message shown", await page.locator("#empty").isVisible());
  await page.fill("#f-search", "");

  // Not-applicable toggle.
  await page.check("#f-na");
  checkEq("toggle shows not-applicable findings", await visible(), all.length);
  await page.uncheck("#f-na");
  checkEq("toggle hides them again", await visible(), shownByDefault.length);

  // Clicking a score card filters by its control.
  await page.locator(".card[data-control='KMS.3']").click();
  checkEq("score card filters by control", await visible(), shownByDefault.filter((f) => f.control === "KMS.3").length);
  await page.locator(".card[data-control='KMS.3']").click();
  checkEq("second click clears the filter", await visible(), shownByDefault.length);

  await page.screenshot({ path: screenshotPath.replace(/\.png$/, "-full.png"), fullPage: true });
  await page.screenshot({ path: screenshotPath });
  check("screenshot written", existsSync(screenshotPath));
  checkEq(
    "injected script still inert after interaction",
    await page.evaluate(() => typeof window.__pwned),
    "undefined",
  );
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}

checkEq("no console or page errors", errors.join("\n"), "");
const external = requests.filter((u) => !u.startsWith("file:"));
checkEq("no network request", external.join(" "), "");

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
