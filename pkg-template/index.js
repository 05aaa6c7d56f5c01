// The package entry. Importing it has no side effects: no network, no
// WebAssembly, no DOM access, so it is safe in Node, in SSR and in test
// runners. The WebAssembly is fetched and compiled on first use, or earlier
// with load(). It is two modules, so that a page loads only what it shows:
//   consent: the consent screen, validate() and catalogue();
//   account: the return page, the review screen, revocation and retrieval.
// A strict CSP needs script-src 'self' 'wasm-unsafe-eval'; without it the
// screens report a `wasm_blocked` error and the rest of the page runs on.

const EVENTS = ["granted", "denied", "revoked", "renew", "error"];
const OPTIONS = ["backend", "locale", "navigate", "userToken"];
const LOCALES = ["ja", "en"];
const PARTS = ["consent", "account"];

/** An error from the SDK: a stable `code`, a message for developers, and the field it concerns. */
export class MynaConsentError extends Error {
  constructor(code, message, field) {
    super(message);
    this.name = "MynaConsentError";
    this.code = code;
    if (field !== undefined) this.field = field;
  }
}

/** Errors from the WebAssembly carry `code` already; anything else becomes `internal`. */
function asMynaError(error) {
  if (error instanceof MynaConsentError) return error;
  const code = typeof error?.code === "string" ? error.code : "internal";
  const converted = new MynaConsentError(code, String(error?.message ?? error), error?.field);
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

/** The part's bindings, once its module is compiled. */
function bindings(part) {
  return load(part).then(() => loading.get(part));
}

async function instantiate(part) {
  // Literal specifiers and `new URL(..., import.meta.url)`: what bundlers
  // (Vite, webpack, esbuild) recognise to emit the files beside the app.
  let glue;
  let source;
  try {
    if (part === "consent") {
      glue = await import("./consent.js");
      source = new URL("./consent_bg.wasm", import.meta.url);
    } else {
      glue = await import("./account.js");
      source = new URL("./account_bg.wasm", import.meta.url);
    }
  } catch (cause) {
    throw loadError(part, cause);
  }
  try {
    // Node and Node-based test runners read the file beside this one. The
    // name is built, not literal, so that no bundler rewrites it: Vitest
    // turns the literal URL above into a dev-server address that jsdom
    // cannot reach. Browsers fetch the URL the bundler emitted (webpack
    // also writes a file: URL for import.meta.url, hence the Node check).
    const here = import.meta.url;
    const node = typeof globalThis.process?.versions?.node === "string";
    const module_or_path = node && here.startsWith("file:")
      ? await readFile(new URL("./" + part + "_bg.wasm", here))
      : source;
    await glue.default({ module_or_path });
  } catch (cause) {
    throw loadError(part, cause);
  }
  return glue;
}

async function readFile(url) {
  // Kept out of bundlers' sight: only Node reaches this line.
  const specifier = "node:fs/promises";
  const fs = await import(/* webpackIgnore: true */ /* @vite-ignore */ specifier);
  return fs.readFile(url);
}

function loadError(part, cause) {
  const text = String(cause?.message ?? cause);
  const blocked = cause instanceof WebAssembly.CompileError && /Content.Security.Policy|unsafe-eval|wasm-eval/i.test(text);
  const error = blocked
    ? new MynaConsentError(
        "wasm_blocked",
        `The page's Content-Security-Policy does not allow WebAssembly: add 'wasm-unsafe-eval' to script-src. (${text})`,
      )
    : new MynaConsentError("load_failed", `The SDK's ${part} module could not be loaded: ${text}`);
  error.cause = cause;
  return error;
}

function checkOptions(options) {
  if (options === null || typeof options !== "object") {
    throw new MynaConsentError("invalid_options", "MynaConsent.create() needs an options object.", "options");
  }
  const { backend, locale, navigate, userToken } = options;
  if (typeof backend !== "string" || !backend.startsWith("/") || backend.startsWith("//")) {
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
  for (const key of Object.keys(options)) {
    if (!OPTIONS.includes(key)) {
      console.warn(`myna-consent: unknown option "${key}" is ignored; the options are ${OPTIONS.join(", ")}.`);
    }
  }
  return { backend, locale: locale ?? "ja", navigate: navigate ?? undefined, userToken: userToken ?? undefined };
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
    retry: "もう一度読み込む",
  },
  en: {
    loading: "Loading…",
    load_failed: "The screen could not be loaded. Please check your connection and try again.",
    wasm_blocked: "This screen cannot be shown. Please contact the service provider.",
    retry: "Load again",
  },
};

/** The screen in each element, so that a second mount replaces the first. */
const screens = new WeakMap();

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
    this.#inner?.unmount();
    this.#inner?.free?.();
    this.#inner = null;
    this.#onClose(this);
  }

  get closed() {
    return this.#closed;
  }

  attach(inner) {
    this.#showNotice(null);
    this.#inner = inner;
  }

  #showNotice(node) {
    this.#notice?.remove();
    this.#notice = node;
  }

  notify(host, build) {
    const node = build(host.ownerDocument);
    host.append(node);
    this.#showNotice(node);
  }
}

