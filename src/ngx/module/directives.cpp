// Directive parsers. Errors follow nginx's own wording: the directive, the bad value quoted.
#include "module/directives.h"

#include "registry_cache/hasher.h"
#include "registry_cache/policy/stale.h"
#include "serve/serve.h"

#include <algorithm>
#include <fstream>
#include <memory>
#include <string>
#include <cstdint>

namespace {

constexpr off_t default_max_size = 1024 * 1024 * 1024;  // 1g
constexpr off_t min_max_size = 1024 * 1024;              // 1m: room for LMDB's own pages

char *conf_error() noexcept { return static_cast<char *>(NGX_CONF_ERROR); }

bool starts_with(const ngx_str_t &s, const char *prefix, size_t len) noexcept {
    return s.len >= len && ngx_strncmp(s.data, prefix, len) == 0;
}

ngx_str_t after(const ngx_str_t &s, size_t len) noexcept {
    return ngx_str_t{s.len - len, s.data + len};
}

// zone=name:size
bool parse_zone(ngx_conf_t *cf, const ngx_str_t &param, ngx_str_t &name, ssize_t &size) noexcept {
    ngx_str_t value = after(param, sizeof("zone=") - 1);
    auto *colon = static_cast<u_char *>(ngx_strlchr(value.data, value.data + value.len, ':'));
    if (colon == nullptr || colon == value.data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid zone \"%V\", expected zone=name:size",
                           &value);
        return false;
    }
    name = ngx_str_t{static_cast<size_t>(colon - value.data), value.data};
    ngx_str_t s{static_cast<size_t>(value.data + value.len - colon - 1), colon + 1};
    size = ngx_parse_size(&s);
    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid zone size \"%V\"", &s);
        return false;
    }
    if (size < static_cast<ssize_t>(8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "zone \"%V\" is too small", &name);
        return false;
    }
    return true;
}

bool parse_max_size(ngx_conf_t *cf, const ngx_str_t &param, off_t &max_size) noexcept {
    ngx_str_t value = after(param, sizeof("max_size=") - 1);
    max_size = ngx_parse_offset(&value);
    if (max_size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid max_size value \"%V\"", &value);
        return false;
    }
    if (max_size < min_max_size) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "max_size value \"%V\" is too small, the least is 1m", &value);
        return false;
    }
    return true;
}

// blobs_max_size=<size>: 0 (the default) keeps no body.
bool parse_blobs_max_size(ngx_conf_t *cf, const ngx_str_t &param, off_t &size) noexcept {
    ngx_str_t value = after(param, sizeof("blobs_max_size=") - 1);
    size = ngx_parse_offset(&value);
    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid blobs_max_size value \"%V\"", &value);
        return false;
    }
    return true;
}

bool is_duplicate_path(ngx_http_registry_cache_main_conf_t *rcmf, const ngx_str_t &path) noexcept {
    auto **caches = static_cast<ngx_http_registry_cache_t **>(rcmf->caches.elts);
    for (ngx_uint_t i = 0; i < rcmf->caches.nelts; i++) {
        if (caches[i]->path.len == path.len &&
            ngx_strncmp(caches[i]->path.data, path.data, path.len) == 0)
        {
            return true;
        }
    }
    return false;
}

}  // namespace

