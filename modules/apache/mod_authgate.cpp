// The Apache httpd module: directives (generated from the core's directive table), the
// per-directory configuration and its merges, validation at check_config, the per-process
// runtime and the hook registrations.
#include "authgate_apache.h"

#include <ap_mpm.h>
#include <http_main.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <vector>

#include "authgate/store_plan.h"
#include "curl_client.h"

namespace authgate::apache {

namespace {

Generation* g_generation = nullptr;
Runtime* g_runtime = nullptr;

template <class T> void delete_with_pool(apr_pool_t* pool, T* obj) {
    apr_pool_cleanup_register(
        pool, obj,
        [](void* data) -> apr_status_t {
            delete static_cast<T*>(data);
            return APR_SUCCESS;
        },
        apr_pool_cleanup_null);
}

std::string place(const char* file, int line) {
    return std::string(file != nullptr ? file : "?") + ":" + std::to_string(line);
}

// Relative paths are taken from the ServerRoot, as Apache's own file directives do.
FileReader file_reader(server_rec* s) {
    return [s](const std::string& path) -> Result<std::string> {
        std::string full = path.starts_with('/') ? path : std::string(ap_server_root) + "/" + path;
        std::ifstream in(full, std::ios::binary);
        if (!in) return fail("cannot open \"" + full + "\": " + std::strerror(errno));
        std::ostringstream text;
        text << in.rdbuf();
        if (in.bad()) return fail("cannot read \"" + full + "\"");
        struct stat st {};
        if (full.ends_with(".key") && ::stat(full.c_str(), &st) == 0 && (st.st_mode & 0077)) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "authgate: key file \"%s\" is readable by group or others", full.c_str());
        }
        return text.str();
    };
}

// Host names resolved at configuration time (never on a request thread).
config::Resolver resolver(apr_pool_t* pool) {
    return [pool](const std::string& host, int port) -> Result<std::string> {
        apr_sockaddr_t* sa = nullptr;
        if (apr_sockaddr_info_get(&sa, host.c_str(), APR_UNSPEC, static_cast<apr_port_t>(port), 0,
                                  pool) != APR_SUCCESS ||
            sa == nullptr) {
            return fail("cannot resolve \"" + host + ":" + std::to_string(port) + "\"");
        }
        char* ip = nullptr;
        if (apr_sockaddr_ip_get(&ip, sa) != APR_SUCCESS || ip == nullptr) {
            return fail("cannot resolve \"" + host + "\"");
        }
        return std::string(ip);
    };
}

// The core's messages name directives by their nginx names: an Apache operator reads the
// Apache ones (whole words only: "authgate" inside a path stays).
std::string in_apache_terms(std::string_view message) {
    auto edge = [](char c) {
        return c == ' ' || c == '"' || c == '(' || c == ')' || c == ':' || c == ',' || c == ';' ||
               c == '\'';
    };
    std::string out;
    std::size_t i = 0;
    while (i < message.size()) {
        const config::Directive* best = nullptr;
        if (i == 0 || edge(message[i - 1])) {
            for (const auto& d : config::directives()) {
                std::size_t end = i + d.name.size();
                if (message.substr(i, d.name.size()) != d.name) continue;
                if (end < message.size() && !edge(message[end])) continue;
                if (best == nullptr || d.name.size() > best->name.size()) best = &d;
            }
        }
        if (best != nullptr) {
            out += best->apache_name;
            i += best->name.size();
        } else {
            out += message[i++];
        }
    }
    return out;
}

void log_config_error(server_rec* s, std::string_view message) {
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "authgate: %s", in_apache_terms(message).c_str());
}

// ---- directives -------------------------------------------------------------------

const char* context_error(cmd_parms* cmd, const config::Directive& d) {
    bool in_section = cmd->path != nullptr;
    unsigned allowed = d.apache_contexts;
    bool ok = in_section ? (allowed & config::kDirectory) != 0
                         : (allowed & (cmd->server->is_virtual ? config::kVirtualHost
                                                               : config::kServerConfig)) != 0;
    if (ok) return nullptr;
    const char* where = in_section
                            ? "<Directory>/<Location>"
                            : (cmd->server->is_virtual ? "<VirtualHost>" : "the server config");
    return apr_psprintf(cmd->pool, "%s is not allowed in %s", cmd->cmd->name, where);
}

