// React components and hooks for myna-consent. Plain JavaScript (no JSX),
// so the package needs no build step. Every screen is mounted in an effect
// and unmounted in its cleanup, so React's StrictMode (which runs each
// effect twice in development) leaves one screen; the return page captures
// its callback address once and relies on the SDK, which completes a
// callback once however often it is asked.
import { createContext, createElement, useContext, useEffect, useRef, useState } from "react";
import { MynaConsent } from "myna-consent";

const EVENTS = { granted: "onGranted", denied: "onDenied", revoked: "onRevoked", renew: "onRenew", error: "onError" };

const Context = createContext(null);

/**
 * Provides one SDK to the screens below it. Either pass `sdk` (one you
 * created with MynaConsent.create(), which stays yours to destroy), or the
 * options (`backend`, `locale`, `userToken`, `navigate`, `fetch`,
 * `prefetch`): then the provider creates the SDK, re-creates it when
 * `backend`, `locale` or `prefetch` change, and destroys it when it unmounts. `onGranted`, `onDenied`,
 * `onRevoked`, `onRenew` and `onError` receive the SDK's events.
 */
export function MynaConsentProvider(props) {
  const { sdk: given, backend, locale, prefetch, children } = props;
  const [created, setCreated] = useState(null);
  const latest = useRef(props);
  latest.current = props;

  useEffect(() => {
    if (given) return undefined;
    let live = true;
    let sdk = null;
    // The functions are read when called, so a new function each render
    // needs no new SDK.
    const call = (name) => (latest.current[name] ? (...args) => latest.current[name](...args) : undefined);
    MynaConsent.create({ backend, locale, prefetch, userToken: call("userToken"), navigate: call("navigate"), fetch: call("fetch") }).then(
      (made) => {
        if (!live) {
          made.destroy();
          return;
        }
        sdk = made;
        setCreated(made);
      },
      (error) => {
        if (live) latest.current.onError?.({ code: error.code, message: error.message, field: error.field });
      },
    );
    return () => {
      live = false;
      sdk?.destroy();
      setCreated(null);
    };
  }, [given, backend, locale, prefetch]);

  const sdk = given ?? created;
  useEffect(() => {
    if (!sdk) return undefined;
    const listeners = Object.entries(EVENTS).map(([event, prop]) => {
      const listener = (detail) => latest.current[prop]?.(detail);
      sdk.on(event, listener);
      return [event, listener];
    });
    return () => {
      for (const [event, listener] of listeners) sdk.off(event, listener);
    };
  }, [sdk]);

  return createElement(Context.Provider, { value: sdk }, children);
}

/** The SDK of the nearest MynaConsentProvider, or null while it is being created. */
export function useMynaConsent() {
  return useContext(Context);
}

/** Calls `listener` for each of the SDK's `event`s while the component is mounted. */
export function useMynaConsentEvent(event, listener) {
  const sdk = useMynaConsent();
  const latest = useRef(listener);
  latest.current = listener;
  useEffect(() => {
    if (!sdk) return undefined;
    const forward = (detail) => latest.current(detail);
    sdk.on(event, forward);
    return () => sdk.off(event, forward);
  }, [sdk, event]);
}

/** An element for a screen: mounted by `mount(sdk, element)` while the inputs stay the same. */
function useScreen(mount, inputs, className) {
  const sdk = useMynaConsent();
  const ref = useRef(null);
  useEffect(() => {
    if (!sdk || !ref.current) return undefined;
    const handle = mount(sdk, ref.current);
    return () => handle?.unmount();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [sdk, ...inputs]);
  return createElement("div", { ref, className, "data-myna-consent-react": "" });
}

/**
 * The consent screen of a request the backend defines (`request`: its id
 * or a request token; `renews`: the consent it renews), or a draft as a
 * preview (`draft`).
 */
export function ConsentScreen({ request, renews, draft, className }) {
  const key = draft === undefined ? undefined : JSON.stringify(draft);
  return useScreen(
    (sdk, element) => sdk.mountConsent(element, draft === undefined ? { request, renews } : { draft }),
    [request, renews, key],
    className,
  );
}

/** The review screen: every consent of this citizen, with revocation. */
export function ReviewScreen({ className }) {
  return useScreen((sdk, element) => sdk.mountReview(element), [], className);
}

/**
 * The redirect page: completes the callback in `url` (by default the
 * page's address when this component first rendered) and shows the
 * outcome. `onComplete(consent)` or `onFail(error)` is called once.
 * `retrieve` starts a first retrieval and shows its progress.
 */
export function ReturnScreen({ url, retrieve = false, onComplete, onFail, className }) {
  const sdk = useMynaConsent();
  const ref = useRef(null);
  // Captured once: the SDK removes the callback from the address bar.
  const [callback] = useState(() => url ?? (typeof window === "undefined" ? undefined : window.location.href));
  const latest = useRef({ onComplete, onFail });
  latest.current = { onComplete, onFail };
  useEffect(() => {
    if (!sdk || !ref.current || callback === undefined) return undefined;
    let live = true;
    sdk.completeAuthorization(callback, { target: ref.current, retrieve }).then(
      (consent) => live && latest.current.onComplete?.(consent),
      (error) => live && latest.current.onFail?.(error),
    );
    return () => {
      live = false;
    };
  }, [sdk, callback, retrieve]);
  return createElement("div", { ref, className, "data-myna-consent-react": "" });
}