// registry_cache_path <path> zone=<name>:<size> [max_size=<size>] [blobs_max_size=<size>];
char *ngx_http_registry_cache_path(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept {
    auto *rcmf = static_cast<ngx_http_registry_cache_main_conf_t *>(conf);
    auto *value = static_cast<ngx_str_t *>(cf->args->elts);

    auto *cache = static_cast<ngx_http_registry_cache_t *>(
        ngx_pcalloc(cf->pool, sizeof(ngx_http_registry_cache_t)));
    if (cache == nullptr) {
        return conf_error();
    }
    cache->path = value[1];
    if (ngx_conf_full_name(cf->cycle, &cache->path, 0) != NGX_OK) {
        return conf_error();
    }
    if (is_duplicate_path(rcmf, cache->path)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "duplicate registry_cache_path \"%V\"",
                           &cache->path);
        return conf_error();
    }

    ngx_str_t zone_name = ngx_null_string;
    ssize_t zone_size = 0;
    cache->max_size = default_max_size;

    for (ngx_uint_t i = 2; i < cf->args->nelts; i++) {
        if (starts_with(value[i], "zone=", sizeof("zone=") - 1)) {
            if (!parse_zone(cf, value[i], zone_name, zone_size)) {
                return conf_error();
            }
        } else if (starts_with(value[i], "max_size=", sizeof("max_size=") - 1)) {
            if (!parse_max_size(cf, value[i], cache->max_size)) {
                return conf_error();
            }
        } else if (starts_with(value[i], "blobs_max_size=", sizeof("blobs_max_size=") - 1)) {
            if (!parse_blobs_max_size(cf, value[i], cache->blobs_max_size)) {
                return conf_error();
            }
        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"", &value[i]);
            return conf_error();
        }
    }

    if (zone_name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" must have \"zone\" parameter",
                           &cmd->name);
        return conf_error();
    }

    cache->shm_zone = ngx_shared_memory_add(cf, &zone_name, zone_size,
                                            &ngx_http_registry_cache_module);
    if (cache->shm_zone == nullptr) {
        return conf_error();
    }
    if (cache->shm_zone->data != nullptr) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "duplicate zone \"%V\"", &zone_name);
        return conf_error();
    }
    cache->shm_zone->init = ngx_http_registry_cache_init_zone;
    cache->shm_zone->data = cache;

    auto **slot = static_cast<ngx_http_registry_cache_t **>(ngx_array_push(&rcmf->caches));
    if (slot == nullptr) {
        return conf_error();
    }
    *slot = cache;
    return NGX_CONF_OK;
}

// registry_cache <zone> | off;
char *ngx_http_registry_cache(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept {
    auto *rlcf = static_cast<ngx_http_registry_cache_loc_conf_t *>(conf);
    auto *value = static_cast<ngx_str_t *>(cf->args->elts);

    if (rlcf->shm_zone != NGX_CONF_UNSET_PTR) {
        return const_cast<char *>("is duplicate");
    }
    if (value[1].len == 3 && ngx_strncmp(value[1].data, "off", 3) == 0) {
        rlcf->shm_zone = nullptr;
        return NGX_CONF_OK;
    }
    // The zone may be declared by a registry_cache_path further down: take a reference
    // now (size 0), and check that it was declared when the locations are merged.
    rlcf->shm_zone = ngx_shared_memory_add(cf, &value[1], 0, &ngx_http_registry_cache_module);
    return rlcf->shm_zone == nullptr ? conf_error() : NGX_CONF_OK;
}

// registry_cache_pass @named_location | /uri;
char *ngx_http_registry_cache_pass(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept {
    auto *rlcf = static_cast<ngx_http_registry_cache_loc_conf_t *>(conf);
    auto *value = static_cast<ngx_str_t *>(cf->args->elts);

    if (rlcf->pass.data != nullptr) {
        return const_cast<char *>("is duplicate");
    }
    const ngx_str_t &target = value[1];
    bool named = target.len > 1 && target.data[0] == '@';
    bool uri = target.len > 0 && target.data[0] == '/';
    if (!named && !uri) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"%V\" value \"%V\", expected \"@name\" or \"/uri\"",
                           &cmd->name, &target);
        return conf_error();
    }
    rlcf->pass = target;
    return NGX_CONF_OK;
}