const char* set_directive(cmd_parms* cmd, void* mconfig, int argc, char* const argv[]) noexcept {
    try {
        const auto* d = static_cast<const config::Directive*>(cmd->info);
        if (const char* err = context_error(cmd, *d)) return err;
        auto count = static_cast<unsigned>(argc);
        if (count < d->min_args || count > d->max_args) {
            return apr_psprintf(cmd->pool, "%s: invalid number of arguments", cmd->cmd->name);
        }
        std::vector<std::string_view> args(argv, argv + argc);
        auto* dc = static_cast<DirConf*>(mconfig);
        auto applied = d->apply(dc->settings, args);
        if (!applied) {
            return apr_psprintf(cmd->pool, "%s %s", cmd->cmd->name,
                                in_apache_terms(applied.error()).c_str());
        }
        std::string key = config::origin_key(*d, args);
        config::record_origin(dc->settings, key,
                              place(cmd->directive->filename, cmd->directive->line_num));
        Generation* gen = generation();
        if (d->name == "authgate_identity_headers" || d->name == "authgate_cookie_name") {
            gen->owned.add(dc->settings);
        }
        if (config::gate_active(dc->settings) || d->name == "authgate_key_file") gen->used = true;
        return nullptr;
    } catch (const std::exception& e) {
        return apr_pstrdup(cmd->pool, e.what());
    }
}

std::vector<command_rec> build_commands() {
    std::vector<command_rec> out;
    for (const auto& d : config::directives()) {
        command_rec c{};
        // The table's names are string literals: NUL-terminated.
        c.name = d.apache_name.data();
        c.func.take_argv = set_directive;
        c.cmd_data = const_cast<config::Directive*>(&d);
        c.req_override = RSRC_CONF | ACCESS_CONF; // never from .htaccess
        c.args_how = TAKE_ARGV;
        c.errmsg = d.help.data();
        out.push_back(c);
    }
    out.push_back(command_rec{});
    return out;
}

// ---- configuration ----------------------------------------------------------------

void* create_dir_config(apr_pool_t* p, char* dir) noexcept {
    auto* dc = new (std::nothrow) DirConf();
    if (dc == nullptr) return nullptr;
    if (dir != nullptr) dc->section = dir;
    delete_with_pool(p, dc);
    return dc;
}

// Apache merges per request; the same pair of parents always gives the same result, so
// each merge is made once and kept for the generation.
void* merge_dir_config(apr_pool_t*, void* base_conf, void* add_conf) noexcept {
    const auto* base = static_cast<const DirConf*>(base_conf);
    const auto* add = static_cast<const DirConf*>(add_conf);
    Generation* gen = generation();
    try {
        std::lock_guard lock(gen->mutex);
        auto& slot = gen->merges[{base, add}];
        if (!slot) {
            auto merged = std::make_unique<DirConf>();
            merged->settings = add->settings;
            config::merge(merged->settings, base->settings);
            merged->section = add->section.empty() ? base->section : add->section;
            merged->regex = add->section.empty() ? base->regex : add->regex;
            slot = std::move(merged);
        }
        return slot.get();
    } catch (...) {
        return const_cast<DirConf*>(add);
    }
}

DirConf* server_defaults(server_rec* s) {
    return static_cast<DirConf*>(ap_get_module_config(s->lookup_defaults, &authgate_module));
}

// AuthType authgate and SetHandler authgate-endpoint are only known per request: the
// section's files are loaded now, while the server can still read them (its children may
// not: a key file belongs to root). A failure is reported when a request needs the variant.
void preload_gated(DirConf& dc, server_rec* s) {
    Generation* gen = generation();
    std::lock_guard lock(gen->mutex);
    config::Settings settings = dc.settings;
    settings.enabled = true;
    (void)resolve(settings, gen->cache, file_reader(s));
}

// The section's limit zones have their store (store=redis needs AuthGateRedis); store=shm
// beside Redis keeps the shared region for them.
bool check_limit_stores(server_rec* sv, const GateConfig& g, const config::Settings& s) {
    Generation* gen = generation();
    bool redis = gen->plan && gen->plan->kind == config::StorePlan::Kind::redis;
    auto local = limits_need_local_store(g, s, redis);
    if (!local) {
        log_config_error(sv, local.error());
        return false;
    }
    gen->local_limits |= *local;
    return true;
}

