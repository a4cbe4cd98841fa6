/* The module list of this dynamic module, as nginx's build would generate it. */
#include <ngx_config.h>
#include <ngx_core.h>

extern ngx_module_t ngx_http_authgate_module;

__attribute__((visibility("default"))) ngx_module_t* ngx_modules[] = {
    &ngx_http_authgate_module,
    NULL,
};

__attribute__((visibility("default"))) char* ngx_module_names[] = {
    "ngx_http_authgate_module",
    NULL,
};

__attribute__((visibility("default"))) char* ngx_module_order[] = {
    NULL,
};
