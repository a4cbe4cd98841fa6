// HTML pages from templates: {{name}} inserts an HTML-escaped value, {{#name}}...{{/name}}
// keeps its content only when the value is non-empty, {{*name}}...{{/name}} repeats its
// content once per item of a list (an item's values shadow the page's). Unknown names are rejected
// when the template is loaded, so an operator's typo fails `nginx -t`.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authgate/config.h"
#include "authgate/result.h"

namespace authgate {

using TemplateVars = std::vector<std::pair<std::string_view, std::string_view>>;
using TemplateLists = std::vector<std::pair<std::string_view, std::vector<TemplateVars>>>;

class Template {
  public:
    static Result<Template> parse(std::string_view text,
                                  const std::vector<std::string_view>& allowed);
    std::string render(const TemplateVars& vars, const TemplateLists& lists = {}) const;

  private:
    struct Node {
        enum class Kind { text, var, section, list } kind;
        std::string text; // literal text or variable name
        std::vector<Node> children;
    };
    std::vector<Node> nodes_;
    static void render_nodes(const std::vector<Node>& nodes, const TemplateVars& vars,
                             const TemplateLists& lists, std::string& out);
};

class Templates {
  public:
    static Result<Templates> builtin();
    // Loads login.html, logout.html, signed_out.html and error.html from dir; a missing
    // file falls back to the built-in page.
    static Result<Templates> load(const std::string& dir, const FileReader& read);

    Template login;
    Template logout; // sign-out confirmation: a form posting the session's CSRF token
    Template signed_out;
    Template error;
};

} // namespace authgate
