//! The pages people see at the issuer (login, error), rendered on the server: plain HTML forms
//! that work without JavaScript, one small stylesheet served by the issuer, and headers that
//! keep them from being framed, cached or leaking their address. Every string a person reads
//! is in [`Strings`], so that a translation is one more value of it.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::domain::sso::AuthParams;

/// The words of the pages.
#[derive(Debug)]
pub(crate) struct Strings {
    pub(crate) lang: &'static str,
    pub(crate) sign_in_title: &'static str,
    pub(crate) sign_in_to: &'static str,
    pub(crate) username: &'static str,
    pub(crate) password: &'static str,
    pub(crate) submit: &'static str,
    pub(crate) wrong_password: &'static str,
    pub(crate) too_many: &'static str,
    pub(crate) busy: &'static str,
    pub(crate) expired_form: &'static str,
    pub(crate) error_title: &'static str,
    pub(crate) sign_out_title: &'static str,
    pub(crate) sign_out_question: &'static str,
    pub(crate) sign_out_submit: &'static str,
    pub(crate) signed_out: &'static str,
    pub(crate) consent_title: &'static str,
    pub(crate) consent_lead: &'static str,
    pub(crate) allow: &'static str,
    pub(crate) deny: &'static str,
    /// What each well-known scope lets an application do.
    pub(crate) scopes: &'static [(&'static str, &'static str)],
    /// For any other scope, before its name.
    pub(crate) other_scope: &'static str,
}

/// English.
pub(crate) const ENGLISH: Strings = Strings {
    lang: "en",
    sign_in_title: "Sign in",
    sign_in_to: "Sign in to continue to",
    username: "Username",
    password: "Password",
    submit: "Sign in",
    wrong_password: "The username or password is wrong.",
    too_many: "Too many attempts. Wait a minute, then try again.",
    busy: "The server is busy. Try again in a moment.",
    expired_form: "This form has expired. Please sign in again.",
    error_title: "Sign-in error",
    sign_out_title: "Sign out",
    sign_out_question: "Do you want to sign out of every application that uses this sign-in?",
    sign_out_submit: "Sign out",
    signed_out: "You are signed out.",
    consent_title: "Allow access?",
    consent_lead: "wants to:",
    allow: "Allow",
    deny: "Deny",
    scopes: &[
        ("openid", "Know who you are"),
        ("profile", "See your name and user name"),
        ("email", "See your email address"),
    ],
    other_scope: "Use",
};

/// `s` with the characters that mean something in HTML replaced by entities.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
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

/// A whole page around `main`.
fn document(strings: &Strings, product: &str, title: &str, main: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} · {product}</title>\n<link rel=\"stylesheet\" href=\"/assets/signet.css\">\n\
         </head>\n<body>\n<main>\n<p class=\"product\">{product}</p>\n{main}\n</main>\n</body>\n</html>\n",
        lang = strings.lang,
        title = escape(title),
        product = escape(product),
    )
}

/// What every page of an authorization request shows and carries.
#[derive(Debug)]
pub(crate) struct FormPage<'a> {
    pub(crate) product: &'a str,
    /// The client's display name (or id).
    pub(crate) client: &'a str,
    /// The authorization request, carried through the form.
    pub(crate) request: &'a AuthParams,
    /// The anti-CSRF value, also in a cookie.
    pub(crate) csrf: &'a str,
}

/// What the login page shows.
#[derive(Debug)]
pub(crate) struct LoginPage<'a> {
    pub(crate) form: FormPage<'a>,
    /// The user name to fill in (`login_hint`, or what was typed).
    pub(crate) username: &'a str,
    /// A message above the form (a wrong password).
    pub(crate) error: Option<&'a str>,
}

/// The login page: a `<form method="post">` with `username`, `password` and the hidden
/// anti-CSRF field and authorization request.
pub(crate) fn login(strings: &Strings, page: &LoginPage<'_>) -> String {
    let hidden = request_fields(page.form.request);
    let error = page.error.map_or(String::new(), |e| {
        format!(
            "<p class=\"error\" role=\"alert\" id=\"login-error\">{}</p>\n",
            escape(e)
        )
    });
    let described = if page.error.is_some() {
        " aria-describedby=\"login-error\""
    } else {
        ""
    };
    let main = format!(
        "<h1>{title}</h1>\n<p>{to} <strong>{client}</strong></p>\n{error}\
         <form method=\"post\" action=\"/oauth2/login\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n{hidden}\
         <label for=\"username\">{user_label}</label>\n\
         <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" required value=\"{username}\"{described}{focus_user}>\n\
         <label for=\"password\">{pass_label}</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required{described}{focus_pass}>\n\
         <button type=\"submit\">{submit}</button>\n</form>",
        title = escape(strings.sign_in_title),
        to = escape(strings.sign_in_to),
        client = escape(page.form.client),
        csrf = escape(page.form.csrf),
        user_label = escape(strings.username),
        pass_label = escape(strings.password),
        username = escape(page.username),
        submit = escape(strings.submit),
        focus_user = if page.username.is_empty() {
            " autofocus"
        } else {
            ""
        },
        focus_pass = if page.username.is_empty() {
            ""
        } else {
            " autofocus"
        },
    );
    document(strings, page.form.product, strings.sign_in_title, &main)
}

/// Hidden inputs carrying `fields`.
fn hidden(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                escape(k),
                escape(v)
            )
        })
        .collect()
}

