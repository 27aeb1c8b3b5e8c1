//! The words of each email, as plain text and HTML. Every parameter is
//! HTML-escaped before it enters the HTML part. The text stays ASCII with
//! short lines so that it travels unencoded (7bit) and reads as written.

use std::fmt::Write as _;

use crate::email::{Params, Template};

/// The product name shown in every email.
pub const PRODUCT: &str = "Countersign";

/// An email ready to be addressed.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The subject line; never holds a secret.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

/// The bodies may hold a code: debug output shows the subject only.
impl std::fmt::Debug for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rendered")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// A stored message lacks a parameter its template needs.
#[derive(Debug, thiserror::Error)]
#[error("parameter {0} missing")]
pub struct MissingParam(pub &'static str);

/// Renders `template` with `params`.
pub fn render(template: Template, params: &Params) -> Result<Rendered, MissingParam> {
    match template {
        Template::EmailCode => email_code(params),
        Template::MfaEnabled => Ok(notice(
            format!("Two-step verification is on for your {PRODUCT} account"),
            &[
                &format!("Two-step verification was turned on for your {PRODUCT} account."),
                "From now on, signing in asks for a code from your authenticator app\n\
                 after your password.",
                "If you did not do this, contact your administrator right away.",
            ],
        )),
        Template::MfaDisabled => Ok(notice(
            format!("Two-step verification is off for your {PRODUCT} account"),
            &with_report_link(
                params,
                &[
                    &format!("Two-step verification was turned off for your {PRODUCT} account."),
                    "Signing in now needs only your password.",
                ],
            ),
        )),
        Template::MfaLocked => mfa_locked(params),
        Template::RecoveryCodeUsed => recovery_code_used(params),
        Template::Invitation => invitation(params),
        Template::MfaReset => Ok(notice(
            format!("Two-step verification was reset on your {PRODUCT} account"),
            &with_report_link(
                params,
                &[
                    &format!(
                        "An administrator reset two-step verification on your {PRODUCT}\n\
                         account: your authenticator app and recovery codes no longer work."
                    ),
                    "Sign in with your password and set up your authenticator again.",
                ],
            ),
        )),
    }
}

/// The paragraphs, then what to do if the member did not do this: the
/// "this wasn't me" link when the sender gave one.
fn with_report_link(params: &Params, paragraphs: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = paragraphs.iter().map(|p| p.to_string()).collect();
    match params.get("report_url") {
        Some(url) => {
            all.push(
                "If this was not you, open this link: it signs your account out\n\
                 everywhere and locks it until your administrator unlocks it."
                    .to_string(),
            );
            all.push(url.to_string());
        }
        None => all.push(
            "If this was not you, your account may be at risk: change your\n\
             password and contact your administrator right away."
                .to_string(),
        ),
    }
    all
}

fn invitation(params: &Params) -> Result<Rendered, MissingParam> {
    let organization = params
        .get("organization")
        .ok_or(MissingParam("organization"))?;
    let url = params.get("invite_url").ok_or(MissingParam("invite_url"))?;
    let days = params
        .get("expire_days")
        .ok_or(MissingParam("expire_days"))?;
    Ok(notice(
        format!("Join {organization} on {PRODUCT}"),
        &[
            format!("{organization} invited you to {PRODUCT}."),
            format!("Set your password with this link within {days} days:"),
            url.to_string(),
            "The link works once. If you did not expect this, ignore this email.".to_string(),
        ],
    ))
}

fn mfa_locked(params: &Params) -> Result<Rendered, MissingParam> {
    let minutes = params
        .get("locked_minutes")
        .ok_or(MissingParam("locked_minutes"))?;
    Ok(notice(
        format!("Sign-in codes paused on your {PRODUCT} account"),
        &[
            &format!(
                "Too many wrong verification codes were entered for your {PRODUCT}\n\
                 account, so codes are refused for the next {minutes} minutes."
            ),
            "If this was you, wait and try again. If not, someone knows your\n\
             password: change it and contact your administrator right away.",
        ],
    ))
}

fn recovery_code_used(params: &Params) -> Result<Rendered, MissingParam> {
    let remaining = params.get("remaining").ok_or(MissingParam("remaining"))?;
    Ok(notice(
        format!("A recovery code was used on your {PRODUCT} account"),
        &with_report_link(
            params,
            &[
                &format!("A recovery code was just used to sign in to your {PRODUCT} account."),
                &format!(
                    "You have {remaining} unused recovery codes left. Each works once;\n\
                     generate a new set from your security settings when you run low."
                ),
            ],
        ),
    ))
}

fn email_code(params: &Params) -> Result<Rendered, MissingParam> {
    let code = params.get("code").ok_or(MissingParam("code"))?;
    let minutes = params
        .get("expire_minutes")
        .ok_or(MissingParam("expire_minutes"))?;
    let subject = format!("Your {PRODUCT} verification code");
    let intro = format!("Use this code to finish signing in to {PRODUCT}:");
    let expiry = format!(
        "It expires in {minutes} minutes. Never share it: nobody from\n\
         {PRODUCT} will ever ask you for it."
    );
    let ignore = "If you did not try to sign in, someone may know your password:\n\
                  change it and tell your administrator.";
    let text = format!("{intro}\n\n{code}\n\n{expiry}\n\n{ignore}\n");
    let mut html = html_open(&subject);
    paragraph(&mut html, &intro);
    let _ = write!(
        html,
        "<p style=\"font-size:28px;font-weight:bold;letter-spacing:4px\">\n{}\n</p>\n",
        escape(code)
    );
    paragraph(&mut html, &expiry);
    paragraph(&mut html, ignore);
    html.push_str(HTML_CLOSE);
    Ok(Rendered {
        subject,
        text,
        html,
    })
}

fn notice(subject: String, paragraphs: &[impl AsRef<str>]) -> Rendered {
    let paragraphs: Vec<&str> = paragraphs.iter().map(AsRef::as_ref).collect();
    let text = paragraphs.join("\n\n") + "\n";
    let mut html = html_open(&subject);
    for text in paragraphs {
        paragraph(&mut html, text);
    }
    html.push_str(HTML_CLOSE);
    Rendered {
        subject,
        text,
        html,
    }
}

const HTML_CLOSE: &str = "</body>\n</html>\n";

fn html_open(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n\
         </head>\n<body style=\"font-family:sans-serif\">\n",
        escape(title)
    )
}

