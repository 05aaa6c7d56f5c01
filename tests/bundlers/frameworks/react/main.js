// An operator's React app in StrictMode (built in development mode, where
// StrictMode runs every effect twice): the consent screen, and on return
// the outcome and the review screen, with myna-consent-react. No JSX, so
// the build needs no React plugin.
import { createElement as h, StrictMode, useState } from "react";
import { createRoot } from "react-dom/client";
import { MynaConsent } from "myna-consent";
import { ConsentScreen, MynaConsentProvider, ReturnScreen, ReviewScreen } from "myna-consent-react";

const returning = /[?&](code|error)=/.test(window.location.search);
// What the test reads: every outcome the app was told of.
window.outcomes = [];

function App() {
  const [outcome, setOutcome] = useState(null);
  const told = (value) => {
    window.outcomes.push(value);
    setOutcome(value);
  };
  if (!returning) return h(ConsentScreen, { request: "income-check" });
  return h(
    "section",
    null,
    h("h2", null, "連携の結果"),
    h(ReturnScreen, { onComplete: (consent) => told(`granted ${consent.items.join(",")}`), onFail: (error) => told(`failed ${error.code}`) }),
    outcome && h("h2", null, "同意の確認"),
    outcome && h(ReviewScreen),
  );
}

// One SDK for the app, made before the first render: StrictMode's double
// effects then reach the SDK itself.
MynaConsent.create({ backend: "/react/myna", locale: "ja" }).then((sdk) => {
  // What the test reads: how often the app asked to complete a callback
  // (StrictMode asks twice; the SDK must complete it once).
  window.completeCalls = 0;
  const complete = sdk.completeAuthorization.bind(sdk);
  sdk.completeAuthorization = (...args) => {
    window.completeCalls += 1;
    return complete(...args);
  };
  createRoot(document.getElementById("root")).render(
    h(StrictMode, null, h(MynaConsentProvider, { sdk, onError: (e) => console.error(`myna-consent error: ${e.code}: ${e.message}`) }, h(App))),
  );
});
