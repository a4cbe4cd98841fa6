// Debian's Chromium driven by playwright-core, headless, in a fresh profile per launch.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { chromiumBin } from './env.mjs';

export const chromiumArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

// Resolves { context, page, profile, close() }; close() ends Chromium and removes the
// profile. A missing Chromium is an error, never a skipped test.
export async function launchBrowser({ timeoutMs = 10000 } = {}) {
  if (!fs.existsSync(chromiumBin)) {
    throw new Error(`Chromium not found at ${chromiumBin}: install the Debian package "chromium" (scripts/deps does)`);
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'authgate-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumBin, headless: true, args: chromiumArgs, timeout: 30000,
    });
  } catch (e) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw new Error(`Chromium (${chromiumBin}) did not start: ${e.message}`);
  }
  context.setDefaultTimeout(timeoutMs);
  const page = context.pages()[0] ?? await context.newPage();
  return {
    context, page, profile,
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
