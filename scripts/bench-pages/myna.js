// An operator's page as the issue measured it: a static import of the SDK
// at the top of the app's own module. The app paints its own element first;
// the SDK must not hold that back.
import { MynaConsent } from "/pkg/index.js";
import { paintHost } from "./host.js";

paintHost();
const sdk = await MynaConsent.create({ backend: "/myna" });
sdk.mountConsent("#consent", {
  draft: {
    operator: { name: "すこやか手帳株式会社", contact: "0120-000-000", privacyPolicyUrl: "https://example.jp/privacy", approvalId: "MPA-1" },
    items: { required: ["insurance.drugs"], optional: ["insurance.checkups"] },
    purposes: [{ category: "healthManagement", description: "お薬の記録をアプリで見られるようにするために使います。" }],
    period: { kind: "linkage", days: 90 },
    retention: "同意を取り消した日から30日以内に削除します。",
  },
});
