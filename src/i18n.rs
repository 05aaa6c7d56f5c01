//! Locales, bilingual [`Text`], and the fixed words of the screens in
//! Japanese (the primary text) and English. A leaf: each domain type owns
//! its own words (`ErrorKind::message`, `PurposeCategory::label`,
//! `ConsentStatus::label`), so nothing here reaches up into the domain.

use serde::{Deserialize, Serialize};

/// A locale the SDK speaks. Japanese is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Locale {
    /// 日本語 (default).
    #[default]
    #[serde(rename = "ja")]
    Ja,
    /// English.
    #[serde(rename = "en")]
    En,
}

impl Locale {
    /// The BCP 47 code: `ja` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Ja => "ja",
            Self::En => "en",
        }
    }

    /// The locale for a BCP 47 code; `ja-JP` and `en-US` count as `ja` and `en`.
    pub fn from_code(code: &str) -> Option<Self> {
        let primary = code.split(['-', '_']).next().unwrap_or_default();
        match primary.to_ascii_lowercase().as_str() {
            "ja" => Some(Self::Ja),
            "en" => Some(Self::En),
            _ => None,
        }
    }
}

/// A text in both locales. In the npm package (`--cfg english_on_demand`)
/// it holds only the Japanese, and the English comes from the table that
/// [`english::load`] was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text {
    /// Japanese (primary).
    pub ja: &'static str,
    /// English.
    #[cfg(not(english_on_demand))]
    pub en: &'static str,
}

impl Text {
    /// A text from its Japanese and English forms.
    #[cfg_attr(english_on_demand, allow(unused_variables))]
    pub const fn new(ja: &'static str, en: &'static str) -> Self {
        Self {
            ja,
            #[cfg(not(english_on_demand))]
            en,
        }
    }

    /// The text in `locale`.
    pub fn get(&self, locale: Locale) -> &'static str {
        match locale {
            Locale::Ja => self.ja,
            #[cfg(not(english_on_demand))]
            Locale::En => self.en,
            #[cfg(english_on_demand)]
            Locale::En => english::get(self.ja),
        }
    }
}

