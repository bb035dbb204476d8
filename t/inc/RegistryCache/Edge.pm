package RegistryCache::Edge;

# The edge most t/*.t files test, as the text of their http_config and config sections: a
# cache under $TEST_NGINX_CACHE_DIR, its /v2/ location passing what it does not answer to
# @registry, which proxies to an upstream, and X-Cache-Status on every answer. A file adds
# what its blocks are about through the options; the rest reads the same everywhere.
#
#     use RegistryCache::Edge qw(edge_http edge_config);
#     $block->set_value(http_config => edge_http(dir => 'purge'));
#     $block->set_value(config => edge_config(upstream => "127.0.0.1:$Port",
#         v2 => 'registry_cache_tag_ttl 1h;', metrics => 1, more => $purge_location));

use strict;
use warnings;
use Exporter 'import';

our @EXPORT_OK = qw(edge_http edge_config);

# http{} lines. dir: the cache's directory under $TEST_NGINX_CACHE_DIR; zone: its zone's name
# (edge); params: more registry_cache_path parameters (blobs_max_size=...); http: more lines.
sub edge_http {
    my (%o) = @_;
    die "edge_http: dir is required\n" unless defined $o{dir};
    my $zone = $o{zone} // 'edge';
    my $params = defined $o{params} ? " $o{params}" : '';
    return "    registry_cache_path \$TEST_NGINX_CACHE_DIR/$o{dir} zone=$zone:1m max_size=16m$params;\n"
         . ($o{http} // '');
}

# server{} lines. upstream: what @registry proxies to, after "http://" (host:port, or
# unix:...:); zone: the cache (edge); v2: more lines in /v2/; upstream_config: more lines in
# @registry; metrics: a /metrics location; more: more lines in the server.
sub edge_config {
    my (%o) = @_;
    die "edge_config: upstream is required\n" unless defined $o{upstream};
    my $zone = $o{zone} // 'edge';
    my $v2 = indent($o{v2});
    my $upstream_config = indent($o{upstream_config});
    my $metrics = $o{metrics} ? "    location = /metrics {\n        registry_cache_metrics;\n    }\n" : '';
    return <<"_EOC_" . $metrics . ($o{more} // '');
    add_header X-Cache-Status \$registry_cache_status always;
    location /v2/ {
        registry_cache $zone;
        registry_cache_pass \@registry;
$v2    }
    location \@registry {
        proxy_pass http://$o{upstream};
$upstream_config    }
_EOC_
}

# Lines for a location's body: each indented eight spaces, each ending in a newline.
sub indent {
    my ($text) = @_;
    return '' unless defined $text && length $text;
    return join '', map { s/^\s+//r =~ s/^/        /r . "\n" } split /\n/, $text;
}

1;