// registry_cache_verify on | off | threads[=pool];
// "threads" hashes large bodies in an nginx thread pool (like `aio threads`), so that the
// worker relays while another core hashes; "on" hashes on the event loop.
char *ngx_http_registry_cache_verify(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept {
    auto *rlcf = static_cast<ngx_http_registry_cache_loc_conf_t *>(conf);
    const ngx_str_t &value = static_cast<ngx_str_t *>(cf->args->elts)[1];

    if (rlcf->verify != NGX_CONF_UNSET) {
        return const_cast<char *>("is duplicate");
    }
#if (NGX_THREADS)
    rlcf->verify_threads = nullptr;
#endif
    if (value.len == 2 && ngx_strncmp(value.data, "on", 2) == 0) {
        rlcf->verify = 1;
        return NGX_CONF_OK;
    }
    if (value.len == 3 && ngx_strncmp(value.data, "off", 3) == 0) {
        rlcf->verify = 0;
        return NGX_CONF_OK;
    }
    constexpr size_t threads_len = sizeof("threads") - 1;
    if (starts_with(value, "threads", threads_len) &&
        (value.len == threads_len || (value.data[threads_len] == '=' && value.len > threads_len + 1)))
    {
#if (NGX_THREADS)
        // Without a name, nginx's "default" pool, created with 32 threads unless a
        // thread_pool directive declares it; an undeclared name fails the configuration.
        ngx_str_t name = value.len == threads_len ? ngx_str_t{} : after(value, threads_len + 1);
        rlcf->verify_threads = ngx_thread_pool_add(cf, name.len ? &name : nullptr);
        if (rlcf->verify_threads == nullptr) {
            return conf_error();
        }
        rlcf->verify = 1;
        return NGX_CONF_OK;
#else
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V %V\" needs nginx built with threads (--with-threads)",
                           &cmd->name, &value);
        return conf_error();
#endif
    }
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"%V\" directive, it must be \"on\", \"off\" "
                       "or \"threads[=pool]\"",
                       &value, &cmd->name);
    return conf_error();
}

// registry_cache_metrics;
char *ngx_http_registry_cache_metrics(ngx_conf_t *cf, ngx_command_t *, void *) noexcept {
    auto *clcf = static_cast<ngx_http_core_loc_conf_t *>(
        ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
    clcf->handler = ngx_http_registry_cache_metrics_handler;
    return NGX_CONF_OK;
}

// registry_cache_purge; (where registry_cache names the cache: checked at merge)
char *ngx_http_registry_cache_purge(ngx_conf_t *cf, ngx_command_t *, void *conf) noexcept {
    auto *clcf = static_cast<ngx_http_core_loc_conf_t *>(ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
    auto *rlcf = static_cast<ngx_http_registry_cache_loc_conf_t *>(conf);
    if (rlcf->purge) return const_cast<char *>("is duplicate");
    // The path is read past the location's prefix: a regular expression has none.
    if (clcf->regex != nullptr || clcf->named || clcf->exact_match) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"registry_cache_purge\" belongs in a prefix location (\"location /purge/\"): \"%V\" "
                           "has no prefix to read the repository after",
                           &clcf->name);
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    rlcf->purge = 1;
    clcf->handler = ngx_http_registry_cache_purge_handler;
    return NGX_CONF_OK;
}

// registry_cache_use_stale off | error | timeout | http_429 | http_500 | http_502 | http_503 | http_504 | updating ...;
// nginx's own bitmask setter names neither the directive nor the mistake's place; this one
// does, and refuses "off" beside a condition (which of the two would the operator mean?).
char *ngx_http_registry_cache_use_stale(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept {
    struct Condition {
        const char *name;
        ngx_uint_t bit;
    };
    static const Condition conditions[] = {
        {"off", registry_cache::stale_off},           {"error", registry_cache::stale_error},
        {"timeout", registry_cache::stale_timeout},   {"http_429", registry_cache::stale_http_429},
        {"http_500", registry_cache::stale_http_500}, {"http_502", registry_cache::stale_http_502},
        {"http_503", registry_cache::stale_http_503}, {"http_504", registry_cache::stale_http_504},
        {"updating", registry_cache::stale_updating},
    };
    auto *rlcf = static_cast<ngx_http_registry_cache_loc_conf_t *>(conf);
    if (rlcf->use_stale != 0) {
        return const_cast<char *>("is duplicate");
    }
    const auto *args = static_cast<ngx_str_t *>(cf->args->elts);
    ngx_uint_t mask = NGX_CONF_BITMASK_SET;
    for (ngx_uint_t i = 1; i < cf->args->nelts; i++) {
        const ngx_str_t &value = args[i];
        ngx_uint_t bit = 0;
        for (const Condition &c : conditions) {
            if (value.len == ngx_strlen(c.name) && ngx_strncmp(value.data, c.name, value.len) == 0) {
                bit = c.bit;
            }
        }
        if (bit == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid value \"%V\" in \"%V\" directive", &value,
                               &cmd->name);
            return static_cast<char *>(NGX_CONF_ERROR);
        }
        mask |= bit;
    }
    if ((mask & registry_cache::stale_off) != 0 && cf->args->nelts > 2) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"off\" cannot be combined with other values in \"%V\"",
                           &cmd->name);
        return static_cast<char *>(NGX_CONF_ERROR);
    }
    rlcf->use_stale = mask;
    return NGX_CONF_OK;
}

