// The package entry: loads the WebAssembly module once, then exposes the
// SDK. The .wasm file is fetched next to this file; a strict CSP needs
// script-src 'self' 'wasm-unsafe-eval'.
import init, { MynaConsent, MountHandle } from "./myna_consent.js";

await init({ module_or_path: new URL("./myna_consent_bg.wasm", import.meta.url) });

export { MynaConsent, MountHandle };