/// A paragraph; one that is a link (checked as such when the parameter was
/// accepted) becomes an anchor.
fn paragraph(html: &mut String, text: &str) {
    let text = escape(text);
    if text.starts_with("https://") || text.starts_with("http://") {
        let _ = writeln!(html, "<p><a href=\"{text}\">{text}</a></p>");
    } else {
        let _ = writeln!(html, "<p>{text}</p>");
    }
}

/// Escapes the five characters that matter in HTML text and attributes.
pub fn escape(text: &str) -> String {
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

    fn code_params(code: &str) -> Params {
        let given =
            [("code", code), ("expire_minutes", "10")].map(|(k, v)| (k.to_string(), v.to_string()));
        Params::for_template(Template::EmailCode, given).unwrap()
    }

    fn params_for(template: Template) -> Params {
        let value = |name: &str| match name {
            "code" => "012345",
            "organization" => "Ledger & Co",
            "invite_url" => "https://app.example/invitations/accept?token=abc",
            _ => "10",
        };
        let given = template
            .params()
            .iter()
            .map(|name| (name.to_string(), value(name).to_string()));
        Params::for_template(template, given).unwrap()
    }

    #[test]
    fn email_code_puts_code_on_its_own_line_and_not_in_subject() {
        let rendered = render(Template::EmailCode, &code_params("012345")).unwrap();

        assert!(rendered.text.lines().any(|line| line == "012345"));
        assert!(rendered.html.lines().any(|line| line == "012345"));
        assert!(!rendered.subject.contains("012345"));
        assert!(rendered.text.contains("10 minutes"));
    }

    #[test]
    fn email_code_escapes_markup_in_html_part() {
        let rendered = render(Template::EmailCode, &code_params("<b>&'\"")).unwrap();

        assert!(rendered.html.contains("&lt;b&gt;&amp;&#39;&quot;"));
        assert!(!rendered.html.contains("<b>"));
    }

    #[test]
    fn render_fails_naming_param_when_stored_params_lack_it() {
        let err = render(Template::EmailCode, &Params::default()).unwrap_err();

        assert_eq!(err.0, "code");
    }

    #[test]
    fn every_template_is_short_line_ascii_naming_the_product() {
        for template in Template::ALL {
            let rendered = render(template, &params_for(template)).unwrap();

            for part in [&rendered.subject, &rendered.text, &rendered.html] {
                assert!(part.is_ascii(), "{template:?}");
                // A link is as long as it is; the words around it wrap.
                let fits = |l: &str| l.len() <= 76 || l.contains("https://");
                assert!(part.lines().all(fits), "{template:?}");
            }
            assert!(rendered.text.contains(PRODUCT));
        }
    }

    #[test]
    fn invitation_names_organization_and_links_in_both_parts() {
        let rendered = render(Template::Invitation, &params_for(Template::Invitation)).unwrap();

        assert_eq!(rendered.subject, "Join Ledger & Co on Countersign");
        let url = "https://app.example/invitations/accept?token=abc";
        assert!(rendered.text.lines().any(|line| line == url));
        assert!(rendered.html.contains("<a href=\"https://app.example/"));
        assert!(rendered.html.contains("Ledger &amp; Co invited you"));
    }

    #[test]
    fn notices_carry_report_link_only_when_given() {
        let with = [("report_url", "https://app.example/report?token=xyz")]
            .map(|(k, v)| (k.to_string(), v.to_string()));
        let with = Params::for_template(Template::MfaReset, with).unwrap();

        let linked = render(Template::MfaReset, &with).unwrap();
        let plain = render(Template::MfaReset, &Params::default()).unwrap();

        assert!(linked.text.contains("https://app.example/report?token=xyz"));
        assert!(!plain.text.contains("http"));
        assert!(plain.text.contains("contact your administrator"));
    }

    #[test]
    fn rendered_debug_hides_bodies() {
        let rendered = render(Template::EmailCode, &code_params("918273")).unwrap();

        assert!(!format!("{rendered:?}").contains("918273"));
    }
}
