// Paths and tools the integration tests use.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const buildDir = path.resolve(repo, process.env.AUTHGATE_BUILD_DIR || 'build');
export const modulePath = path.join(buildDir, 'ngx_http_authgate_module.so');
export const ctlPath = path.join(buildDir, 'authgatectl');
export const nginxBin = process.env.NGINX_BIN || '/usr/sbin/nginx';
export const chromiumBin = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
// Which server the integration tests start: nginx (default) or apache (Debian's apache2).
export const testServer = process.env.AUTHGATE_TEST_SERVER || 'nginx';
export const apacheBin = process.env.APACHE_BIN || '/usr/sbin/apache2';
export const apacheModulesDir = process.env.APACHE_MODULES_DIR || '/usr/lib/apache2/modules';
export const apacheModulePath = path.join(buildDir, 'mod_authgate.so');
