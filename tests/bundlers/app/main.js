// An operator's page, as a bundler builds it: the SDK's entry is bundled,
// and its consent module and WebAssembly load only when the screen mounts.
import { MynaConsent } from "myna-consent";
import { request } from "./request.js";

// Synchronous, before anything of the SDK loads: the page must never wait
// for the WebAssembly (the test holds it back and checks this first).
document.body.dataset.host = "painted";

// No top-level await: Vite 6's default target (es2020) does not allow it.
// ?locale=en: the same page in English, whose text the SDK imports on demand.
const locale = new URLSearchParams(location.search).get("locale") ?? "ja";
MynaConsent.create({ backend: "/myna", locale })
  .then((sdk) => {
    // Errors surface on the console, where the test looks for them.
    sdk.on("error", (detail) => console.error(`myna-consent error: ${detail.code}: ${detail.message}`));
    sdk.mountConsent("#app", { draft: request });
  })
  .catch((error) => console.error(`myna-consent: ${error.code}: ${error.message}`));