// Every section of every server, merged over its server's defaults, must resolve: errors
// name the directive's file and line (apache2 -t runs this hook, not post_config).
bool check_sections(server_rec* sv, DirConf& defaults) {
    auto* core = static_cast<core_server_config*>(ap_get_core_module_config(sv->module_config));
    for (apr_array_header_t* list : {core->sec_url, core->sec_dir}) {
        if (list == nullptr) continue;
        auto** sections = reinterpret_cast<ap_conf_vector_t**>(list->elts);
        for (int i = 0; i < list->nelts; ++i) {
            auto* dc = static_cast<DirConf*>(ap_get_module_config(sections[i], &authgate_module));
            if (dc == nullptr) continue;
            auto* core_dir = static_cast<core_dir_config*>(ap_get_core_module_config(sections[i]));
            dc->regex = core_dir != nullptr && core_dir->r != nullptr;
            auto* merged = static_cast<DirConf*>(merge_dir_config(nullptr, &defaults, dc));
            merged->regex = dc->regex;
            const GateConfig* g = gate_for(*merged, Variant::as_written, sv);
            if (g == nullptr || !check_limit_stores(sv, *g, merged->settings)) return false;
            if (merged->settings.key_file) preload_gated(*merged, sv);
            auto placed =
                check_endpoint_location(*g, merged->settings, merged->section, merged->regex);
            if (!placed) {
                log_config_error(sv, placed.error());
                return false;
            }
        }
    }
    return true;
}

// Every "Require authgate-role" names roles its server defines.
bool check_role_references(server_rec* sv, const config::Settings& server) {
    for (const auto& ref : generation()->role_references) {
        if (ref.server != sv) continue;
        for (const auto& role : ref.roles) {
            bool defined =
                server.roles && std::any_of(server.roles->begin(), server.roles->end(),
                                            [&](const auto& d) { return d->name == role; });
            if (!defined) {
                std::string message = "Require authgate-role \"" + role + "\": no authgate_role \"";
                message += role;
                message += "\" is defined for this server in ";
                message += ref.place;
                log_config_error(sv, message);
                return false;
            }
        }
    }
    return true;
}

int check_config(apr_pool_t* pconf, apr_pool_t*, apr_pool_t*, server_rec* s) noexcept {
    try {
        DirConf* main = server_defaults(s);
        if (auto checked = config::check_main(main->settings); !checked) {
            log_config_error(s, checked.error());
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (!generation()->used) return OK;
        auto plan = config::plan_store(main->settings, resolver(pconf), file_reader(s));
        if (!plan) {
            log_config_error(s, plan.error());
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        generation()->plan = std::move(*plan);
        for (server_rec* sv = s; sv != nullptr; sv = sv->next) {
            DirConf* defaults = server_defaults(sv);
            if (sv != s) defaults = static_cast<DirConf*>(merge_dir_config(pconf, main, defaults));
            if (!check_role_references(sv, defaults->settings)) return HTTP_INTERNAL_SERVER_ERROR;
            const GateConfig* g = gate_for(*defaults, Variant::as_written, sv);
            if (g == nullptr || !check_limit_stores(sv, *g, defaults->settings)) {
                return HTTP_INTERNAL_SERVER_ERROR;
            }
            if (defaults->settings.key_file) preload_gated(*defaults, sv);
            if (!check_sections(sv, *defaults)) return HTTP_INTERNAL_SERVER_ERROR;
        }
        return OK;
    } catch (const std::exception& e) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "authgate: %s", e.what());
        return HTTP_INTERNAL_SERVER_ERROR;
    }
}

int pre_config(apr_pool_t* pconf, apr_pool_t*, apr_pool_t*) noexcept {
    auto* gen = new (std::nothrow) Generation();
    if (gen == nullptr) return HTTP_INTERNAL_SERVER_ERROR;
    g_generation = gen;
    apr_pool_cleanup_register(
        pconf, gen,
        [](void* data) -> apr_status_t {
            if (g_generation == data) g_generation = nullptr;
            delete static_cast<Generation*>(data);
            return APR_SUCCESS;
        },
        apr_pool_cleanup_null);
    return OK;
}

