#!/usr/bin/env bash
# 04-verified-bytes.t again, with `registry_cache_verify threads`: bodies hashed in nginx's
# default thread pool while the worker relays, and proxy_cache hits hashed again.
VERIFY=threads exec bash "$(dirname "$0")/04-verified-bytes.t"
