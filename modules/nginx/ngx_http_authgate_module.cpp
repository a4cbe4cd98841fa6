// The nginx module: directives (generated from the core's directive table),
// configuration create/merge, phase registration and per-worker runtime.
#include "curl_client.h"
#include "ngx_http_authgate_conf.h"
#include "ngx_http_authgate_request.h"
#include "ngx_http_authgate_shm_store.h"

#include <array>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <vector>

#include "authgate/templates.h"

#ifndef AUTHGATE_NGINX_SIGNATURE
#error "AUTHGATE_NGINX_SIGNATURE must be set by the build"
#endif

namespace authgate::ngx {

namespace {

constexpr bool same_text(const char* a, const char* b) {
    while (*a != '\0' && *a == *b) {
        ++a;
        ++b;
    }
    return *a == *b;
}
static_assert(same_text(NGX_MODULE_SIGNATURE, AUTHGATE_NGINX_SIGNATURE),
              "nginx headers do not match the ABI signature of the target nginx binary");

Runtime* g_runtime = nullptr;

template <class T> T* pool_new(ngx_pool_t* pool) {
    ngx_pool_cleanup_t* cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == nullptr) return nullptr;
    T* obj = new T();
    cln->handler = [](void* data) noexcept { delete static_cast<T*>(data); };
    cln->data = obj;
    return obj;
}

// "FILE:LINE" of the directive being parsed (later, cf->conf_file->line is elsewhere).
std::string parse_place(ngx_conf_t* cf) {
    return std::string(sv(cf->conf_file->file.name)) + ":" + std::to_string(cf->conf_file->line);
}

char* conf_error(ngx_conf_t* cf, const std::string& message) {
    ngx_log_error(NGX_LOG_EMERG, cf->log, 0, "authgate: %s", message.c_str());
    return static_cast<char*>(NGX_CONF_ERROR);
}

// Relative paths are taken from nginx's prefix, as other file directives do.
FileReader file_reader(ngx_conf_t* cf) {
    ngx_cycle_t* cycle = cf->cycle;
    ngx_log_t* log = cf->log;
    return [cycle, log](const std::string& path) -> Result<std::string> {
        ngx_str_t name = pool_str(cycle->pool, path);
        if (name.data == nullptr || ngx_conf_full_name(cycle, &name, 1) != NGX_OK) {
            return fail("cannot resolve path \"" + path + "\"");
        }
        std::string full(sv(name));
        std::ifstream in(full, std::ios::binary);
        if (!in) return fail("cannot open \"" + full + "\": " + std::strerror(errno));
        std::ostringstream text;
        text << in.rdbuf();
        if (in.bad()) return fail("cannot read \"" + full + "\"");
        struct stat st {};
        if (full.ends_with(".key") && ::stat(full.c_str(), &st) == 0 && (st.st_mode & 0077)) {
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "authgate: key file \"%s\" is readable by group or others", full.c_str());
        }
        return text.str();
    };
}

// The core's resolver port: host names are resolved here, at configuration time, never on
// the event loop.
config::Resolver resolver(ngx_conf_t* cf) {
    return [cf](const std::string& host, int port) -> Result<std::string> {
        ngx_url_t u{};
        std::string hostport = host + ":" + std::to_string(port);
        u.url = pool_str(cf->pool, hostport);
        u.default_port = static_cast<in_port_t>(port);
        if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
            return fail("cannot resolve \"" + hostport + "\"" +
                        (u.err ? std::string(": ") + u.err : std::string()));
        }
        u_char text[NGX_SOCKADDR_STRLEN];
        size_t len =
            ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen, text, NGX_SOCKADDR_STRLEN, 0);
        return std::string(reinterpret_cast<char*>(text), len);
    };
}

// ---- directives -------------------------------------------------------------------

char* set_directive(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
    return guard(cf->log, static_cast<char*>(NGX_CONF_ERROR), [&]() -> char* {
        const auto* d = static_cast<const config::Directive*>(cmd->post);
        auto* settings = *static_cast<config::Settings**>(conf);
        auto* values = static_cast<ngx_str_t*>(cf->args->elts);
        std::vector<std::string_view> args;
        for (ngx_uint_t i = 1; i < cf->args->nelts; ++i) args.push_back(sv(values[i]));
        if (args.size() < d->min_args || args.size() > d->max_args) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid number of arguments in \"%V\"",
                               &cmd->name);
            return static_cast<char*>(NGX_CONF_ERROR);
        }
        auto applied = d->apply(*settings, args);
        if (!applied) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" directive %s", &cmd->name,
                               applied.error().c_str());
            return static_cast<char*>(NGX_CONF_ERROR);
        }
        std::string key = config::origin_key(*d, args);
        config::record_origin(*settings, key, parse_place(cf));
        auto* mc = static_cast<MainConf*>(
            ngx_http_conf_get_module_main_conf(cf, ngx_http_authgate_module));
        // Merges run after the whole http block is parsed: by then this holds every name.
        if (d->name == "authgate_identity_headers" || d->name == "authgate_cookie_name") {
            mc->owned->add(*settings);
        }
        if (d->contexts != config::kMain && config::gate_active(*settings)) mc->used = true;
        if (d->name == "authgate_endpoint") {
            auto* clcf = static_cast<ngx_http_core_loc_conf_t*>(
                ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
            clcf->handler = endpoint_handler;
        }
        return static_cast<char*>(NGX_CONF_OK);
    });
}