namespace {

void delete_token_trust(void *data) noexcept { delete static_cast<registry_cache::auth::TokenTrust *>(data); }
void delete_credential_memory(void *data) noexcept {
    delete static_cast<registry_cache::auth::CredentialMemory *>(data);
}

std::string text_of(const ngx_str_t &s) { return std::string(reinterpret_cast<const char *>(s.data), s.len); }

}  // namespace

// registry_cache_token_trust <cert bundle> issuer=<iss> service=<service> [jwks=<file>];
// Bearer tokens signed under these roots or keys, by that issuer for that service, prove a
// client's right to pull (auth/token.h); files are read now, relative to the prefix.
char *ngx_http_registry_cache_token_trust(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept {
    auto *rlcf = static_cast<ngx_http_registry_cache_loc_conf_t *>(conf);
    auto *args = static_cast<ngx_str_t *>(cf->args->elts);
    if (rlcf->token_trust != NGX_CONF_UNSET_PTR) {
        return const_cast<char *>("is duplicate");
    }
    ngx_str_t bundle = args[1], issuer{}, service{}, jwks{};
    for (ngx_uint_t i = 2; i < cf->args->nelts; ++i) {
        const ngx_str_t &a = args[i];
        if (starts_with(a, "issuer=", 7) && a.len > 7 && issuer.len == 0) {
            issuer = after(a, 7);
        } else if (starts_with(a, "service=", 8) && a.len > 8 && service.len == 0) {
            service = after(a, 8);
        } else if (starts_with(a, "jwks=", 5) && a.len > 5 && jwks.len == 0) {
            jwks = after(a, 5);
        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\" in \"%V\" directive", &a, &cmd->name);
            return conf_error();
        }
    }
    if (issuer.len == 0 || service.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" needs issuer= and service= (as the registry's auth.token)",
                           &cmd->name);
        return conf_error();
    }
    if (ngx_conf_full_name(cf->cycle, &bundle, 1) != NGX_OK ||
        (jwks.len != 0 && ngx_conf_full_name(cf->cycle, &jwks, 1) != NGX_OK)) {
        return conf_error();
    }
    ngx_pool_cleanup_t *cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == nullptr) {
        return conf_error();
    }
    try {
        auto trust = std::make_unique<registry_cache::auth::TokenTrust>();
        std::string error;
        if (!trust->load(text_of(bundle), text_of(jwks), text_of(issuer), text_of(service), error)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" \"%V\": %s", &cmd->name, &args[1], error.c_str());
            return conf_error();
        }
        rlcf->token_trust = trust.release();
        cln->handler = delete_token_trust;
        cln->data = rlcf->token_trust;
    } catch (const std::exception &e) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\": %s", &cmd->name, e.what());
        return conf_error();
    }
    return NGX_CONF_OK;
}

