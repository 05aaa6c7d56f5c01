// An operator's Vue 3 app: the consent screen, and on return the outcome
// and the review screen, with myna-consent-vue. Render functions, so the
// runtime-only build serves it under a strict CSP.
import { createApp, h, ref } from "vue";
import { MynaAuthorizationReturn, MynaConsentPlugin, MynaConsentRequest, MynaConsentReview } from "myna-consent-vue";

const returning = /[?&](code|error)=/.test(window.location.search);
window.outcomes = [];
const reportError = (e) => console.error(`myna-consent error: ${e.code}: ${e.message}`);

const App = {
  setup() {
    const outcome = ref(null);
    const told = (value) => {
      window.outcomes.push(value);
      outcome.value = value;
    };
    return () =>
      returning
        ? h("section", [
            h("h2", "連携の結果"),
            h(MynaAuthorizationReturn, {
              onComplete: (consent) => told(`granted ${consent.items.join(",")}`),
              onFail: (error) => told(`failed ${error.code}`),
            }),
            outcome.value && h("h2", "同意の確認"),
            outcome.value && h(MynaConsentReview, { onError: reportError }),
          ])
        : h(MynaConsentRequest, { request: "income-check", onError: reportError });
  },
};

createApp(App).use(MynaConsentPlugin, { backend: "/vue/myna", locale: "ja" }).mount("#app");