/// The key of a Japanese text in `en.js`: its 32-bit FNV-1a hash, written
/// in base 36. Shorter than the Japanese itself, which the module already
/// holds; `tests/generated.rs` checks that no two texts share a key.
pub fn english_key(ja: &str) -> u32 {
    ja.bytes().fold(0x811c_9dc5, |hash: u32, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

/// English on demand, for the npm package: each module is built without
/// the English of [`Text`] and [`Words`], and the page hands it the table
/// (generated as `en.js` by `tests/generated.rs`) the first time it needs
/// English. A page in Japanese never downloads it.
#[cfg(english_on_demand)]
pub mod english {
    use std::cell::RefCell;

    use super::{english_key, Words, JA};

    struct Table {
        /// By key.
        texts: Vec<(u32, &'static str)>,
        words: &'static Words,
    }

    thread_local! {
        static TABLE: RefCell<Option<&'static Table>> = const { RefCell::new(None) };
    }

    /// Takes the table (base-36 key to English) once; later calls keep the
    /// first, and do not read theirs. A table that `entries` cannot read
    /// (`None`) is not taken. The strings live as long as the page, as
    /// compiled-in text would.
    pub fn load(entries: impl FnOnce() -> Option<Vec<(String, String)>>) {
        if loaded() {
            return;
        }
        let Some(entries) = entries() else {
            return;
        };
        let mut texts: Vec<(u32, &'static str)> = entries
            .into_iter()
            .filter_map(|(key, en)| Some((u32::from_str_radix(&key, 36).ok()?, &*en.leak())))
            .collect();
        texts.sort_unstable();
        let words = Box::leak(Box::new(JA.map(|ja| find(&texts, ja))));
        let table: &'static Table = Box::leak(Box::new(Table { texts, words }));
        TABLE.with(|slot| *slot.borrow_mut() = Some(table));
    }

    /// Whether the table is loaded.
    fn loaded() -> bool {
        TABLE.with(|slot| slot.borrow().is_some())
    }

    /// The English of `ja`; `ja` itself until the table is loaded (or if it
    /// lacks the text, which `tests/generated.rs` rules out).
    pub fn get(ja: &'static str) -> &'static str {
        TABLE.with(|slot| match *slot.borrow() {
            Some(table) => find(&table.texts, ja),
            None => ja,
        })
    }

    /// The screens' English words; Japanese until the table is loaded.
    pub fn words() -> &'static Words {
        TABLE.with(|slot| match *slot.borrow() {
            Some(table) => table.words,
            None => &JA,
        })
    }

    fn find(texts: &[(u32, &'static str)], ja: &'static str) -> &'static str {
        let key = english_key(ja);
        texts
            .binary_search_by(|(at, _)| at.cmp(&key))
            .map(|at| texts[at].1)
            .unwrap_or(ja)
    }
}

/// How a citizen withdraws a consent, as the receipt states it.
pub fn withdrawal_method(contact: &str, locale: Locale) -> String {
    match locale {
        Locale::Ja => format!(
            "事業者のサイトの「同意の確認」画面から、いつでも撤回できます。撤回はすぐにマイナポータルに伝わり、以後の取得は止まります。お問い合わせ先: {contact}"
        ),
        Locale::En => format!(
            "You can withdraw at any time from the consent review screen on the operator's site. Withdrawal reaches Mynaportal at once and stops any further retrieval. Contact: {contact}"
        ),
    }
}

/// A calendar date as a citizen reads it: `2027年2月22日`, `22 February 2027`.
pub fn format_date(date: time::Date, locale: Locale) -> String {
    match locale {
        Locale::Ja => format!(
            "{}年{}月{}日",
            date.year(),
            u8::from(date.month()),
            date.day()
        ),
        Locale::En => format!("{} {} {}", date.day(), date.month(), date.year()),
    }
}

/// Fills `{0}`, `{1}`, … (one digit) in a template of [`Words`], in one
/// pass over the template: an argument is text, so a `{1}` inside the
/// operator's name stays as written. A placeholder with no argument stays
/// too.
pub fn fill(template: &str, args: &[&str]) -> String {
    let mut text = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let (before, from) = rest.split_at(open);
        text.push_str(before);
        let arg = match from.as_bytes() {
            [b'{', digit @ b'0'..=b'9', b'}', ..] => args.get(usize::from(digit - b'0')),
            _ => None,
        };
        match arg {
            Some(arg) => {
                text.push_str(arg);
                rest = &from[3..];
            }
            None => {
                text.push('{');
                rest = &from[1..];
            }
        }
    }
    text.push_str(rest);
    text
}

/// Declares [`Words`] from its texts' names, in groups that each hold
/// only in the builds that show them: [`Texts`] to write them out by name,
/// an accessor per text, and the two views that English on demand needs,
/// [`Words::map`] and [`Words::fields`].
macro_rules! words {
    ($($group:ident($when:meta) { $($(#[$doc:meta])* $field:ident,)* })*) => {
        /// Every fixed text of the screens in one locale, written out by
        /// name: how [`JA`] and [`EN`] are declared. Only the groups of
        /// this build reach [`Words`], so a module keeps only its own text.
        #[allow(missing_docs)]
        pub struct Texts {
            $($($(#[$doc])* pub $field: &'static str,)*)*
        }

        $(
            /// Each text's place in its group of [`Words`].
            #[allow(non_camel_case_types, dead_code)]
            mod $group {
                pub enum Field {
                    $($field,)*
                }
                pub const COUNT: usize = [$(Field::$field,)*].len();
            }
        )*

        /// Every fixed text of the screens, in one locale; each is named
        /// after the place it appears. Templates take their arguments
        /// through [`fill`]. Arrays rather than a struct of fields, so that
        /// [`Words::map`] is a loop, not one call per text (about 3 KB gzip
        /// per module with English on demand); a group only in the builds
        /// that show it, so the consent module does not carry the account
        /// screens' text, nor the account module the consent screen's.
        #[derive(Debug)]
        pub struct Words {
            $(
                #[cfg($when)]
                $group: [&'static str; $group::COUNT],
            )*
        }

        impl Words {
            /// The words of this build, from all of them written out by name.
            pub const fn new(texts: Texts) -> Words {
                Words {
                    $(
                        #[cfg($when)]
                        $group: [$(texts.$field,)*],
                    )*
                }
            }

            $($(
                $(#[$doc])*
                #[cfg($when)]
                #[allow(missing_docs)]
                pub fn $field(&self) -> &'static str {
                    self.$group[$group::Field::$field as usize]
                }
            )*)*

            /// The same words, each passed through `f`: English from Japanese,
            /// when the English text is loaded on demand.
            pub fn map(&self, f: impl Fn(&'static str) -> &'static str) -> Words {
                Words {
                    $(
                        #[cfg($when)]
                        $group: self.$group.map(&f),
                    )*
                }
            }

            /// Every text's name and text, in order (the texts of this build).
            pub fn fields(&self) -> Vec<(&'static str, &'static str)> {
                let mut all = Vec::new();
                $(
                    #[cfg($when)]
                    all.extend([$((stringify!($field), self.$field()),)*]);
                )*
                all
            }
        }
    };
}

words! {
    shared(all()) {
        // Consent screen.
        category_summary,
        purposes_heading,
        recipients_heading,
        recipients_intro,
        no_recipients,
        recipient_contact,
        recipient_approval,
        recipient_purpose,
        recipient_policy_link,
        retention_label,
        retry,
        // Operator-facing error panel.
        invalid_operator,
        // Review screen.
        status,
    }
    consent(any(feature = "consent-screen", not(feature = "account-screens"))) {
        // Consent screen.
        consent_eyebrow,
        consent_title,
        consent_intro,
        operator_heading,
        operator_name,
        approval_id,
        contact,
        privacy_policy,
        privacy_policy_link,
        items_heading,
        required_items,
        optional_items,
        optional_hint,
        show_items,
        special_care_badge,
        period_heading,
        period_linkage,
        period_one_time,
        retention_heading,
        withdraw_how,
        next_heading,
        next_step,
        next_step_smartphone,
        research_heading,
        research_explain,
        research_review_label,
        research_confirm,
        special_care_heading,
        special_care_explain,
        special_care_confirm,
        agree,
        agree_hint,
        decline,
        starting,
        declined_title,
        declined_body,
        choose_again,
        start_failed,
        start_misconfigured,
        request_loading,
        request_unavailable_title,
        request_not_found,
        request_unavailable,
        draft_notice,
        draft_not_sent,
        // Operator-facing error panel.
        invalid_title,
        invalid_citizen,
    }
    account(any(feature = "account-screens", not(feature = "consent-screen"))) {
        // Review screen: what a consent shares.
        items_shared_now,
        items_shared_before,
        recipients_intro_before,
        no_recipients_before,
        // Return screen.
        returning,
        granted_title,
        granted_body,
        not_completed_title,
        declined_at_portal,
        expired,
        tampered,
        used,
        backend_problem,
        nothing_granted,
        configuration_problem,
        temporarily_unavailable,
        outcome_uncertain,
        contact_operator,
        nothing_shared,
        start_again,
        retrieval_heading,
        retrieval_waiting,
        retrieval_done,
        retrieval_error,
        retrieval_timeout,
        // Review screen.
        review_title,
        review_intro,
        review_empty,
        loading,
        load_failed,
        granted_on,
        ends_on,
        days_left,
        days_left_value,
        last_day,
        one_time,
        last_retrieval,
        never_retrieved,
        /// After the last retrieval line, when automatic retrievals failed;
        /// `{0}`: when the next try is.
        retrieval_retry,
        suspended_explain,
        expired_explain,
        ending_soon_explain,
        renew,
        revoke,
        show_receipt,
        download_receipt,
        receipt_heading,
        receipt_digest,
        receipt_mismatch,
        receipt_digest_explained,
        receipt_renews,
        signed_receipt_explained,
        download_signed_receipt,
        print_receipt,
        receipt_replaced,
        renewal_withdrew_old,
        renewal_old_still_active,
        revocation_receipt_heading,
        receipt_id_label,
        granted_at_label,
        revoked_at_label,
        jst_suffix,
        // Revocation dialog.
        revoke_title,
        revoke_what_stops,
        revoke_retrieved,
        revoke_confirm,
        revoke_cancel,
        revoking,
        revoked_title,
        revoked_body,
        revoke_failed,
        receipt_unavailable,
        revoke_retry,
        close,
    }
}

/// Japanese, the primary text.
pub static JA: Words = Words::new(Texts {
    consent_eyebrow: "マイナポータル連携のご案内",
    consent_title: "{0}への情報の提供について、同意をお願いします",
    consent_intro: "内容をご確認のうえ、同意するかどうかをお選びください。",
    operator_heading: "提供先の事業者",
    operator_name: "事業者名",
    approval_id: "マイナポータルAPIの利用承認番号",
    contact: "お問い合わせ先",
    privacy_policy: "個人情報の取扱い",
    privacy_policy_link: "プライバシーポリシーを見る（新しいタブで開きます）",
    items_heading: "提供する情報",
    items_shared_now: "提供している情報",
    items_shared_before: "提供していた情報",
    recipients_intro_before: "次の事業者にも提供していました。",
    no_recipients_before: "この事業者から、ほかの事業者に提供されることはありませんでした。",
    required_items: "必ず提供する情報",
    optional_items: "選んで提供できる情報（任意）",
    optional_hint: "提供してもよいものにだけ、チェックを入れてください。チェックを入れなくても手続を進められます。",
    category_summary: "{0}（{1}項目）",
    show_items: "{0}の内訳を見る",
    special_care_badge: "配慮が必要な情報",
    purposes_heading: "利用目的",
    recipients_heading: "ほかの事業者への提供",
    recipients_intro: "次の事業者にも提供されます。",
    no_recipients: "この事業者から、ほかの事業者に提供されることはありません。",
    recipient_contact: "連絡先",
    recipient_approval: "承認番号",
    recipient_purpose: "提供する目的",
    recipient_policy_link: "{0}のプライバシーポリシーを見る（新しいタブで開きます）",
    period_heading: "提供する期間",
    period_linkage: "{0}まで（{1}日間）。この間は、最新の情報が自動的に提供されます。",
    period_one_time: "この1回のみ。今回だけ提供され、その後は提供されません。",
    retention_heading: "情報の保存と、同意の撤回",
    retention_label: "事業者による情報の保存について",
    withdraw_how: "同意はいつでも撤回できます。このサイトの「同意の確認」画面から手続できます。撤回すると、その時点で提供が止まります。",
    next_heading: "このあとの手順",
    next_step: "「同意してマイナポータルへ進む」を押すと、マイナポータルの画面に移ります。マイナンバーカードと、数字4桁の暗証番号（利用者証明用電子証明書の暗証番号）をご用意ください。",
    next_step_smartphone: "スマートフォンでは、マイナポータルのアプリが開きます。マイナンバーカードをスマートフォンの背面にあてて読み取ります。スマートフォンにマイナンバーカードの機能（スマホ用電子証明書）を入れている方は、カードの代わりにそれを使えます。",
    research_heading: "研究への利用の確認",
    research_explain: "この同意では、あなたの医療・健康に関する情報が研究に使われます。研究に使うことは、次の倫理審査で承認されています。",
    research_review_label: "倫理審査の承認：",
    research_confirm: "医療・健康に関する情報が研究に使われることを確認しました",
    special_care_heading: "配慮が必要な情報の確認",
    special_care_explain: "次の情報は、病気や障害などに関わるため、特に慎重な取扱いが必要な情報です。",
    special_care_confirm: "配慮が必要な情報が含まれることを確認しました。",
    agree: "同意してマイナポータルへ進む",
    agree_hint: "上の確認にチェックを入れると、同意できるようになります。",
    decline: "同意しない",
    starting: "マイナポータルへ移動しています…",
    declined_title: "同意しませんでした",
    declined_body: "あなたの情報は提供されません。考えが変わったときは、この画面で選び直すことができます。",
    choose_again: "選び直す",
    start_failed: "マイナポータルへ進めませんでした。時間をおいて、もう一度お試しください。",
    start_misconfigured: "マイナポータルへ進めませんでした。事業者のシステムの設定に問題があるため、やり直しても同じ結果になります。お手数ですが、事業者にお問い合わせください。",
    retry: "もう一度試す",
    request_loading: "同意の内容を読み込んでいます…",
    request_unavailable_title: "同意の画面を表示できませんでした",
    request_not_found: "この同意の内容は見つかりませんでした。お手数ですが、事業者のサイトから、もう一度お手続きください。",
    request_unavailable: "通信の状態を確認して、もう一度お試しください。問題が続くときは、事業者にお問い合わせください。",
    draft_notice: "これは確認用の表示（下書き）です。ボタンを押しても、どこにも送られません。",
    draft_not_sent: "確認用の表示のため、送信しませんでした。",
    invalid_title: "この手続は、現在ご利用いただけません",
    invalid_citizen: "申し訳ありません。画面の準備に問題があるため、表示できません。事業者にお問い合わせください。",
    invalid_operator: "事業者の開発者の方へ: 同意リクエストに次の問題があります。",
    returning: "マイナポータルからの結果を確認しています…",
    granted_title: "同意の手続が完了しました",
    granted_body: "{0}への情報の提供に同意しました。",
    not_completed_title: "手続は完了していません",
    declined_at_portal: "マイナポータルで「同意しない」が選ばれました。",
    expired: "時間が経ったため、手続の有効期限（10分）が切れました。",
    tampered: "手続の情報が一致しないため、安全のために中止しました。",
    used: "この手続は、すでに完了しているか中止されています。同意の状況は「同意の確認」画面でご確認いただけます。",
    backend_problem: "事業者のシステムで問題が起きたため、手続を完了できませんでした。時間をおいてやり直すか、事業者にお問い合わせください。",
    nothing_granted: "マイナポータルでの手続は終わりましたが、提供を認められた情報が一つもありませんでした。そのため、同意は成立していません。",
    configuration_problem: "事業者のシステムの設定に問題があるため、手続を完了できませんでした。やり直しても同じ結果になります。",
    temporarily_unavailable: "マイナポータルまたは事業者のシステムが一時的に利用できないため、手続を完了できませんでした。しばらく時間をおいて、最初の画面からやり直してください。",
    outcome_uncertain: "通信が途中で切れたため、手続が完了したかどうかを確認できませんでした。「同意の確認」画面で、同意の状況をご確認ください。",
    contact_operator: "お手数ですが、事業者にお問い合わせください。",
    nothing_shared: "あなたの情報は提供されていません。",
    start_again: "お手数ですが、最初の画面からやり直してください。",
    retrieval_heading: "情報の取得",
    retrieval_waiting: "マイナポータルから情報を取得しています。しばらくお待ちください…",
    retrieval_done: "情報の取得が完了しました。",
    retrieval_error: "情報を取得できませんでした。時間をおいて、もう一度お試しください。",
    retrieval_timeout: "マイナポータルからの応答がありませんでした。時間をおいて、もう一度お試しください。",
    review_title: "マイナポータル連携の同意の確認",
    review_intro: "このサイトに提供している情報と、その期間を確認できます。不要になった同意は、いつでも撤回できます。",
    review_empty: "マイナポータル連携の同意は、まだありません。",
    loading: "読み込んでいます…",
    load_failed: "同意の一覧を読み込めませんでした。",
    granted_on: "同意した日",
    ends_on: "終了日",
    days_left: "残りの日数",
    days_left_value: "あと{0}日",
    last_day: "本日が最終日です",
    one_time: "1回のみ",
    status: "状態",
    last_retrieval: "最後に情報を取得した日時",
    never_retrieved: "まだ取得していません",
    retrieval_retry: "前回の自動の取得はできませんでした。{0}にもう一度取得します。",
    suspended_explain: "不正な利用のおそれがあるため、マイナポータルが提供を停止しました。引き続き利用する場合は、あらためて同意してください。",
    expired_explain: "提供の期間が終わりました。引き続き利用する場合は、同意を更新してください。",
    ending_soon_explain: "まもなく提供の期間が終わります。引き続き利用する場合は、同意を更新してください。",
    renew: "同意を更新する",
    revoke: "同意を撤回する",
    show_receipt: "同意の控えを見る",
    download_receipt: "控えをダウンロードする（JSON形式）",
    receipt_heading: "同意の控え",
    receipt_digest: "控えの確認用の値（SHA-256）",
    receipt_mismatch: "この控えの確認用の値は、控えの内容と一致しませんでした。事業者のシステムの不具合のため、確認用の値は表示しません。お手数ですが、事業者にお問い合わせください。",
    receipt_digest_explained: "確認用の値は、控えの内容から計算した64文字の値です。保存した控えのファイルが後から書き換えられていないかを確かめるときに使います。",
    receipt_renews: "この同意は、以前の同意を更新したものです。以前の同意は、この同意に切り替わった時点で撤回しています。",
    signed_receipt_explained: "署名付きの控えでは、この控えを事業者が発行したことと、内容が書き換えられていないことを、事業者が公開している鍵を使って第三者が確かめられます。",
    download_signed_receipt: "署名付きの控えをダウンロードする（JWS形式）",
    print_receipt: "控えを印刷する",
    receipt_replaced: "この同意は、更新した新しい同意に切り替えたため撤回しました。",
    renewal_withdrew_old: "同意を更新しました。以前の同意は撤回しました。",
    renewal_old_still_active: "同意を更新しましたが、以前の同意をまだ撤回できていません。「同意の確認」画面から撤回してください。",
    revocation_receipt_heading: "同意の撤回の控え",
    receipt_id_label: "控えの番号",
    granted_at_label: "同意した日時",
    revoked_at_label: "撤回した日時",
    jst_suffix: "（日本時間）",
    revoke_title: "同意を撤回しますか",
    revoke_what_stops: "撤回すると、{0}への情報の提供はすぐに止まり、これ以降、マイナポータルから情報は取得されません。",
    revoke_retrieved: "すでに提供された情報の扱い",
    revoke_confirm: "撤回する",
    revoke_cancel: "撤回しない",
    revoking: "撤回しています…",
    revoked_title: "同意を撤回しました",
    revoked_body: "{0}への情報の提供を止めました。撤回の控えを保存しておくことができます。",
    revoke_failed: "撤回できませんでした。同意はまだ有効です。時間をおいて、もう一度お試しください。",
    receipt_unavailable: "同意の控えを表示できませんでした。時間をおいて、もう一度お試しください。",
    revoke_retry: "もう一度撤回する",
    close: "閉じる",
});

/// English, the second locale. The npm package leaves it out and takes it
/// from `en.js` when a page asks for English ([`english`]).
#[cfg(not(english_on_demand))]
pub static EN: Words = Words::new(Texts {
    consent_eyebrow: "Sharing your information through Mynaportal",
    consent_title: "{0} asks for your consent to receive your information",
    consent_intro: "Please read the following and choose whether you agree.",
    operator_heading: "Who receives your information",
    operator_name: "Operator",
    approval_id: "Mynaportal API approval number",
    contact: "Contact",
    privacy_policy: "Handling of personal information",
    privacy_policy_link: "Read the privacy policy (opens in a new tab)",
    items_heading: "Information to be shared",
    items_shared_now: "Information being shared",
    items_shared_before: "Information that was shared",
    recipients_intro_before: "Your information was also passed on to:",
    no_recipients_before: "The operator did not pass your information on to any other company.",
    required_items: "Always shared",
    optional_items: "Shared only if you choose (optional)",
    optional_hint: "Tick only what you are willing to share. You can go ahead without ticking any.",
    category_summary: "{0} ({1} items)",
    show_items: "See what {0} includes",
    special_care_badge: "Sensitive",
    purposes_heading: "Why it is used",
    recipients_heading: "Sharing with other companies",
    recipients_intro: "Your information is also passed on to:",
    no_recipients: "The operator does not pass your information on to any other company.",
    recipient_contact: "Contact",
    recipient_approval: "Approval ID",
    recipient_purpose: "Why they receive it",
    recipient_policy_link: "Read the privacy policy of {0} (opens in a new tab)",
    period_heading: "For how long",
    period_linkage: "Until {0} ({1} days). During this time, your latest information is shared automatically.",
    period_one_time: "This time only. Your information is shared once, and not again.",
    retention_heading: "Keeping your information, and withdrawing consent",
    retention_label: "How the operator keeps your information",
    withdraw_how: "You can withdraw your consent at any time on this site's consent review screen. Sharing stops at that moment.",
    next_heading: "What happens next",
    next_step: "When you press \"Agree and go to Mynaportal\", you move to Mynaportal. Please have your My Number Card and its 4-digit PIN (for the user certificate) ready.",
    next_step_smartphone: "On a smartphone, the Mynaportal app opens. Hold your My Number Card against the back of the phone to read it. If you have added the card's functions to your phone (the smartphone electronic certificate), you can use that instead of the card.",
    research_heading: "Confirming use for research",
    research_explain: "With this consent, your medical and health information is used for research. The research was approved by the following ethics review.",
    research_review_label: "Ethics review approval:",
    research_confirm: "I confirm that my medical and health information will be used for research",
    special_care_heading: "Confirming sensitive information",
    special_care_explain: "The following information concerns illness, disability or similar matters and needs particular care.",
    special_care_confirm: "I understand that sensitive information is included.",
    agree: "Agree and go to Mynaportal",
    agree_hint: "Tick the confirmation above to be able to agree.",
    decline: "Do not agree",
    starting: "Going to Mynaportal…",
    declined_title: "You did not agree",
    declined_body: "Your information will not be shared. If you change your mind, you can choose again on this screen.",
    choose_again: "Choose again",
    start_failed: "We could not take you to Mynaportal. Please try again later.",
    start_misconfigured: "We could not take you to Mynaportal because of a problem in the operator's system settings. Trying again will give the same result. Please contact the operator.",
    retry: "Try again",
    request_loading: "Loading the consent request…",
    request_unavailable_title: "The consent screen could not be shown",
    request_not_found: "This consent request could not be found. Please start again from the operator's site.",
    request_unavailable: "Please check your connection and try again. If the problem continues, contact the operator.",
    draft_notice: "This is a preview (draft) for checking the screen. Nothing is sent when you press a button.",
    draft_not_sent: "Nothing was sent: this is a preview.",
    invalid_title: "This procedure is not available at the moment",
    invalid_citizen: "We are sorry: this screen cannot be shown because of a problem on the operator's side. Please contact the operator.",
    invalid_operator: "For the operator's developers: the consent request has these problems.",
    returning: "Checking the result from Mynaportal…",
    granted_title: "Your consent is complete",
    granted_body: "You agreed to share your information with {0}.",
    not_completed_title: "The procedure was not completed",
    declined_at_portal: "\"Do not agree\" was chosen on Mynaportal.",
    expired: "The procedure expired because it took longer than 10 minutes.",
    tampered: "The procedure was stopped for your safety because its details did not match.",
    used: "This procedure has already been completed or stopped. You can check your consents on the consent review screen.",
    backend_problem: "The operator's system had a problem, so the procedure could not be completed. Please try again later or contact the operator.",
    nothing_granted: "The procedure on Mynaportal ended, but none of the information was approved for sharing, so there is no consent.",
    configuration_problem: "The procedure could not be completed because of a problem in the operator's system settings. Trying again will give the same result.",
    temporarily_unavailable: "Mynaportal or the operator's system is temporarily unavailable, so the procedure could not be completed. Please wait a while and start again from the first screen.",
    outcome_uncertain: "The connection was cut, so we could not confirm whether the procedure was completed. Please check your consents on the consent review screen.",
    contact_operator: "Please contact the operator.",
    nothing_shared: "Your information has not been shared.",
    start_again: "Please start again from the first screen.",
    retrieval_heading: "Getting your information",
    retrieval_waiting: "Getting your information from Mynaportal. Please wait…",
    retrieval_done: "Your information has been received.",
    retrieval_error: "Your information could not be received. Please try again later.",
    retrieval_timeout: "Mynaportal did not answer in time. Please try again later.",
    review_title: "Your Mynaportal consents",
    review_intro: "See what you share with this site and until when. You can withdraw any consent at any time.",
    review_empty: "You have no Mynaportal consents yet.",
    loading: "Loading…",
    load_failed: "Your consents could not be loaded.",
    granted_on: "Agreed on",
    ends_on: "Ends on",
    days_left: "Days left",
    days_left_value: "{0} days left",
    last_day: "Today is the last day",
    one_time: "This time only",
    status: "Status",
    last_retrieval: "Last retrieved",
    never_retrieved: "Not retrieved yet",
    retrieval_retry: "The last automatic retrieval did not succeed. It will be tried again on {0}.",
    suspended_explain: "Mynaportal stopped the sharing because of possible misuse. To continue, please give your consent again.",
    expired_explain: "The sharing period has ended. To continue, please renew your consent.",
    ending_soon_explain: "The sharing period ends soon. To continue, please renew your consent.",
    renew: "Renew consent",
    revoke: "Withdraw consent",
    show_receipt: "Show consent receipt",
    download_receipt: "Download the receipt (JSON)",
    receipt_heading: "Consent receipt",
    receipt_digest: "Receipt check value (SHA-256)",
    receipt_mismatch: "This receipt's check value does not match the receipt's contents. Because of a fault in the operator's system, the check value is not shown. Please contact the operator.",
    receipt_digest_explained: "The check value is a 64-character value computed from the receipt's contents. It lets you check later that a saved receipt file has not been changed.",
    receipt_renews: "This consent renews an earlier one. The earlier consent was withdrawn when this one took its place.",
    signed_receipt_explained: "With the signed receipt, anyone can check, using the key the operator publishes, that the operator issued this receipt and that nothing in it has been changed.",
    download_signed_receipt: "Download the signed receipt (JWS)",
    print_receipt: "Print the receipt",
    receipt_replaced: "This consent was withdrawn because a renewed consent took its place.",
    renewal_withdrew_old: "Your consent was renewed. The earlier consent has been withdrawn.",
    renewal_old_still_active: "Your consent was renewed, but the earlier consent could not be withdrawn yet. Please withdraw it on the consent review screen.",
    revocation_receipt_heading: "Withdrawal receipt",
    receipt_id_label: "Receipt number",
    granted_at_label: "Agreed at",
    revoked_at_label: "Withdrawn at",
    jst_suffix: " (Japan time)",
    revoke_title: "Withdraw your consent?",
    revoke_what_stops: "If you withdraw, sharing with {0} stops at once, and no more information is retrieved from Mynaportal.",
    revoke_retrieved: "What happens to information already shared",
    revoke_confirm: "Withdraw",
    revoke_cancel: "Keep my consent",
    revoking: "Withdrawing…",
    revoked_title: "Your consent has been withdrawn",
    revoked_body: "Sharing with {0} has stopped. You can keep the withdrawal receipt.",
    revoke_failed: "Your consent could not be withdrawn and is still active. Please try again later.",
    receipt_unavailable: "The consent receipt could not be shown. Please try again later.",
    revoke_retry: "Try withdrawing again",
    close: "Close",
});

/// The screens' words in `locale`.
pub fn words(locale: Locale) -> &'static Words {
    match locale {
        Locale::Ja => &JA,
        #[cfg(not(english_on_demand))]
        Locale::En => &EN,
        #[cfg(english_on_demand)]
        Locale::En => english::words(),
    }
}
