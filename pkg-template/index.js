// The package entry. Importing it has no side effects: no network, no
// WebAssembly, no DOM access, so it is safe in Node, in SSR and in test
// runners. The WebAssembly is fetched and compiled on first use, or earlier
// with load(). It is two modules, so that a page loads only what it shows:
//   consent: the consent screen and validate();
//   account: the return page, the review screen, revocation and retrieval,
//     and catalogue(), which authoring tools call and consent pages do not.
// A strict CSP needs script-src 'self' 'wasm-unsafe-eval'; without it the
// screens report a `wasm_blocked` error and the rest of the page runs on.

const EVENTS = ["granted", "denied", "revoked", "renew", "error"];
const OPTIONS = ["backend", "locale", "navigate", "userToken", "fetch", "prefetch"];
const LOCALES = ["ja", "en"];
const PARTS = ["consent", "account"];

/**
 * An error from the SDK: a stable `code`, a `message` for developers (in
 * English), the `field` it concerns, and, where a citizen was shown words
 * for it, those words as `citizenMessage`.
 */
export class MynaConsentError extends Error {
  constructor(code, message, field, citizenMessage) {
    super(message);
    this.name = "MynaConsentError";
    this.code = code;
    if (field !== undefined) this.field = field;
    if (citizenMessage !== undefined) this.citizenMessage = citizenMessage;
  }
}

/** Errors from the WebAssembly carry `code` already; anything else becomes `internal`. */
function asMynaError(error) {
  if (error instanceof MynaConsentError) return error;
  const code = typeof error?.code === "string" ? error.code : "internal";
  const converted = new MynaConsentError(code, String(error?.message ?? error), error?.field, error?.citizenMessage);
  if (error instanceof Error) converted.cause = error;
  return converted;
}

const loading = new Map();

/**
 * Fetches and compiles one part of the SDK ("consent" by default, or
 * "account") once; later calls share the same promise. Rejects with a
 * MynaConsentError: `wasm_blocked` when the page's Content-Security-Policy
 * forbids WebAssembly, `load_failed` when the files cannot be fetched (a
 * later call tries again).
 */
export function load(part = "consent") {
  if (!PARTS.includes(part)) {
    return Promise.reject(new MynaConsentError("invalid_options", `load() takes "consent" or "account", not ${JSON.stringify(part)}.`, "part"));
  }
  let promise = loading.get(part);
  if (!promise) {
    promise = instantiate(part);
    loading.set(part, promise);
    promise.catch(() => loading.delete(part));
  }
  return promise.then(() => undefined);
}

/**
 * The part's bindings, once its module is compiled and, for English, once
 * it holds the English text: the modules carry only the Japanese, and en.js
 * comes on demand, so a page in Japanese never downloads it.
 */
async function bindings(part, locale) {
  // Both at once: the English text does not wait for the module.
  const text = isEnglish(locale) ? english() : null;
  // Handled below, after the module; meanwhile no unhandled rejection.
  text?.catch(() => {});
  await load(part);
  const glue = await loading.get(part);
  if (text) glue.MynaConsent.useEnglish(await text);
  return glue;
}

let englishText;

/** en.js's table, imported once; a failure rejects with `load_failed`. */
function english() {
  if (!englishText) {
    // The chunk name keeps the file recognisable after webpack renames it.
    englishText = import(/* webpackChunkName: "myna-consent-en" */ "./en.js").then(
      (module) => module.default,
      (cause) => {
        const error = new MynaConsentError("load_failed", `The SDK's English text (en.js) could not be loaded: ${String(cause?.message ?? cause)}`);
        error.cause = cause;
        // As for a module: a failed import stays failed until the page reloads.
        error.reload = true;
        throw error;
      },
    );
  }
  return englishText;
}

/** "en", "en-US", "EN_gb": as the modules read a locale code. */
function isEnglish(locale) {
  return typeof locale === "string" && locale.split(/[-_]/)[0].toLowerCase() === "en";
}