ngx_uint_t arg_flags(const config::Directive& d) {
    static constexpr ngx_uint_t kTake[] = {NGX_CONF_NOARGS, NGX_CONF_TAKE1, NGX_CONF_TAKE2,
                                           NGX_CONF_TAKE3,  NGX_CONF_TAKE4, NGX_CONF_TAKE5,
                                           NGX_CONF_TAKE6,  NGX_CONF_TAKE7};
    if (d.max_args >= 8) return d.min_args == 0 ? NGX_CONF_ANY : NGX_CONF_1MORE;
    ngx_uint_t flags = 0;
    for (unsigned n = d.min_args; n <= d.max_args; ++n) flags |= kTake[n];
    return flags;
}

std::vector<ngx_command_t> build_commands() {
    std::vector<ngx_command_t> out;
    for (const auto& d : config::directives()) {
        ngx_command_t c{};
        c.name.len = d.name.size();
        c.name.data = reinterpret_cast<u_char*>(const_cast<char*>(d.name.data()));
        ngx_uint_t ctx = 0;
        if (d.contexts & config::kMain) ctx |= NGX_HTTP_MAIN_CONF;
        if (d.contexts & config::kServer) ctx |= NGX_HTTP_SRV_CONF;
        if (d.contexts & config::kLocation) ctx |= NGX_HTTP_LOC_CONF;
        c.type = ctx | arg_flags(d);
        c.set = set_directive;
        c.conf = d.contexts == config::kMain ? NGX_HTTP_MAIN_CONF_OFFSET : NGX_HTTP_LOC_CONF_OFFSET;
        c.offset = 0;
        c.post = const_cast<config::Directive*>(&d);
        out.push_back(c);
    }
    ngx_command_t end{}; // ngx_null_command
    out.push_back(end);
    return out;
}

// ---- configuration ----------------------------------------------------------------

void* create_main_conf(ngx_conf_t* cf) noexcept {
    return guard(cf->log, static_cast<void*>(nullptr), [&]() -> void* {
        auto* mc = static_cast<MainConf*>(ngx_pcalloc(cf->pool, sizeof(MainConf)));
        if (mc == nullptr) return nullptr;
        mc->settings = pool_new<config::Settings>(cf->pool);
        mc->cache = pool_new<ResourceCache>(cf->pool);
        mc->owned = pool_new<OwnedNames>(cf->pool);
        if (mc->settings == nullptr || mc->cache == nullptr || mc->owned == nullptr) {
            return nullptr;
        }
        return mc;
    });
}