/** The SDK for one operator backend. */
export class MynaConsent {
  #options;
  #listeners = new Map(EVENTS.map((name) => [name, []]));
  #cores = new Map();
  #handles = new Set();
  #destroyed = false;

  constructor(options) {
    this.#options = checkOptions(options);
  }

  /** Creates the SDK. Rejects with a MynaConsentError for bad options. Loads nothing yet. */
  static async create(options) {
    return new MynaConsent(options);
  }

  /** The catalogue of APIs and data items; rejects with `unknown_locale`. Works in Node. */
  static async catalogue(locale) {
    const glue = await bindings("consent");
    try {
      return glue.MynaConsent.catalogue(locale);
    } catch (error) {
      throw asMynaError(error);
    }
  }

  /** Checks a request against every rule, reporting every problem at once. Works in Node. */
  static async validate(request, locale) {
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
    const host = resolveTarget(target);
    checkMountConsent(options);
    return this.#mount("consent", host, (core) => core.mountConsent(host, options));
  }

  /** Shows the review screen, with revocation. */
  mountReview(target) {
    const host = resolveTarget(target);
    return this.#mount("account", host, (core) => core.mountReview(host));
  }

  /** On the redirect page: checks the callback, completes at the backend, resolves with the consent. */
  async completeAuthorization(url, options) {
    const target = options?.target;
    const core = await this.#core("account", target === undefined || target === null ? null : resolveTarget(target));
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

  /** Adds a listener for `granted`, `denied`, `revoked`, `renew` or `error`. */
  on(event, listener) {
    this.#listenersOf(event, listener).push(listener);
  }

  /** Removes a listener added with on(). */
  off(event, listener) {
    const list = this.#listenersOf(event, listener);
    const at = list.indexOf(listener);
    if (at >= 0) list.splice(at, 1);
  }

  /** Removes every screen and every listener; the SDK does nothing more. */
  destroy() {
    this.#destroyed = true;
    for (const list of this.#listeners.values()) list.length = 0;
    for (const handle of [...this.#handles]) handle.unmount();
    for (const core of this.#cores.values()) core.then((inner) => inner.destroy(), () => {});
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

  /** The part's SDK instance, forwarding its events here; a failed load is reported and shown in `host`. */
  async #core(part, host = null) {
    if (this.#destroyed) {
      throw new MynaConsentError("destroyed", "This MynaConsent was destroyed; create a new one.");
    }
    let core = this.#cores.get(part);
    if (!core) {
      core = bindings(part).then(async (glue) => {
        const { backend, locale, navigate, userToken } = this.#options;
        const inner = await glue.MynaConsent.create({ backend, locale, navigate, userToken });
        for (const name of EVENTS) inner.on(name, (detail) => this.#emit(name, detail));
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
      this.#emit("error", { code: error.code, message: error.message });
      if (host) this.#showLoadFailure(host, error, null);
      throw error;
    }
  }

  #mount(part, host, mount) {
    if (this.#destroyed) {
      throw new MynaConsentError("destroyed", "This MynaConsent was destroyed; create a new one.");
    }
    screens.get(host)?.unmount();
    const handle = new MountHandle((closed) => {
      this.#handles.delete(closed);
      if (screens.get(host) === closed) screens.delete(host);
    });
    screens.set(host, handle);
    this.#handles.add(handle);
    const start = () => {
      handle.notify(host, (document) => {
        const text = document.createElement("p");
        text.setAttribute("role", "status");
        text.setAttribute("data-myna-consent-loading", "");
        text.textContent = NOTICES[this.locale].loading;
        return text;
      });
      this.#core(part)
        .then((core) => {
          if (!handle.closed) handle.attach(mount(core));
        })
        .catch((cause) => {
          if (handle.closed) return;
          const error = asMynaError(cause);
          if (error.code === "load_failed" || error.code === "wasm_blocked") {
            this.#showLoadFailure(host, error, handle, start);
          } else {
            handle.attach(null);
            this.#emit("error", { code: error.code, message: error.message, field: error.field });
          }
        });
    };
    start();
    return handle;
  }

  /** A plain notice in the operator's element: what happened, and a way to try again when that can help. */
  #showLoadFailure(host, error, handle, retry) {
    const words = NOTICES[this.locale];
    const build = (document) => {
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
    };
    if (handle) handle.notify(host, build);
    else host.append(build(host.ownerDocument));
  }
}