async function instantiate(part) {
  // Without WebAssembly at all (a hardened browser, iOS Lockdown Mode)
  // nothing can load; say so before trying.
  if (typeof WebAssembly === "undefined") {
    throw new MynaConsentError("wasm_unavailable", "This browser does not run WebAssembly (it is switched off or missing).");
  }
  // Literal specifiers: what bundlers (Vite, webpack, esbuild) recognise.
  let glue;
  let source;
  try {
    glue = await (part === "consent" ? import("./consent.js") : import("./account.js"));
    source = wasmUrl(part);
  } catch (cause) {
    // A failed script import stays failed in some browsers' module maps:
    // only a reload of the page tries again.
    const error = loadError(part, cause);
    error.reload = true;
    throw error;
  }
  try {
    await glue.default({ module_or_path: await wasmSource(source) });
  } catch (cause) {
    throw loadError(part, cause);
  }
  return glue;
}

/** A module's URL, as `new URL(..., import.meta.url)`, which bundlers recognise to emit the file beside the app. */
function wasmUrl(part) {
  return part === "consent" ? new URL("./consent_bg.wasm", import.meta.url) : new URL("./account_bg.wasm", import.meta.url);
}

/** The SDKs on this page, not destroyed, whose consent screens may prefetch. */
const prefetching = new Set();
let prefetched = false;

/**
 * Puts the account module, which the return page loads, into the HTTP
 * cache while the citizen reads the consent screen: on a slow phone the
 * return page after Mynaportal then shows about a second sooner (the
 * module is most of what it downloads). Run once the agreement's module
 * has arrived, so only for a screen a citizen can agree to, and after
 * what the screen itself needs. Once per page, while an SDK that allows
 * it lives; not when the browser asks to save data. Only the .wasm, by
 * fetch: an import of account.js that failed would stay failed in some
 * browsers' module maps, and break a later screen of this page. A
 * failure is silent: the return page fetches the module.
 */
function prefetchAccount() {
  if (prefetched || prefetching.size === 0 || globalThis.navigator?.connection?.saveData === true) return;
  prefetched = true;
  fetch(wasmUrl("account"), { priority: "low" })
    .then((response) => response.arrayBuffer())
    .catch(() => {});
}

/**
 * Browsers fetch the URL the bundler emitted. Node (SSR, build scripts,
 * test runners) reads the file: from a file: URL, or, when Vite or Vitest
 * rewrote it to its dev server's /@fs/ path, from that path on disk.
 */
async function wasmSource(source) {
  if (typeof globalThis.process?.versions?.node !== "string") return source;
  if (source.protocol === "file:") return readFile(source);
  if (source.pathname.startsWith("/@fs/")) return readFile(decodeURIComponent(source.pathname.slice(4)));
  return source;
}

async function readFile(url) {
  // Kept out of bundlers' sight: only Node reaches this line.
  const specifier = "node:fs/promises";
  const fs = await import(/* webpackIgnore: true */ /* @vite-ignore */ specifier);
  return fs.readFile(url);
}

/**
 * Whether the page's CSP forbids compiling WebAssembly. Each browser words
 * the refusal differently (Chrome and Firefox throw CompileError, Safari
 * EvalError), so ask the browser directly: compile the smallest module.
 */
function wasmForbidden() {
  try {
    new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
    return false;
  } catch {
    return true;
  }
}

/**
 * A module's `load_failed` is a split module (the agreement's) that did not
 * load: its message gets the loader's reason, a URL and HTTP status or a
 * file of another build, which was otherwise only in the console.
 */
function explained(glue, detail) {
  const reason = detail?.code === "load_failed" && glue.splitFailure?.();
  return reason ? { ...detail, message: `${detail.message} (${reason})` } : detail;
}

function loadError(part, cause) {
  if (cause instanceof MynaConsentError) return cause;
  const text = String(cause?.message ?? cause);
  const error = wasmForbidden()
    ? new MynaConsentError(
        "wasm_blocked",
        `The page's Content-Security-Policy does not allow WebAssembly: add 'wasm-unsafe-eval' to script-src. (${text})`,
      )
    : new MynaConsentError("load_failed", `The SDK's ${part} module could not be loaded: ${text}`);
  // Every engine names the wasm magic number when the bytes are not wasm.
  if (/magic/i.test(text)) {
    error.message += " (not WebAssembly: a page at its URL? A wrong path, a dev server's fallback.)";
  }
  error.cause = cause;
  return error;
}

