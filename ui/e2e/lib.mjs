// What the browser tests share: reading their settings from the environment, counting checks,
// and finding elements by `data-testid`.

/** An environment variable; a required one missing ends the run with code 2. */
export function envReader(what) {
  return (name, required = true) => {
    const v = process.env[name];
    if (required && !v) {
      console.error(`${what}: set ${name}`);
      process.exit(2);
    }
    return v ?? "";
  };
}

let passed = 0;

/** One check: numbered and printed when it holds, the run's error when it does not. */
export function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
  passed++;
  console.log(`  ok ${passed}: ${what}`);
}

export const checksPassed = () => passed;

export const tid = (id) => `[data-testid="${id}"]`;

/** Debian's Chromium as the browser tests run it: headless, WebGL without a GPU (SwiftShader) so
 * that maps really draw, `DOORSTEP_E2E_CHROMIUM_ARGS` for debugging (e.g. --disable-webgl), and
 * a test's own `extra` flags. */
export function launchChromium(chromium, executablePath, extra = []) {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--use-angle=swiftshader",
      "--enable-unsafe-swiftshader",
      ...extra,
      ...(process.env.DOORSTEP_E2E_CHROMIUM_ARGS || "").split(/\s+/).filter(Boolean),
    ],
  });
}