// The embedded store's shared memory, on every pass (apache2 -t does not get here).
int post_config(apr_pool_t* pconf, apr_pool_t*, apr_pool_t* ptemp, server_rec* s) noexcept {
    try {
        return store_post_config(pconf, ptemp, s) ? OK : HTTP_INTERNAL_SERVER_ERROR;
    } catch (const std::exception& e) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "authgate: %s", e.what());
        return HTTP_INTERNAL_SERVER_ERROR;
    }
}

// ---- per-process runtime ----------------------------------------------------------

void child_init(apr_pool_t* pchild, server_rec* s) noexcept {
    if (!generation()->used) return;
    try {
        if (!curl::global_init()) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "authgate: cannot initialise libcurl");
            return;
        }
        auto rt = std::make_unique<Runtime>();
        rt->core = std::make_unique<authgate::Runtime>(store_runtime_options());
        if (!store_child_init(pchild, s, *rt)) {
            // No runtime: gated requests answer 500 (fail closed), the error is logged.
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "authgate: the store is not available");
            return;
        }
        g_runtime = rt.release();
        apr_pool_cleanup_register(
            pchild, g_runtime,
            [](void* data) -> apr_status_t {
                delete static_cast<Runtime*>(data);
                g_runtime = nullptr;
                curl::global_shutdown();
                return APR_SUCCESS;
            },
            apr_pool_cleanup_null);
    } catch (const std::exception& e) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "authgate: %s", e.what());
    }
}

void register_hooks(apr_pool_t* p) noexcept {
    ap_hook_pre_config(pre_config, nullptr, nullptr, APR_HOOK_MIDDLE);
    ap_hook_check_config(check_config, nullptr, nullptr, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, nullptr, nullptr, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, nullptr, nullptr, APR_HOOK_MIDDLE);
    // PER_CONF: a subrequest or redirect with its parent's configuration inherits the
    // parent's decision (and r->user) instead of re-running the hooks.
    ap_hook_check_access(access_checker, nullptr, nullptr, APR_HOOK_FIRST,
                         AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_check_authn(check_authn, nullptr, nullptr, APR_HOOK_FIRST, AP_AUTH_INTERNAL_PER_CONF);
    // Before mod_proxy (also FIRST): an endpoint section may inherit a ProxyPass.
    ap_hook_handler(endpoint_handler, nullptr, nullptr, APR_HOOK_REALLY_FIRST);
    register_authz_providers(p);
}

std::vector<command_rec> g_commands = build_commands();

} // namespace

Generation* generation() {
    // Only null before the first pre_config (never while requests run).
    static Generation fallback;
    return g_generation != nullptr ? g_generation : &fallback;
}

Runtime* runtime() { return g_runtime; }

DirConf* dir_conf(request_rec* r) {
    return static_cast<DirConf*>(ap_get_module_config(r->per_dir_config, &authgate_module));
}

const GateConfig* gate_for(DirConf& dc, Variant v, server_rec* s) {
    auto index = static_cast<std::size_t>(v);
    if (const GateConfig* g = dc.resolved[index].load(std::memory_order_acquire)) return g;
    Generation* gen = generation();
    std::lock_guard lock(gen->mutex);
    if (const GateConfig* g = dc.resolved[index].load(std::memory_order_relaxed)) return g;
    config::Settings settings = dc.settings;
    if (v == Variant::gated) settings.enabled = true;
    if (v == Variant::endpoint) settings.endpoint = true;
    auto resolved = resolve(settings, gen->cache, file_reader(s));
    if (!resolved) {
        log_config_error(s, resolved.error());
        return nullptr;
    }
    gen->owned.give(*resolved);
    dc.owned[index] = std::make_unique<GateConfig>(std::move(*resolved));
    dc.resolved[index].store(dc.owned[index].get(), std::memory_order_release);
    return dc.owned[index].get();
}

} // namespace authgate::apache

extern "C" {

__attribute__((visibility("default"))) module AP_MODULE_DECLARE_DATA authgate_module = {
    STANDARD20_MODULE_STUFF,
    authgate::apache::create_dir_config,
    authgate::apache::merge_dir_config,
    nullptr,
    nullptr,
    authgate::apache::g_commands.data(),
    authgate::apache::register_hooks,
    AP_MODULE_FLAG_NONE,
};
}