/// The logout confirmation (a logout request without an ID token hint): a form that posts
/// `confirm=yes` with the anti-CSRF field and the request's parameters.
pub(crate) fn confirm_logout(
    strings: &Strings,
    product: &str,
    fields: &[(&str, &str)],
    csrf: &str,
) -> String {
    let main = format!(
        "<h1>{title}</h1>\n<p>{question}</p>\n<form method=\"post\" action=\"/oauth2/logout\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <input type=\"hidden\" name=\"confirm\" value=\"yes\">\n{hidden}\
         <button type=\"submit\" autofocus>{submit}</button>\n</form>",
        title = escape(strings.sign_out_title),
        question = escape(strings.sign_out_question),
        csrf = escape(csrf),
        hidden = hidden(fields),
        submit = escape(strings.sign_out_submit),
    );
    document(strings, product, strings.sign_out_title, &main)
}

/// What the consent page shows (the product, the client and the carried request as on the
/// login page).
#[derive(Debug)]
pub(crate) struct ConsentPage<'a> {
    pub(crate) form: FormPage<'a>,
    pub(crate) scope: &'a str,
}

/// The consent page: the client's name, its scopes in words, and a form posting
/// `decision=allow` or `decision=deny`.
pub(crate) fn consent(strings: &Strings, page: &ConsentPage<'_>) -> String {
    let items: String = signet::scope::words(page.scope)
        .map(|scope| {
            let words = strings
                .scopes
                .iter()
                .find(|(name, _)| *name == scope)
                .map_or_else(
                    || format!("{} \u{201c}{}\u{201d}", strings.other_scope, scope),
                    |(_, words)| (*words).to_owned(),
                );
            format!("<li>{}</li>\n", escape(&words))
        })
        .collect();
    let main = format!(
        "<h1>{title}</h1>\n<p><strong>{client}</strong> {lead}</p>\n<ul>\n{items}</ul>\n\
         <form method=\"post\" action=\"/oauth2/consent\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n{hidden}\
         <button type=\"submit\" name=\"decision\" value=\"allow\" autofocus>{allow}</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">{deny}</button>\n</form>",
        title = escape(strings.consent_title),
        client = escape(page.form.client),
        lead = escape(strings.consent_lead),
        csrf = escape(page.form.csrf),
        hidden = request_fields(page.form.request),
        allow = escape(strings.allow),
        deny = escape(strings.deny),
    );
    document(strings, page.form.product, strings.consent_title, &main)
}

/// Hidden inputs carrying an authorization request. Its fields are all strings, so it always
/// encodes; were it ever not to, the form carries none and its answer is refused as an
/// incomplete request, never taken for another.
fn request_fields(request: &AuthParams) -> String {
    let pairs = serde_urlencoded::to_string(request)
        .ok()
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(&q).ok())
        .unwrap_or_default();
    let fields: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    hidden(&fields)
}

/// The page after a logout that has nowhere to return to.
pub(crate) fn signed_out(strings: &Strings, product: &str) -> String {
    let main = format!(
        "<h1>{}</h1>\n<p role=\"status\">{}</p>",
        escape(strings.sign_out_title),
        escape(strings.signed_out)
    );
    document(strings, product, strings.sign_out_title, &main)
}

/// An error page: the request cannot go back to the application.
pub(crate) fn error(strings: &Strings, product: &str, message: &str) -> String {
    let main = format!(
        "<h1>{}</h1>\n<p class=\"error\" role=\"alert\">{}</p>",
        escape(strings.error_title),
        escape(message)
    );
    document(strings, product, strings.error_title, &main)
}

/// The headers of every page: no framing, no inline script, no referrer, no caching.
fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// An HTML page with `status`, extra headers (cookies) and the page headers.
pub(crate) fn page(
    status: StatusCode,
    body: String,
    extra: Vec<(HeaderName, HeaderValue)>,
) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response();
    for (name, value) in extra {
        response.headers_mut().append(name, value);
    }
    secure(response)
}

/// A redirect (303, so that a form's POST becomes a GET) with the page headers.
pub(crate) fn redirect(location: &str, extra: Vec<(HeaderName, HeaderValue)>) -> Response {
    let Ok(value) = HeaderValue::from_str(location) else {
        return page(
            StatusCode::BAD_REQUEST,
            error(&ENGLISH, "Signet", "The redirect URI is not valid."),
            Vec::new(),
        );
    };
    let mut response = StatusCode::SEE_OTHER.into_response();
    response.headers_mut().insert(header::LOCATION, value);
    for (name, value) in extra {
        response.headers_mut().append(name, value);
    }
    secure(response)
}

/// The pages' stylesheet: readable on a phone, visible focus, no external assets.
const STYLESHEET: &str = "\
:root { color-scheme: light dark; --accent: #2b59c3; --error: #b3261e; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, sans-serif; display: flex; justify-content: center; padding: 1rem; }
main { width: 100%; max-width: 24rem; margin-top: 8vh; }
.product { font-weight: 600; letter-spacing: .02em; opacity: .8; margin: 0 0 1rem; }
h1 { font-size: 1.5rem; margin: 0 0 .5rem; }
form { display: flex; flex-direction: column; gap: .35rem; margin-top: 1rem; }
label { font-weight: 600; margin-top: .5rem; }
input { font: inherit; padding: .6rem .7rem; border: 1px solid #8a8a8a; border-radius: .4rem; background: Canvas; color: CanvasText; }
button { font: inherit; font-weight: 600; margin-top: 1rem; padding: .7rem; border: 0; border-radius: .4rem; background: var(--accent); color: #fff; cursor: pointer; }
input:focus-visible, button:focus-visible, a:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
button.secondary { background: transparent; color: var(--accent); border: 1px solid var(--accent); margin-top: .5rem; }
.error { color: var(--error); font-weight: 600; }
";

/// `GET /assets/signet.css`.
pub(crate) async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}