function checkOptions(options) {
  if (options === null || typeof options !== "object") {
    throw new MynaConsentError("invalid_options", "MynaConsent.create() needs an options object.", "options");
  }
  const { backend, locale, navigate, userToken, fetch, prefetch } = options;
  // A path on this origin: "//host" and "/\\host" would leave it (browsers
  // read a backslash as a slash), taking the sign-in token along.
  // Nor may it hold a tab, a line break or another control character,
  // which URL parsing drops: "/\t/host" is "//host".
  if (typeof backend !== "string" || !backend.startsWith("/") || /^\/[\/\\]/.test(backend) || backend.includes("\\")
    || /[\u0000-\u001f\u007f]/.test(backend)) {
    throw new MynaConsentError("invalid_options", 'options.backend must be a path on this origin, such as "/myna".', "backend");
  }
  if (locale !== undefined && !LOCALES.includes(locale)) {
    throw new MynaConsentError("unknown_locale", `Unsupported locale ${JSON.stringify(locale)}; use "ja" or "en".`, "locale");
  }
  if (navigate !== undefined && navigate !== null && typeof navigate !== "function") {
    throw new MynaConsentError("invalid_options", "options.navigate must be a function that takes the URL to leave for.", "navigate");
  }
  if (userToken !== undefined && userToken !== null && typeof userToken !== "function") {
    throw new MynaConsentError(
      "invalid_options",
      "options.userToken must be a function that returns (or resolves to) the operator's sign-in token.",
      "userToken",
    );
  }
  if (fetch !== undefined && fetch !== null && typeof fetch !== "function") {
    throw new MynaConsentError("invalid_options", "options.fetch must be a function with the signature of the browser's fetch.", "fetch");
  }
  if (prefetch !== undefined && prefetch !== null && typeof prefetch !== "boolean") {
    throw new MynaConsentError("invalid_options", "options.prefetch must be true or false.", "prefetch");
  }
  for (const key of Object.keys(options)) {
    if (!OPTIONS.includes(key)) {
      console.warn(`myna-consent: unknown option "${key}" is ignored; the options are ${OPTIONS.join(", ")}.`);
    }
  }
  return {
    backend,
    locale: locale ?? "ja",
    navigate: navigate ?? undefined,
    userToken: userToken ?? undefined,
    fetch: fetch ?? undefined,
    prefetch: prefetch ?? true,
  };
}

/**
 * The call the consent module makes for a request defined on the backend
 * (`Backend::request` in src/backend.rs), made by the entry while the
 * module downloads: GET {backend}/requests/{id}?locale=…, with
 * `Accept: application/json` and the sign-in token, through
 * `options.fetch` or the page's `fetch`. Resolves with the Response, or
 * with "sign_in" when the token could not be had; rejects when the call
 * could not be made. The module reads the outcome as it reads its own
 * calls', so errors are reported the same way, once.
 */
function requestEarly({ backend, locale, userToken, fetch: send }, reference) {
  // Without WebAssembly nothing will read it.
  if (typeof location === "undefined" || typeof Request === "undefined" || typeof WebAssembly === "undefined") return undefined;
  const early = (async () => {
    const headers = new Headers({ Accept: "application/json" });
    if (userToken) {
      try {
        const token = await userToken.call(null);
        if (typeof token !== "string" || token === "") return "sign_in";
        // Throws for a token that is no header value (a line break).
        headers.set("Authorization", `Bearer ${token}`);
      } catch {
        return "sign_in";
      }
    }
    const path = `${backend.replace(/\/+$/, "")}/requests/${encodeURIComponent(reference)}?locale=${locale}`;
    // As the module does: absolute where the page's address allows it, as
    // given where it does not (an about:srcdoc frame).
    let url = path;
    try {
      url = new URL(path, location.href).href;
    } catch {}
    return (send ?? globalThis.fetch).call(null, new Request(url, { method: "GET", headers }));
  })();
  // Read by the module once it loads; never read if it does not load.
  early.catch(() => {});
  return early;
}

function resolveTarget(target) {
  const element = typeof target === "string" && typeof document !== "undefined" ? document.querySelector(target) : target;
  if (typeof Element === "undefined" || !(element instanceof Element)) {
    throw new MynaConsentError("invalid_target", "The target must be an element, or a CSS selector that finds one.", "target");
  }
  return element;
}