bool ngx_http_registry_cache_make_credential_memory(ngx_conf_t *cf, ngx_http_registry_cache_loc_conf_t &conf) noexcept {
    ngx_pool_cleanup_t *cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == nullptr) return false;
    try {
        conf.credential_memory = new registry_cache::auth::CredentialMemory();
    } catch (const std::exception &e) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"registry_cache_credential_ttl\": %s", e.what());
        return false;
    }
    cln->handler = delete_credential_memory;
    cln->data = conf.credential_memory;
    return true;
}

bool ngx_http_registry_cache_make_token_realm(ngx_conf_t *cf, ngx_http_registry_cache_loc_conf_t &conf) noexcept {
    // The server by its configuration's address: the same in every worker (they fork after
    // the configuration is read), another in another server, whose token location may reach
    // another service under the same URI.
    const void *server = ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module);
    try {
        std::string identity(ngx_http_registry_cache_view(conf.upstream_credentials));
        identity += '\n';
        identity += std::to_string(reinterpret_cast<std::uintptr_t>(server));
        std::string realm(ngx_http_registry_cache_view(conf.token_pass));
        realm += ' ';
        realm += registry_cache::digest_of(registry_cache::DigestAlgorithm::sha256, identity);
        return ngx_http_registry_cache_pool_copy(cf->pool, realm, conf.token_realm);
    } catch (...) {
        return false;
    }
}

// registry_cache_upstream_credentials <file>;
// One line `username:password`, read now by the master (so a file only it may read works),
// kept as the Basic credential the token requests of mirror mode carry. Never logged: the
// errors name the file, not what it holds.
char *ngx_http_registry_cache_upstream_credentials(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept {
    auto *rlcf = static_cast<ngx_http_registry_cache_loc_conf_t *>(conf);
    auto *args = static_cast<ngx_str_t *>(cf->args->elts);
    if (rlcf->upstream_credentials.data != nullptr) {
        return const_cast<char *>("is duplicate");
    }
    ngx_str_t path = args[1];
    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return conf_error();
    }
    try {
        std::ifstream in(text_of(path), std::ios::binary);
        std::string line;
        if (!in || !std::getline(in, line)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno, "\"%V\" \"%V\" cannot be read", &cmd->name, &args[1]);
            return conf_error();
        }
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const std::size_t colon = line.find(':');
        const bool printable = std::all_of(line.begin(), line.end(), [](char c) {
            return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
        });
        if (colon == std::string::npos || colon == 0 || !printable) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" \"%V\" holds no \"username:password\" line", &cmd->name,
                               &args[1]);
            return conf_error();
        }
        static constexpr char scheme[] = "Basic ";
        ngx_str_t raw = ngx_http_registry_cache_str(line);
        ngx_str_t &out = rlcf->upstream_credentials;
        out.data = static_cast<u_char *>(ngx_pnalloc(cf->pool, sizeof(scheme) - 1 + ngx_base64_encoded_length(line.size())));
        if (out.data == nullptr) {
            return conf_error();
        }
        ngx_memcpy(out.data, scheme, sizeof(scheme) - 1);
        ngx_str_t encoded{0, out.data + sizeof(scheme) - 1};
        ngx_encode_base64(&encoded, &raw);
        out.len = sizeof(scheme) - 1 + encoded.len;
        ngx_explicit_memzero(line.data(), line.size());
    } catch (const std::exception &e) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\": %s", &cmd->name, e.what());
        return conf_error();
    }
    return NGX_CONF_OK;
}

