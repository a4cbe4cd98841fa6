#include "authgate/templates.h"

namespace authgate {

namespace {

const std::vector<std::string_view> kLoginVars = {
    "action",    "rd",      "csrf",      "error",    "username",      "prefix",
    "providers", "sso_url", "sso_label", "sso_name", "has_providers", "has_password"};
const std::vector<std::string_view> kLogoutVars = {"action", "csrf", "rd", "user", "prefix"};
const std::vector<std::string_view> kSignedOutVars = {"login_url", "prefix"};
const std::vector<std::string_view> kErrorVars = {"status", "title", "message", "login_url",
                                                  "prefix"};

constexpr std::string_view kStyle = R"(<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f4f5f7;color:#1d2330;margin:0}
main{max-width:22rem;margin:12vh auto;background:#fff;padding:2rem;border-radius:10px;box-shadow:0 2px 12px rgba(0,0,0,.08)}
h1{font-size:1.3rem;margin:0 0 1.2rem}
label{display:block;font-size:.9rem;margin:.8rem 0 .3rem}
.check{display:flex;gap:.5rem;align-items:center;font-size:.95rem;margin-top:1rem}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.55rem;border:1px solid #c5cad3;border-radius:6px;font-size:1rem}
button,.button{display:inline-block;margin-top:1.2rem;width:100%;padding:.6rem;border:0;border-radius:6px;background:#2452c9;color:#fff;font-size:1rem;text-align:center;text-decoration:none;cursor:pointer}
.error{background:#fdecec;color:#9b1c1c;padding:.6rem .8rem;border-radius:6px;font-size:.9rem}
p{line-height:1.4}
.sso .button{margin-top:.6rem}
.or{text-align:center;color:#6b7280;margin:1rem 0 0}
</style>)";

std::string page(std::string_view title, std::string_view body) {
    std::string out;
    out += "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
           "<meta name=\"robots\" content=\"noindex\"><title>";
    out += title;
    out += "</title>";
    out += kStyle;
    out += "</head><body><main>\n";
    out += body;
    out += "\n</main></body></html>\n";
    return out;
}

const std::string kLoginPage = page("Sign in", R"(<h1>Sign in</h1>
{{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
{{#has_providers}}<nav class="sso">
{{*providers}}<a class="button" href="{{sso_url}}" data-provider="{{sso_name}}">Sign in with {{sso_label}}</a>
{{/providers}}</nav>{{#has_password}}<p class="or">or</p>{{/has_password}}{{/has_providers}}
{{#has_password}}<form method="post" action="{{action}}">
<input type="hidden" name="csrf" value="{{csrf}}">
<input type="hidden" name="rd" value="{{rd}}">
<label for="username">Username</label>
<input type="text" id="username" name="username" value="{{username}}" autocomplete="username" autocapitalize="none" required autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>{{/has_password}})");

const std::string kLogoutPage = page("Sign out", R"(<h1>Sign out</h1>
<p>You are signed in as <strong>{{user}}</strong>. Sign out now?</p>
<form id="logout" method="post" action="{{action}}">
<input type="hidden" name="csrf" value="{{csrf}}">
<input type="hidden" name="rd" value="{{rd}}">
<label class="check"><input type="checkbox" name="everywhere" value="1"> On every device</label>
<button type="submit">Sign out</button>
</form>)");

const std::string kSignedOutPage = page("Signed out", R"(<h1>You have signed out</h1>
<p>Your session has ended.</p>
<a class="button" href="{{login_url}}">Sign in again</a>)");

const std::string kErrorPage = page("{{title}}", R"(<h1>{{title}}</h1>
<p>{{message}}</p>
{{#login_url}}<a class="button" href="{{login_url}}">Sign in</a>{{/login_url}})");

Result<Template> parse_named(std::string_view name, std::string_view text,
                             const std::vector<std::string_view>& vars) {
    auto t = Template::parse(text, vars);
    if (!t) return fail(std::string(name) + ": " + t.error());
    return t;
}

} // namespace

Result<Templates> Templates::builtin() {
    auto login = parse_named("login.html", kLoginPage, kLoginVars);
    auto logout = parse_named("logout.html", kLogoutPage, kLogoutVars);
    auto out = parse_named("signed_out.html", kSignedOutPage, kSignedOutVars);
    auto err = parse_named("error.html", kErrorPage, kErrorVars);
    if (!login) return fail(login.error());
    if (!logout) return fail(logout.error());
    if (!out) return fail(out.error());
    if (!err) return fail(err.error());
    return Templates{std::move(*login), std::move(*logout), std::move(*out), std::move(*err)};
}

Result<Templates> Templates::load(const std::string& dir, const FileReader& read) {
    auto t = builtin();
    if (!t) return t;
    struct Item {
        const char* file;
        Template* slot;
        const std::vector<std::string_view>* vars;
    };
    Item items[] = {{"login.html", &t->login, &kLoginVars},
                    {"logout.html", &t->logout, &kLogoutVars},
                    {"signed_out.html", &t->signed_out, &kSignedOutVars},
                    {"error.html", &t->error, &kErrorVars}};
    std::string base = dir;
    if (!base.empty() && base.back() != '/') base += '/';
    int found = 0;
    for (auto& item : items) {
        auto text = read(base + item.file);
        if (!text) continue; // not provided: keep the built-in page
        ++found;
        auto parsed = parse_named(base + item.file, *text, *item.vars);
        if (!parsed) return fail(parsed.error());
        *item.slot = std::move(*parsed);
    }
    if (found == 0) {
        return fail("no login.html, logout.html, signed_out.html or error.html readable in \"" +
                    dir + "\"");
    }
    return t;
}

} // namespace authgate