function checkMountConsent(options) {
  const request = options?.request;
  const draft = options?.draft;
  const renews = options?.renews;
  if (renews !== undefined && renews !== null && (typeof renews !== "string" || renews === "")) {
    throw new MynaConsentError("invalid_options", "mountConsent()'s renews must be the id of the consent being renewed.", "renews");
  }
  const byReference = typeof request === "string" && request !== "" && (draft === undefined || draft === null);
  const byDraft = request === undefined && draft !== undefined && draft !== null;
  if (!byReference && !byDraft) {
    throw new MynaConsentError(
      "invalid_options",
      'mountConsent() takes { request: "<id or token>" } for a request defined on the backend, or { draft: request } to preview a draft.',
      "request",
    );
  }
}

// What the citizen reads while a screen loads, or when it cannot: plain
// text nodes in the operator's element, styled by the operator's page.
const NOTICES = {
  ja: {
    loading: "画面を読み込んでいます…",
    load_failed: "画面を読み込めませんでした。通信の状態をご確認のうえ、もう一度お試しください。",
    wasm_blocked: "この画面を表示できませんでした。お手数ですが、サービスの提供者にお問い合わせください。",
    wasm_unavailable: "お使いのブラウザーの設定では、この画面を表示できません。別のブラウザーでお試しいただくか、サービスの提供者にお問い合わせください。",
    retry: "もう一度読み込む",
  },
  en: {
    loading: "Loading…",
    load_failed: "The screen could not be loaded. Please check your connection and try again.",
    wasm_blocked: "This screen cannot be shown. Please contact the service provider.",
    wasm_unavailable: "This screen cannot be shown with your browser's settings. Please try another browser, or contact the service provider.",
    retry: "Load again",
  },
};

const LOAD_ERRORS = ["load_failed", "wasm_blocked", "wasm_unavailable"];

/** The screen (or notice) in each element, so that a second one replaces the first. */
const screens = new WeakMap();

// A handle's inner workings, out of the public surface.
const ATTACH = Symbol("attach");
const NOTIFY = Symbol("notify");
const CLOSED = Symbol("closed");

/** A mounted screen. */
export class MountHandle {
  #inner = null;
  #notice = null;
  #closed = false;
  #onClose;

  constructor(onClose) {
    this.#onClose = onClose;
  }

  /** Removes the screen and everything it added. Calling it twice does nothing more. */
  unmount() {
    if (this.#closed) return;
    this.#closed = true;
    this.#showNotice(null);
    const inner = this.#inner;
    this.#inner = null;
    try {
      inner?.unmount();
      inner?.free?.();
    } finally {
      this.#onClose(this);
    }
  }

  get [CLOSED]() {
    return this.#closed;
  }

  [ATTACH](inner) {
    this.#showNotice(null);
    this.#inner = inner;
  }

  [NOTIFY](host, node) {
    host.append(node);
    this.#showNotice(node);
  }

  #showNotice(node) {
    this.#notice?.remove();
    this.#notice = node;
  }
}

/** The SDK for one operator backend. */
export class MynaConsent {
  #options;
  #listeners = new Map(EVENTS.map((name) => [name, []]));
  #cores = new Map();
  /** The parts' SDK instances once loaded, so that destroy() reaches them at once. */
  #ready = new Map();
  #handles = new Set();
  #destroyed = false;
  /** Whether the consent screen puts the account module into the HTTP cache (prefetchAccount). */
  #prefetch;

  constructor(options) {
    const { prefetch, ...rest } = checkOptions(options);
    this.#options = rest;
    this.#prefetch = prefetch;
  }

  /** Creates the SDK. Rejects with a MynaConsentError for bad options. Loads nothing yet. */
  static async create(options) {
    return new MynaConsent(options);
  }

  /**
   * The catalogue of APIs and data items; rejects with `unknown_locale`.
   * Works in Node. It is in the account module, so that a consent page's
   * module does not carry it.
   */
  static async catalogue(locale) {
    const glue = await bindings("account", locale);
    try {
      return glue.MynaConsent.catalogue(locale);
    } catch (error) {
      throw asMynaError(error);
    }
  }

