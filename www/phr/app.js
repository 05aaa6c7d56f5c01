// The PHR demo site: it embeds the SDK through its public package only,
// as an operator would.
import { MynaConsent } from "/pkg/index.js";

const REQUEST = {
  operator: {
    name: "すこやか手帳株式会社",
    contact: "0120-000-000（平日9時〜17時）",
    privacyPolicyUrl: "http://127.0.0.1:8080/phr/privacy.html",
    approvalId: "MPA-2025-0123",
  },
  items: {
    required: ["insurance.drugs", "insurance.prescriptions", "insurance.dispensing"],
    optional: ["insurance.checkups"],
  },
  purposes: [{ category: "healthManagement", description: "お薬の記録と、飲み忘れを防ぐ服薬アラームに使います。" }],
  period: { kind: "linkage", days: 90 },
  retention: "連携をやめたとき、または退会したときは、取得したデータを30日以内に削除します。",
};

const sdk = await MynaConsent.create({ backend: "/phr/myna", locale: "ja" });
const page = document.body.dataset.page;
if (page === "consent") {
  sdk.mountConsent("#consent", REQUEST);
} else if (page === "callback") {
  sdk.completeAuthorization(location.href, { target: "#result", retrieve: true }).catch(() => {});
} else if (page === "review") {
  sdk.on("renew", () => location.assign("./"));
  sdk.mountReview("#review");
}