char* init_main_conf(ngx_conf_t* cf, void* conf) noexcept {
    return guard(cf->log, static_cast<char*>(NGX_CONF_ERROR), [&]() -> char* {
        auto* mc = static_cast<MainConf*>(conf);
        const config::Settings& settings = *mc->settings;
        // Runs after the http block: errors name the directive's place, not the "}".
        if (auto checked = config::check_main(settings); !checked) {
            return conf_error(cf, checked.error());
        }
        if (!mc->used) return static_cast<char*>(NGX_CONF_OK);
        auto plan = config::plan_store(settings, resolver(cf), file_reader(cf));
        if (!plan) return conf_error(cf, plan.error());
        // Password hashing: nginx's default pool (sized with "thread_pool default ...").
        // IdP calls get threads of their own in each worker (IdpPool).
        ngx_str_t pool_name = ngx_string("default");
        mc->thread_pool = ngx_thread_pool_add(cf, &pool_name);
        if (mc->thread_pool == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
        config::Settings with_defaults = settings;
        config::apply_defaults(with_defaults);
        mc->idp_threads = *with_defaults.idp_threads;
        if (plan->kind == config::StorePlan::Kind::redis) {
            mc->redis = pool_new<RedisEndpoint>(cf->pool);
            if (mc->redis == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
            *mc->redis = RedisEndpoint{std::move(plan->redis)};
            if (!redis_share_beats(cf, *mc->redis)) return static_cast<char*>(NGX_CONF_ERROR);
            return static_cast<char*>(NGX_CONF_OK);
        }
        ngx_str_t name = pool_str(cf->pool, plan->zone.name);
        mc->zone = shm_store_zone_add(cf, name, plan->zone.size, plan->zone_origin);
        if (mc->zone == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
        return static_cast<char*>(NGX_CONF_OK);
    });
}

// A location's limit zones: their store exists, and variable keys are compiled.
char* bind_limits(ngx_conf_t* cf, MainConf& mc, LocConf& lc) {
    const auto& limits = lc.gate->limits;
    if (limits.empty()) return static_cast<char*>(NGX_CONF_OK);
    lc.limit_values = static_cast<ngx_http_complex_value_t**>(
        ngx_pcalloc(cf->pool, sizeof(ngx_http_complex_value_t*) * limits.size()));
    if (lc.limit_values == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
    auto local = limits_need_local_store(*lc.gate, *lc.settings, mc.redis != nullptr);
    if (!local) return conf_error(cf, local.error());
    if (*local && mc.zone == nullptr) {
        // Beside Redis, the zone of authgate_shm_zone (or its default) holds local limits.
        config::Settings with_defaults = *mc.settings;
        config::apply_defaults(with_defaults);
        ngx_str_t name = pool_str(cf->pool, with_defaults.shm_zone->name);
        mc.zone = shm_store_zone_add(cf, name, with_defaults.shm_zone->size,
                                     config::origin_of(*mc.settings, "authgate_shm_zone"));
        if (mc.zone == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
    }
    using Zone = config::LimitZone;
    for (std::size_t i = 0; i < limits.size(); ++i) {
        const Zone& z = *limits[i].zone;
        std::string place = config::origin_of(*lc.settings, "authgate_limit_zone " + z.name);
        if (z.key != Zone::Key::variable) continue;
        auto* cv = static_cast<ngx_http_complex_value_t*>(
            ngx_pcalloc(cf->pool, sizeof(ngx_http_complex_value_t)));
        if (cv == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
        std::string text = "$" + z.variable;
        ngx_str_t value = pool_str(cf->pool, text);
        ngx_http_compile_complex_value_t ccv{};
        ccv.cf = cf;
        ccv.value = &value;
        ccv.complex_value = cv;
        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            std::string message = "authgate_limit_zone " + z.name;
            message += ": cannot use key=" + text;
            message += place;
            return conf_error(cf, message);
        }
        lc.limit_values[i] = cv;
    }
    return static_cast<char*>(NGX_CONF_OK);
}

void* create_loc_conf(ngx_conf_t* cf) noexcept {
    return guard(cf->log, static_cast<void*>(nullptr), [&]() -> void* {
        auto* lc = static_cast<LocConf*>(ngx_pcalloc(cf->pool, sizeof(LocConf)));
        if (lc == nullptr) return nullptr;
        lc->settings = pool_new<config::Settings>(cf->pool);
        if (lc->settings == nullptr) return nullptr;
        return lc;
    });
}

char* merge_loc_conf(ngx_conf_t* cf, void* parent, void* child) noexcept {
    return guard(cf->log, static_cast<char*>(NGX_CONF_ERROR), [&]() -> char* {
        auto* prev = static_cast<LocConf*>(parent);
        auto* conf = static_cast<LocConf*>(child);
        config::merge(*conf->settings, *prev->settings);
        bool active = config::gate_active(*conf->settings);
        auto* mc = static_cast<MainConf*>(
            ngx_http_conf_get_module_main_conf(cf, ngx_http_authgate_module));
        // Where the gate is used at all, every location (gated or not) gets a resolved
        // config, so that client-sent identity headers and the gate's cookies are removed
        // everywhere; ungated locations load no files.
        if (!active && !mc->used) return static_cast<char*>(NGX_CONF_OK);
        auto resolved = resolve(*conf->settings, *mc->cache, file_reader(cf));
        if (!resolved) return conf_error(cf, resolved.error()); // names its directive's place
        auto* clcf = static_cast<ngx_http_core_loc_conf_t*>(
            ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
#if (NGX_PCRE)
        bool regex = clcf->regex != nullptr;
#else
        bool regex = false;
#endif
        auto placed = check_endpoint_location(*resolved, *conf->settings, sv(clcf->name), regex);
        if (!placed) return conf_error(cf, placed.error());
        conf->gate = pool_new<GateConfig>(cf->pool);
        if (conf->gate == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
        *conf->gate = std::move(*resolved);
        mc->owned->give(*conf->gate);
        const auto& ih = conf->gate->identity_headers;
        const std::string* names[5] = {&ih.user, &ih.email, &ih.name, &ih.groups, &ih.roles};
        if (auto bound = bind_limits(cf, *mc, *conf); bound != NGX_CONF_OK) return bound;
        for (int i = 0; i < 5; ++i) {
            HeaderKey& k = conf->identity_keys[i];
            k = HeaderKey{pool_str(cf->pool, *names[i]), nullptr, 0};
            if (names[i]->empty()) continue;
            if (k.key.data == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
            k.lowcase_key = static_cast<u_char*>(ngx_pnalloc(cf->pool, k.key.len));
            if (k.lowcase_key == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
            k.hash = ngx_hash_strlow(k.lowcase_key, k.key.data, k.key.len);
        }
        return static_cast<char*>(NGX_CONF_OK);
    });
}

ngx_int_t preconfiguration(ngx_conf_t* cf) noexcept {
    return guard(cf->log, static_cast<ngx_int_t>(NGX_ERROR), [&] { return add_variables(cf); });
}

ngx_int_t postconfiguration(ngx_conf_t* cf) noexcept {
    auto* cmcf = static_cast<ngx_http_core_main_conf_t*>(
        ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module));
    auto* h = static_cast<ngx_http_handler_pt*>(
        ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers));
    if (h == nullptr) return NGX_ERROR;
    *h = access_handler;
    // Subrequests skip the ACCESS phase. nginx runs a phase's handlers in reverse order of
    // registration and this module loads after try_files and mirror: it runs before them.
    h = static_cast<ngx_http_handler_pt*>(
        ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers));
    if (h == nullptr) return NGX_ERROR;
    *h = subrequest_handler;
    return NGX_OK;
}

// ---- per-worker runtime -----------------------------------------------------------

ngx_int_t init_process(ngx_cycle_t* cycle) noexcept {
    return guard(cycle->log, static_cast<ngx_int_t>(NGX_ERROR), [&]() -> ngx_int_t {
        if (cycle->conf_ctx[ngx_http_module.index] == nullptr) return NGX_OK;
        auto* mc = static_cast<MainConf*>(
            ngx_http_cycle_get_module_main_conf(cycle, ngx_http_authgate_module));
        if (mc == nullptr || !mc->used) return NGX_OK;
        if (!curl::global_init()) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "authgate: cannot initialise libcurl");
            return NGX_ERROR;
        }
        auto owned = std::make_unique<Runtime>(); // exit_process deletes it once published
        Runtime* rt = owned.get();
        authgate::Runtime::Options core;
        if (mc->redis != nullptr && mc->redis->session_cache > 0) {
            core.session_cache = redis::session_cache_limits(mc->redis->session_cache);
        }
        rt->core = std::make_unique<authgate::Runtime>(core);
        if (mc->redis != nullptr) {
            rt->redis = std::make_unique<RedisClient>(*mc->redis, cycle->log, rt->core->sessions());
            rt->redis->start();
            if (mc->zone != nullptr)
                rt->local_store = std::make_unique<ShmStore>(mc->zone, cycle->log);
        } else {
            rt->store = std::make_unique<ShmStore>(mc->zone, cycle->log);
        }
        rt->thread_pool = mc->thread_pool;
        g_runtime = owned.release();
        rt->idp_pool =
            std::make_unique<IdpPool>(mc->idp_threads, kMaxIdpCallsPerWorker, cycle->log);
        if (!rt->idp_pool->start()) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "authgate: cannot start the IdP threads");
            return NGX_ERROR;
        }
        return NGX_OK;
    });
}

void exit_process(ngx_cycle_t*) noexcept {
    if (g_runtime == nullptr) return;
    // Joined first: a thread in a transfer aborts it at its next progress check.
    if (g_runtime->idp_pool) g_runtime->idp_pool->stop();
    delete g_runtime;
    g_runtime = nullptr;
    curl::global_shutdown();
}

std::vector<ngx_command_t> g_commands = build_commands();

ngx_http_module_t g_module_ctx = {
    preconfiguration, postconfiguration, create_main_conf, init_main_conf,
    nullptr,          nullptr,           create_loc_conf,  merge_loc_conf,
};

} // namespace

Runtime* runtime() { return g_runtime; }

} // namespace authgate::ngx

extern "C" {

__attribute__((visibility("default"))) ngx_module_t ngx_http_authgate_module = {
    NGX_MODULE_V1,
    &authgate::ngx::g_module_ctx,
    authgate::ngx::g_commands.data(),
    NGX_HTTP_MODULE,
    nullptr,
    nullptr,
    authgate::ngx::init_process,
    nullptr,
    nullptr,
    authgate::ngx::exit_process,
    nullptr,
    NGX_MODULE_V1_PADDING,
};
}
