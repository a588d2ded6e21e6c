// The captcha widget of the booking calendar (ALTCHA, vendored in /static/vendor/altcha/ with its
// licence). The "external" build is used: it injects no <style> and builds no inline workers, so
// the strict Content-Security-Policy holds; its styles come from altcha.css and its proof-of-work
// worker from a file, registered here. Loaded as a module after the widget and its German texts.
// Without JavaScript none of this runs: the slot forms then ask a question instead (see captcha.py).
const pbkdf2Worker = new URL("../vendor/altcha/workers/pbkdf2.js", import.meta.url);

globalThis.$altcha.algorithms.set("PBKDF2/SHA-256", () => new Worker(pbkdf2Worker));
// The portal links to no third party, not even to the widget's maker.
globalThis.$altcha.defaults.set({ hideFooter: true, hideLogo: true });
