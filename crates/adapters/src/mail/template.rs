//! The mail templates: how each kind of message reads, as a subject, a plain-text part and
//! an HTML part. Every transport sends what these render.

use ports::MailContent;

/// A message's subject and bodies, ready for MIME.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RenderedMail {
    /// Subject line.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
}

/// Writes the message for `content`.
pub(crate) fn render(content: &MailContent) -> RenderedMail {
    match content {
        MailContent::KycLinks {
            full_name,
            kyc_link,
            tos_link,
        } => kyc_links(full_name, kyc_link, tos_link),
    }
}

/// The KYC mail. Links appear verbatim in the text part and escaped exactly once in the
/// HTML part (so `&` in a link reads back as `&`).
fn kyc_links(full_name: &str, kyc_link: &str, tos_link: &str) -> RenderedMail {
    let text = format!(
        "Hello {name},\n\n\
         To finish opening your account, please verify your identity:\n{kyc}\n\n\
         and accept the terms of service:\n{tos}\n\n\
         If you did not ask for an account, you can ignore this message.\n",
        name = full_name,
        kyc = kyc_link,
        tos = tos_link,
    );
    let html = format!(
        "<!doctype html><html><body>\
         <p>Hello {name},</p>\
         <p>To finish opening your account, please \
         <a href=\"{kyc}\">verify your identity</a> and \
         <a href=\"{tos}\">accept the terms of service</a>.</p>\
         <p>If the links do not work, copy these addresses into your browser:<br>{kyc}<br>{tos}</p>\
         <p>If you did not ask for an account, you can ignore this message.</p>\
         </body></html>",
        name = escape_html(full_name),
        kyc = escape_html(kyc_link),
        tos = escape_html(tos_link),
    );
    RenderedMail {
        subject: "Complete your identity verification (KYC)".into(),
        text,
        html,
    }
}

/// Escapes text for HTML element content and quoted attribute values.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kyc_mail() -> RenderedMail {
        render(&MailContent::KycLinks {
            full_name: "<script>alert(1)</script> & Co".into(),
            kyc_link: "https://kyc.example/verify?a=1&b=2".into(),
            tos_link: "https://tos.example/accept?c=3&d=4".into(),
        })
    }

    #[test]
    fn the_kyc_mail_escapes_the_name_and_keeps_links_exact() {
        let mail = kyc_mail();
        assert!(mail.subject.contains("KYC"));
        assert!(mail.text.contains("https://kyc.example/verify?a=1&b=2"));
        assert!(mail.text.contains("https://tos.example/accept?c=3&d=4"));
        assert!(!mail.html.contains("<script>"));
        assert!(mail
            .html
            .contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"));
        assert!(mail
            .html
            .contains("href=\"https://kyc.example/verify?a=1&amp;b=2\""));
        assert!(!mail.html.contains("&amp;amp;"));
    }

    #[test]
    fn html_escaping_covers_quotes_and_apostrophes() {
        assert_eq!(
            escape_html(r#"<a href="x">O'Brien & Co</a>"#),
            "&lt;a href=&quot;x&quot;&gt;O&#39;Brien &amp; Co&lt;/a&gt;"
        );
    }
}
