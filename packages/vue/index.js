// Vue 3 plugin and components for myna-consent. Render functions only (no
// templates), so the components need no compiler and run under a strict
// CSP with Vue's runtime-only build. Each screen is mounted when its
// component is, and unmounted with it.
import { defineComponent, h, inject, onBeforeUnmount, onMounted, ref, shallowRef, watch } from "vue";
import { MynaConsent } from "myna-consent";

const KEY = Symbol("myna-consent");
const EVENTS = ["granted", "denied", "revoked", "renew", "error"];

/**
 * app.use(MynaConsentPlugin, { backend: "/myna", locale: "ja" }) creates
 * one SDK for the app (or pass `{ sdk }`, one you created). The components
 * find it; useMynaConsent() gives it (a ref, null until created) for
 * revoke() and retrieve(). The SDK is destroyed when the app unmounts.
 */
export const MynaConsentPlugin = {
  install(app, options = {}) {
    const sdk = shallowRef(options.sdk ?? null);
    if (!options.sdk) {
      const { sdk: _ignored, ...settings } = options;
      MynaConsent.create(settings).then(
        (made) => {
          sdk.value = made;
        },
        (error) => console.error("myna-consent:", error.code, error.message),
      );
    }
    app.provide(KEY, sdk);
    if (!options.sdk) app.onUnmount(() => sdk.value?.destroy());
  },
};

/** The app's SDK, as a ref (null until it is created). */
export function useMynaConsent() {
  const sdk = inject(KEY, null);
  if (!sdk) throw new Error("myna-consent-vue: install MynaConsentPlugin with app.use() first.");
  return sdk;
}

/**
 * A component that mounts one screen into its element while the SDK and
 * `inputs(props)` stay the same, and re-emits the SDK's events.
 */
function screen(name, props, mount, inputs = () => []) {
  return defineComponent({
    name,
    props,
    emits: EVENTS,
    setup(props, { emit }) {
      const sdk = useMynaConsent();
      const element = ref(null);
      let handle = null;
      let listeners = [];
      const stop = () => {
        handle?.unmount();
        handle = null;
        for (const [event, listener] of listeners) sdk.value?.off(event, listener);
        listeners = [];
      };
      const start = () => {
        stop();
        if (!sdk.value || !element.value) return;
        listeners = EVENTS.map((event) => [event, (detail) => emit(event, detail)]);
        for (const [event, listener] of listeners) sdk.value.on(event, listener);
        handle = mount(sdk.value, element.value, props);
      };
      onMounted(start);
      watch(() => [sdk.value, ...inputs(props)], start);
      onBeforeUnmount(stop);
      return () => h("div", { ref: element, "data-myna-consent-vue": "" });
    },
  });
}

/** The consent screen: `request` (an id or token) and `renews`, or a `draft` preview. */
export const MynaConsentRequest = screen(
  "MynaConsentRequest",
  { request: String, renews: String, draft: Object },
  (sdk, element, props) =>
    sdk.mountConsent(element, props.draft ? { draft: props.draft } : { request: props.request, renews: props.renews }),
  (props) => [props.request, props.renews, props.draft],
);

/** The review screen, with revocation. */
export const MynaConsentReview = screen("MynaConsentReview", {}, (sdk, element) => sdk.mountReview(element));

/**
 * The redirect page: completes the callback in `url` (by default the
 * page's address when the component was created) once, shows the outcome,
 * and emits `complete` with the consent or `fail` with the error.
 */
export const MynaAuthorizationReturn = defineComponent({
  name: "MynaAuthorizationReturn",
  props: { url: String, retrieve: Boolean },
  emits: ["complete", "fail"],
  setup(props, { emit }) {
    const sdk = useMynaConsent();
    const element = ref(null);
    // Captured once: the SDK removes the callback from the address bar.
    const callback = props.url ?? (typeof window === "undefined" ? undefined : window.location.href);
    let started = false;
    const start = () => {
      if (started || !sdk.value || !element.value || callback === undefined) return;
      started = true;
      sdk.value.completeAuthorization(callback, { target: element.value, retrieve: props.retrieve }).then(
        (consent) => emit("complete", consent),
        (error) => emit("fail", error),
      );
    };
    onMounted(start);
    watch(sdk, start);
    return () => h("div", { ref: element, "data-myna-consent-vue": "" });
  },
});