  /** Checks a request against every rule, reporting every problem at once. Works in Node. */
  static async validate(request, locale) {
    // Its messages are compiled into the module in both languages: no en.js.
    const glue = await bindings("consent");
    try {
      return glue.MynaConsent.validate(request, locale);
    } catch (error) {
      throw asMynaError(error);
    }
  }

  /** The screens' language. */
  get locale() {
    return this.#options.locale;
  }

  /** Shows the consent screen of a request defined on the backend, or a draft as a preview. */
  mountConsent(target, options) {
    this.#alive();
    const host = resolveTarget(target);
    checkMountConsent(options);
    // What was asked for now: the caller may change its object later.
    const { request, draft, renews } = options;
    // The request is asked for now, while the module downloads, not after:
    // on a slow network that is a round trip less before the screen. Only
    // the first attempt reads it; after a failed load, the module asks
    // again itself.
    let early;
    const handle = this.#mount("consent", host, (core, first) => {
      const answer = first ? early : undefined;
      early = undefined;
      return core.mountConsent(host, answer ? { request, renews, answer } : { request, draft, renews });
    });
    if (typeof request === "string" && !this.#ready.has("consent")) {
      // After the caller's own synchronous work: a screen unmounted at
      // once (React's StrictMode mounts, unmounts and mounts again) asks
      // for nothing.
      queueMicrotask(() => {
        if (!handle[CLOSED]) early = requestEarly(this.#options, request);
      });
    }
    return handle;
  }

  /** Shows the review screen, with revocation. */
  mountReview(target) {
    this.#alive();
    const host = resolveTarget(target);
    return this.#mount("account", host, (core) => core.mountReview(host));
  }

  /** On the redirect page: checks the callback, completes at the backend, resolves with the consent. */
  async completeAuthorization(url, options) {
    const target = options?.target;
    const host = target === undefined || target === null ? null : resolveTarget(target);
    // While the module loads, the target says so; a failure replaces that
    // with a notice; the outcome screen replaces both.
    const placeholder = host ? this.#placeholder(host) : null;
    let core;
    try {
      core = await this.#core("account");
    } catch (error) {
      if (placeholder && !placeholder[CLOSED]) placeholder[NOTIFY](host, this.#failureNotice(host, error, null));
      throw error;
    }
    placeholder?.unmount();
    try {
      return await core.completeAuthorization(url, options);
    } catch (error) {
      throw asMynaError(error);
    }
  }

  /** Revokes a consent at once; resolves with the receipt document. */
  async revoke(consentId) {
    const core = await this.#core("account");
    try {
      return await core.revoke(consentId);
    } catch (error) {
      throw asMynaError(error);
    }
  }

  /** Retrieves a consent's data now; resolves when Mynaportal answered. */
  async retrieve(consentId) {
    const core = await this.#core("account");
    try {
      return await core.retrieve(consentId);
    } catch (error) {
      throw asMynaError(error);
    }
  }

  /** Adds a listener for `granted`, `denied`, `revoked`, `renew` or `error`. Adding it twice calls it twice. */
  on(event, listener) {
    this.#listenersOf(event, listener).push(listener);
  }

  /** Removes a listener added with on(), however many times it was added. */
  off(event, listener) {
    const list = this.#listenersOf(event, listener);
    for (let at = list.indexOf(listener); at >= 0; at = list.indexOf(listener)) list.splice(at, 1);
  }

  /** Removes every screen and every listener; the SDK does nothing more. */
  destroy() {
    this.#destroyed = true;
    prefetching.delete(this);
    for (const list of this.#listeners.values()) list.length = 0;
    for (const handle of [...this.#handles]) {
      try {
        handle.unmount();
      } catch (error) {
        console.error(error);
      }
    }
    // A loaded part's screens (the return screen) go now; a part still
    // loading is destroyed as soon as it is there.
    const destroy = (inner) => {
      try {
        inner.destroy();
      } catch (error) {
        console.error(error);
      }
    };
    for (const inner of this.#ready.values()) destroy(inner);
    for (const core of this.#cores.values()) core.then(destroy, () => {});
    this.#ready.clear();
    this.#cores.clear();
  }

  #listenersOf(event, listener) {
    const list = this.#listeners.get(event);
    if (!list) {
      throw new MynaConsentError("unknown_event", `Unknown event ${JSON.stringify(event)}; use ${EVENTS.join(", ")}.`, "event");
    }
    if (typeof listener !== "function") {
      throw new MynaConsentError("invalid_options", "A listener must be a function.", "listener");
    }
    return list;
  }

  #emit(event, detail) {
    if (this.#destroyed) return;
    // A copy: a listener may call on() or off(). A listener that throws
    // must not break the flow.
    for (const listener of [...this.#listeners.get(event)]) {
      try {
        listener(detail);
      } catch (error) {
        console.error(error);
      }
    }
  }

  #alive() {
    if (this.#destroyed) {
      throw new MynaConsentError("destroyed", "This MynaConsent was destroyed; create a new one.");
    }
  }

  /** The part's SDK instance, forwarding its events here. A failed load fires `error` (once) and rejects. */
  async #core(part) {
    this.#alive();
    let core = this.#cores.get(part);
    if (!core) {
      core = bindings(part, this.locale).then(async (glue) => {
        const inner = await glue.MynaConsent.create(this.#options);
        if (part === "consent") {
          if (this.#prefetch && !this.#destroyed) prefetching.add(this);
          glue.afterSplitModule?.(prefetchAccount);
        }
        for (const name of EVENTS) inner.on(name, (detail) => this.#emit(name, explained(glue, detail)));
        if (!this.#destroyed) this.#ready.set(part, inner);
        return inner;
      });
      this.#cores.set(part, core);
      core.catch(() => {
        if (this.#cores.get(part) === core) this.#cores.delete(part);
      });
    }
    try {
      return await core;
    } catch (cause) {
      const error = asMynaError(cause);
      const detail = { code: error.code, message: error.message };
      // What the widget's notice tells the citizen (#failureNotice).
      if (LOAD_ERRORS.includes(error.code)) detail.citizenMessage = NOTICES[this.locale][error.code];
      this.#emit("error", detail);
      throw error;
    }
  }

  /** A handle that owns `host`'s content for now: the loading notice. */
  #placeholder(host) {
    this.#alive();
    screens.get(host)?.unmount();
    const handle = new MountHandle((closed) => {
      this.#handles.delete(closed);
      if (screens.get(host) === closed) screens.delete(host);
    });
    screens.set(host, handle);
    this.#handles.add(handle);
    handle[NOTIFY](host, this.#loadingNotice(host));
    return handle;
  }

  /** 画面を読み込んでいます…, while a module loads. */
  #loadingNotice(host) {
    const text = host.ownerDocument.createElement("p");
    text.setAttribute("role", "status");
    text.setAttribute("data-myna-consent-loading", "");
    text.textContent = NOTICES[this.locale].loading;
    return text;
  }

  #mount(part, host, mount) {
    const handle = this.#placeholder(host);
    let attempts = 0;
    const start = () => {
      const first = ++attempts === 1;
      this.#core(part)
        .then((core) => {
          if (!handle[CLOSED]) handle[ATTACH](mount(core, first));
        })
        .catch((cause) => {
          if (handle[CLOSED]) return;
          const error = asMynaError(cause);
          if (LOAD_ERRORS.includes(error.code)) {
            // #core reported it already.
            handle[NOTIFY](host, this.#failureNotice(host, error, error.reload ? () => location.reload() : retry));
          } else {
            handle[ATTACH](null);
            const detail = { code: error.code, message: error.message, field: error.field };
            if (error.citizenMessage !== undefined) detail.citizenMessage = error.citizenMessage;
            this.#emit("error", detail);
          }
        });
    };
    const retry = () => {
      if (handle[CLOSED]) return;
      handle[NOTIFY](host, this.#loadingNotice(host));
      start();
    };
    start();
    return handle;
  }

  /** What happened, for the citizen, and a way to try again when that can help. */
  #failureNotice(host, error, retry) {
    const words = NOTICES[this.locale];
    const document = host.ownerDocument;
    const box = document.createElement("div");
    box.setAttribute("role", "alert");
    box.setAttribute("data-myna-consent-error", error.code);
    const text = document.createElement("p");
    text.textContent = words[error.code] ?? words.load_failed;
    box.append(text);
    if (retry && error.code === "load_failed") {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = words.retry;
      button.addEventListener("click", retry);
      box.append(button);
    }
    return box;
  }
}
