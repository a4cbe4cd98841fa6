# Debian's nginx-dev ships sources and configure flags but no objs/: generate
# ngx_auto_config.h / ngx_auto_headers.h once per build directory with the same flags
# Debian's binary was built with, so the module's ABI signature matches /usr/sbin/nginx.
set(NGINX_SRC_DIR "/usr/share/nginx/src" CACHE PATH "nginx-dev source tree")
set(NGINX_BIN "/usr/sbin/nginx" CACHE FILEPATH "nginx binary the module is built for")
set(NGINX_GEN_DIR "${CMAKE_BINARY_DIR}/nginx-src")

if(NOT EXISTS "${NGINX_GEN_DIR}/objs/ngx_auto_config.h")
  message(STATUS "authgate: generating nginx objs/ from ${NGINX_SRC_DIR}/conf_flags")
  file(REMOVE_RECURSE "${NGINX_GEN_DIR}")
  file(MAKE_DIRECTORY "${NGINX_GEN_DIR}")
  file(COPY "${NGINX_SRC_DIR}/auto" "${NGINX_SRC_DIR}/src" "${NGINX_SRC_DIR}/configure"
       DESTINATION "${NGINX_GEN_DIR}")
  execute_process(
    COMMAND bash -c "source '${NGINX_SRC_DIR}/conf_flags' && ./configure \"\${NGX_CONF_FLAGS[@]}\""
    WORKING_DIRECTORY "${NGINX_GEN_DIR}"
    RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "nginx configure failed: ${err}")
  endif()
endif()

# The signature the running binary expects; checked at compile time.
execute_process(
  COMMAND bash -c "strings '${NGINX_BIN}' | grep -E '^[0-9]+,[0-9]+,[0-9]+,[01]+$' | head -n1"
  OUTPUT_VARIABLE NGINX_BINARY_SIGNATURE OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NGINX_BINARY_SIGNATURE STREQUAL "")
  message(FATAL_ERROR "could not read the module signature of ${NGINX_BIN}")
endif()

set(NGINX_INCLUDE_DIRS
  ${NGINX_GEN_DIR}/src/core ${NGINX_GEN_DIR}/src/event ${NGINX_GEN_DIR}/src/event/modules
  ${NGINX_GEN_DIR}/src/os/unix ${NGINX_GEN_DIR}/objs ${NGINX_GEN_DIR}/src/http
  ${NGINX_GEN_DIR}/src/http/modules ${NGINX_GEN_DIR}/src/http/v2)
