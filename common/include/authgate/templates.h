// HTML pages from templates: {{name}} inserts an HTML-escaped value, {{#name}}...{{/name}}
// keeps its content only when the value is non-empty. Unknown names are rejected when
// the template is loaded, so an operator's typo fails `nginx -t`.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authgate/config.h"
#include "authgate/result.h"

namespace authgate {

using TemplateVars = std::vector<std::pair<std::string_view, std::string_view>>;

class Template {
  public:
    static Result<Template> parse(std::string_view text,
                                  const std::vector<std::string_view>& allowed);
    std::string render(const TemplateVars& vars) const;

  private:
    struct Node {
        enum class Kind { text, var, section } kind;
        std::string text;  // literal text or variable name
        std::vector<Node> children;
    };
    std::vector<Node> nodes_;
    static void render_nodes(const std::vector<Node>& nodes, const TemplateVars& vars,
                             std::string& out);
};

class Templates {
  public:
    static Result<Templates> builtin();
    // Loads login.html, signed_out.html and error.html from dir; a missing file falls
    // back to the built-in page.
    static Result<Templates> load(const std::string& dir, const FileReader& read);

    Template login;
    Template signed_out;
    Template error;
};

} // namespace authgate
