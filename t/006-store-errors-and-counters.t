# What the cache does when its store lies or breaks, and what its counters say.
# A damaged record is a cache ERROR: served from the upstream, counted, and never
# overwritten (a sick store gets no writes). A record of an unknown format version is a
# MISS, and the upstream's answer replaces it. Records are planted with lmdb-utils'
# mdb_load before nginx opens the store.
# Needs TEST_NGINX_REGISTRY_PORT, TEST_NGINX_HELLO_* and TEST_NGINX_CACHE_DIR.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use RegistryCache::Defaults;
use RegistryCache::Edge qw(edge_http edge_config);
use File::Path qw(remove_tree make_path);

our $Layer = $ENV{TEST_NGINX_HELLO_LAYER};
our $Config = $ENV{TEST_NGINX_HELLO_CONFIG};
our $Base = $ENV{TEST_NGINX_HELLO_BASE};
my $dir = "$ENV{TEST_NGINX_CACHE_DIR}/planted";
remove_tree($dir, "$ENV{TEST_NGINX_CACHE_DIR}/counted");
make_path($dir);

# Links (repository \0, 1 for sha256, the digest's bytes) whose values are not what this
# module writes: one byte of version 3 (the format of this code) is a record cut short;
# version 99 is one from the future. Keys and values in mdb_load's text form (\xx a byte).
sub link_key_text {
    my ($repository, $digest) = @_;
    my ($hex) = $digest =~ /\Asha256:([0-9a-f]{64})\z/ or die "not a sha256 digest: $digest";
    return "$repository\\00\\01" . CORE::join('', map { "\\$_" } $hex =~ /../g);
}
open my $load, '|-', 'mdb_load', '-T', '-s', 'blob_links', $dir or die "mdb_load: $!";
print {$load} link_key_text('demo/hello', $Layer), "\n\\03\n";
print {$load} link_key_text('demo/hello', $Config), "\n\\63\\01\\00\\00\n";
close $load or die "mdb_load failed: $?";

# A pattern that matches a text holding each of these lines, in any order.
sub all_lines {
    my $lookaheads = CORE::join '', map { "(?=.*^\Q$_\E\$)" } @_;
    return qr/\A$lookaheads/ms;
}

add_block_preprocessor(sub {
    my $block = shift;
    my $path = $block->cache_path // 'planted';
    $block->set_value(http_config => edge_http(dir => $path));
    $block->set_value(config => edge_config(upstream => '127.0.0.1:$TEST_NGINX_REGISTRY_PORT', metrics => 1));
});

no_shuffle();
log_level('info');
run_tests();

__DATA__

=== TEST 1: a damaged record: ERROR, served by the upstream, logged
--- request eval
"HEAD /v2/demo/hello/blobs/$::Layer"
--- response_headers
X-Cache-Status: ERROR
--- error_log eval
qr/registry cache: "[^"]+planted": lookup failed: .*damaged record/



=== TEST 2: and not written over by the upstream's answer: still an ERROR, counted each time
--- request eval
["HEAD /v2/demo/hello/blobs/$::Layer", "HEAD /v2/demo/hello/blobs/$::Layer", "GET /metrics"]
--- response_headers eval
["X-Cache-Status: ERROR", "X-Cache-Status: ERROR", ""]
--- response_body_like eval
["^\$", "^\$", qr/^registry_storage_cache_errors_total\{cache="edge"\} 2$/m]



=== TEST 3: a record of an unknown version is a miss, and the upstream's answer replaces it
--- request eval
["HEAD /v2/demo/hello/blobs/$::Config", "HEAD /v2/demo/hello/blobs/$::Config"]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: HIT"]
--- no_error_log
[error]



=== TEST 4: counters after a known sequence of requests
--- cache_path: counted
--- request eval
["HEAD /v2/demo/hello/blobs/$::Base",
 "HEAD /v2/demo/hello/blobs/$::Base",
 "HEAD /v2/demo/other/blobs/$::Layer",
 "GET /v2/demo/hello/blobs/$::Base",
 "HEAD /v2/demo/hello/blobs/sha256:1234",
 "GET /v2/demo/hello/tags/list",
 "GET /metrics"]
--- error_code eval
[200, 200, 404, 200, 400, 200, 200]
--- response_body_like eval
["^\$", "^\$", "^\$", ".", "^\$", "demo/hello", main::all_lines(
'registry_storage_cache_requests_total{cache="edge"} 3',
'registry_storage_cache_hits_total{cache="edge"} 1',
'registry_storage_cache_errors_total{cache="edge"} 0',
'registry_storage_cache_total{cache="edge",type="Request"} 3',
'registry_storage_cache_total{cache="edge",type="Hit"} 1',
'registry_storage_cache_total{cache="edge",type="Miss"} 2',
'registry_storage_cache_total{cache="edge",type="Error"} 0',
'nginx_registry_cache_misses_total{cache="edge"} 2',
'nginx_registry_cache_bypasses_total{cache="edge"} 2',
'nginx_registry_cache_refused_total{cache="edge"} 1',
'nginx_registry_cache_recorded_total{cache="edge"} 2',
'nginx_registry_cache_upstream_responses_total{cache="edge",status="2xx"} 3',
'nginx_registry_cache_upstream_responses_total{cache="edge",status="4xx"} 1',
'nginx_registry_cache_upstream_responses_total{cache="edge",status="5xx"} 0',
'nginx_registry_cache_entries{cache="edge",kind="links"} 1',
'nginx_registry_cache_map_bytes_limit{cache="edge"} 16777216')]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: HIT", "X-Cache-Status: MISS", "X-Cache-Status: BYPASS",
 "!X-Cache-Status", "X-Cache-Status: BYPASS", "Content-Type: text/plain; version=0.0.4; charset=utf-8"]
