#include "authgate/http.h"
#include "authgate/templates.h"

#include <algorithm>

namespace authgate {

namespace {

std::string_view lookup(const TemplateVars& vars, std::string_view name) {
    for (const auto& [n, v] : vars) {
        if (n == name) return v;
    }
    return {};
}

bool valid_name(std::string_view n) {
    if (n.empty()) return false;
    return std::all_of(n.begin(), n.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

} // namespace

Result<Template> Template::parse(std::string_view text,
                                 const std::vector<std::string_view>& allowed) {
    Template t;
    // Stack of open sections; the bottom is the template's own node list.
    std::vector<std::vector<Node>*> stack{&t.nodes_};
    std::vector<std::string> open_names;
    std::size_t line = 1;
    auto where = [&] { return "line " + std::to_string(line) + ": "; };

    while (!text.empty()) {
        auto open = text.find("{{");
        std::string_view literal = text.substr(0, open);
        if (!literal.empty()) {
            stack.back()->push_back(Node{Node::Kind::text, std::string(literal), {}});
            line += static_cast<std::size_t>(std::count(literal.begin(), literal.end(), '\n'));
        }
        if (open == std::string_view::npos) break;
        text.remove_prefix(open + 2);
        auto close = text.find("}}");
        if (close == std::string_view::npos) return fail(where() + "unclosed \"{{\"");
        std::string_view tag = text.substr(0, close);
        text.remove_prefix(close + 2);

        char sigil = tag.empty() ? '\0' : tag.front();
        std::string_view name =
            (sigil == '#' || sigil == '/' || sigil == '*') ? tag.substr(1) : tag;
        if (!valid_name(name)) {
            return fail(where() + "bad placeholder \"{{" + std::string(tag) + "}}\"");
        }
        if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
            return fail(where() + "unknown placeholder \"" + std::string(name) + "\"");
        }
        if (sigil == '#' || sigil == '*') {
            stack.back()->push_back(
                Node{sigil == '#' ? Node::Kind::section : Node::Kind::list, std::string(name), {}});
            stack.push_back(&stack.back()->back().children);
            open_names.emplace_back(name);
        } else if (sigil == '/') {
            if (open_names.empty() || open_names.back() != name) {
                return fail(where() + "\"{{/" + std::string(name) + "}}\" closes nothing");
            }
            open_names.pop_back();
            stack.pop_back();
        } else {
            stack.back()->push_back(Node{Node::Kind::var, std::string(name), {}});
        }
    }
    if (!open_names.empty()) {
        return fail("section \"" + open_names.back() + "\" is never closed");
    }
    return t;
}

void Template::render_nodes(const std::vector<Node>& nodes, const TemplateVars& vars,
                            const TemplateLists& lists, std::string& out) {
    for (const auto& n : nodes) {
        switch (n.kind) {
        case Node::Kind::text: out += n.text; break;
        case Node::Kind::var: out += http::html_escape(lookup(vars, n.text)); break;
        case Node::Kind::section:
            if (!lookup(vars, n.text).empty()) render_nodes(n.children, vars, lists, out);
            break;
        case Node::Kind::list:
            for (const auto& [name, items] : lists) {
                if (name != n.text) continue;
                for (const auto& item : items) {
                    TemplateVars scoped = item;
                    scoped.insert(scoped.end(), vars.begin(), vars.end());
                    render_nodes(n.children, scoped, lists, out);
                }
            }
            break;
        }
    }
}

std::string Template::render(const TemplateVars& vars, const TemplateLists& lists) const {
    std::string out;
    out.reserve(4096);
    render_nodes(nodes_, vars, lists, out);
    return out;
}

} // namespace authgate