// registry_cache_token_pass <uri>;
// Where mirror mode asks for tokens: a location (as auth_request names one) whose proxy_pass
// reaches the token service; its query names the service (`/_token?service=...`), and each
// request adds `scope=`. The realm is this, never one an upstream's challenge names.
char *ngx_http_registry_cache_token_pass(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept {
    auto *rlcf = static_cast<ngx_http_registry_cache_loc_conf_t *>(conf);
    auto *args = static_cast<ngx_str_t *>(cf->args->elts);
    if (rlcf->token_pass.data != nullptr) {
        return const_cast<char *>("is duplicate");
    }
    const ngx_str_t &uri = args[1];
    const std::string_view text = ngx_http_registry_cache_view(uri);
    const bool printable = std::all_of(text.begin(), text.end(), [](char c) {
        return static_cast<unsigned char>(c) > 0x20 && c != 0x7f && c != '#';
    });
    if (text.empty() || text.front() != '/' || !printable) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid \"%V\" value \"%V\", expected a \"/uri\"", &cmd->name, &uri);
        return conf_error();
    }
    const std::size_t q = text.find('?');
    rlcf->token_pass = uri;
    rlcf->token_pass_uri = ngx_http_registry_cache_str(text.substr(0, q));
    rlcf->token_pass_args = q == std::string_view::npos ? ngx_str_t{0, nullptr} : ngx_http_registry_cache_str(text.substr(q + 1));
    if (rlcf->token_pass_args.data == nullptr) {
        rlcf->token_pass_args.data = uri.data + uri.len;  // empty, not unset
    }
    return NGX_CONF_OK;
}

// registry_cache_notifications [secret=<file>] [pushed=public|credentialed];
// The secret: the file's one line, the token the registry's endpoint headers send as
// "Authorization: Bearer <token>", read now by the master; never logged.
char *ngx_http_registry_cache_notifications(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) noexcept {
    auto *clcf = static_cast<ngx_http_core_loc_conf_t *>(ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
    auto *rlcf = static_cast<ngx_http_registry_cache_loc_conf_t *>(conf);
    if (rlcf->notifications) return const_cast<char *>("is duplicate");
    auto *args = static_cast<ngx_str_t *>(cf->args->elts);
    for (ngx_uint_t i = 1; i < cf->args->nelts; ++i) {
        const std::string_view arg = ngx_http_registry_cache_view(args[i]);
        if (arg.substr(0, 7) == "secret=" && arg.size() > 7 && rlcf->notify_secret.len == 0) {
            ngx_str_t path{args[i].len - 7, args[i].data + 7};
            if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) return conf_error();
            try {
                std::ifstream in(text_of(path), std::ios::binary);
                std::string line;
                if (!in || !std::getline(in, line)) {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno, "\"%V\" \"%V\" cannot be read", &cmd->name,
                                       &args[i]);
                    return conf_error();
                }
                if (!line.empty() && line.back() == '\r') line.pop_back();
                const bool token = !line.empty() && std::all_of(line.begin(), line.end(), [](char c) {
                    return c > 0x20 && c < 0x7f;
                });
                if (!token) {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                       "\"%V\" \"%V\" holds no token (one line of printable characters, no space)",
                                       &cmd->name, &args[i]);
                    return conf_error();
                }
                const bool copied = ngx_http_registry_cache_pool_copy(cf->pool, line, rlcf->notify_secret);
                ngx_explicit_memzero(line.data(), line.size());
                if (!copied) return conf_error();
            } catch (const std::exception &e) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\": %s", &cmd->name, e.what());
                return conf_error();
            }
        } else if (arg == "pushed=public" && rlcf->notify_pushed == 0) {
            rlcf->notify_pushed = 2;
        } else if (arg == "pushed=credentialed" && rlcf->notify_pushed == 0) {
            rlcf->notify_pushed = 1;
        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\": invalid parameter \"%V\" (secret=<file>, pushed=public or "
                               "pushed=credentialed, each once)",
                               &cmd->name, &args[i]);
            return conf_error();
        }
    }
    if (clcf->regex != nullptr || clcf->named) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" belongs in a location of its own, not \"%V\"", &cmd->name,
                           &clcf->name);
        return conf_error();
    }
    // What teaches links must come from the registry: anyone's events could teach any size.
    if (rlcf->notify_pushed != 0 && rlcf->notify_secret.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": \"pushed=\" needs \"secret=\": links taught by events must come from the registry",
                           &cmd->name);
        return conf_error();
    }
    rlcf->notifications = 1;
    clcf->handler = ngx_http_registry_cache_notifications_handler;
    return NGX_CONF_OK;
}
