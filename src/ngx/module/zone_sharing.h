// Which locations may share a cache zone (zone_sharing.cpp), judged at merge.
#pragma once

#include "state/conf.h"

// Records `conf` (merged, of the location or server{} level being merged, with a known zone) as
// a user of its zone when the content handler acts there, and refuses ([emerg], false) one whose
// entries would reach another user's clients: mirror mode keeps what the edge's own credentials
// pull as public entries, so every place of a zone must pull as the same one (mirror mode or not,
// the same credentials), unless their constant namespaces keep their entries apart.
bool ngx_http_registry_cache_share_zone(ngx_conf_t *cf, const ngx_http_registry_cache_loc_conf_t &conf) noexcept;
