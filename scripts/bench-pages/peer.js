// The peer: cookieconsent 3.1.0 (npm vanilla-cookieconsent), its consent
// modal with the same static-import pattern.
import * as CookieConsent from "/peer/vanilla-cookieconsent/dist/cookieconsent.esm.js";
import { paintHost } from "./host.js";

paintHost();
CookieConsent.run({
  // Its default hides the modal from automated browsers, this one included.
  hideFromBots: false,
  guiOptions: { consentModal: { layout: "box" } },
  categories: { necessary: { enabled: true, readOnly: true }, analytics: {} },
  language: {
    default: "ja",
    translations: {
      ja: {
        consentModal: {
          title: "クッキーの利用について",
          description: "サービスの改善のためにクッキーを使います。",
          acceptAllBtn: "すべて同意する",
          acceptNecessaryBtn: "必要なものだけ",
          showPreferencesBtn: "設定する",
        },
        preferencesModal: {
          title: "クッキーの設定",
          acceptAllBtn: "すべて同意する",
          acceptNecessaryBtn: "必要なものだけ",
          savePreferencesBtn: "保存する",
          sections: [{ title: "必須", linkedCategory: "necessary" }],
        },
      },
    },
  },
});
