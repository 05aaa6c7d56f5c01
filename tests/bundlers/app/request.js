// A valid draft request (the one in tests/types/consumer.ts), shared by the
// Node test, the Vitest test and the bundled apps.
export const request = {
  operator: { name: "すこやか手帳株式会社", contact: "0120-000-000", privacyPolicyUrl: "https://example.jp/p", approvalId: "MPA-1" },
  items: { required: ["insurance.drugs"], optional: ["insurance.checkups"] },
  purposes: [{ category: "healthManagement", description: "お薬の記録に使います。" }],
  period: { kind: "linkage", days: 90 },
  retention: "30日以内に削除します。",
};

// Three mistakes the validator must name by field.
export const broken = {
  ...request,
  operator: { ...request.operator, name: "" },
  items: { required: ["no.such.item"] },
  period: { kind: "linkage", days: 0 },
};

// A request as an operator's backend defines it (tests/bundlers/app/main.js
// answers for the backend with the `fetch` option), with nothing to
// confirm separately: 同意 is one click.
export const defined = {
  operator: request.operator,
  items: { required: ["self.tax_income"] },
  purposes: [{ category: "creditScreening", description: "ローンの審査に使います。" }],
  period: { kind: "oneTime" },
  retention: "審査の後、30日以内に削除します。",
};

// Where the stand-in backend sends the citizen.
export const AUTHORIZATION_URL = "https://mynaportal.example/authorize?client_id=demo";
