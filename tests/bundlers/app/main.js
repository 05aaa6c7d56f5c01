// An operator's page, as a bundler builds it: the SDK's entry is bundled,
// and its consent module and WebAssembly load only when the screen mounts.
import { MynaConsent } from "myna-consent";
import { AUTHORIZATION_URL, defined, request } from "./request.js";

// Synchronous, before anything of the SDK loads: the page must never wait
// for the WebAssembly (the test holds it back and checks this first).
document.body.dataset.host = "painted";

// No top-level await: Vite 6's default target (es2020) does not allow it.
// ?locale=en: the same page in English, whose text the SDK imports on demand.
// ?agree: a request defined on the backend, whose 同意 runs the agreement's
// own module (split_agree.wasm) as the bundler emitted it. The backend is a
// stand-in given as the `fetch` option, and leaving for Mynaportal is noted
// on the page instead.
const params = new URLSearchParams(location.search);
const locale = params.get("locale") ?? "ja";
const agreeing = params.has("agree");
// The SDK hands `fetch` a Request, as the browser's fetch takes one.
const backend = async (request) => {
  const path = new URL(request.url).pathname;
  if (path === "/myna/requests/loan") return Response.json(defined);
  if (path === "/myna/authorizations" && request.method === "POST") {
    return Response.json({ authorizationUrl: AUTHORIZATION_URL, state: "bundled-app", issuer: "https://mynaportal.example" });
  }
  return Response.json({ title: "Not Found" }, { status: 404 });
};
const navigate = (url) => { document.body.dataset.left = url; };
MynaConsent.create({ backend: "/myna", locale, ...(agreeing ? { fetch: backend, navigate } : {}) })
  .then((sdk) => {
    // Errors surface on the console, where the test looks for them.
    sdk.on("error", (detail) => console.error(`myna-consent error: ${detail.code}: ${detail.message}`));
    sdk.mountConsent("#app", agreeing ? { request: "loan" } : { draft: request });
  })
  .catch((error) => console.error(`myna-consent: ${error.code}: ${error.message}`));
