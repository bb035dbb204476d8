# registry_cache_notifications: the registry's webhook events, in the shapes registry 2.8 sends
# (application/vnd.docker.distribution.events.v1+json), against the real registry behind the
# edge: deletes forget, a manifest pushed under a tag forgets the tag, a pushed blob is learned
# where the operator asked; without the endpoint's token nothing is applied.
# Needs TEST_NGINX_REGISTRY_PORT, TEST_NGINX_HELLO_* and TEST_NGINX_CACHE_DIR (scripts/test.sh).
# Blocks run in order and share one cache directory, which this file empties first.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use RegistryCache::Defaults;
use RegistryCache::Edge qw(edge_http edge_config);
use File::Path qw(remove_tree make_path);

our $Port = $ENV{TEST_NGINX_REGISTRY_PORT} or die "TEST_NGINX_REGISTRY_PORT is not set";
our $Layer = $ENV{TEST_NGINX_HELLO_LAYER};
our $Config = $ENV{TEST_NGINX_HELLO_CONFIG};
our $Base = $ENV{TEST_NGINX_HELLO_BASE};
our $BaseSize = -s "$ENV{TEST_NGINX_HELLO_LAYOUT}/blobs/" . ($Base =~ s{:}{/}r);
our $Accept = "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json";
our $Token = "Authorization: Bearer s3cret-token";
our $Json = "Content-Type: application/vnd.docker.distribution.events.v1+json";
remove_tree("$ENV{TEST_NGINX_CACHE_DIR}/notifications");
make_path("$ENV{TEST_NGINX_CACHE_DIR}");
open my $fh, '>', "$ENV{TEST_NGINX_CACHE_DIR}/notifications.secret" or die "$!";
print {$fh} "s3cret-token\n";
close $fh;

# One event as the registry writes it (at the time given, or the one below).
sub event {
    my ($action, $target, $time) = @_;
    $time //= "2026-12-04T05:57:17.9Z";
    return qq({"id":"e","timestamp":"$time","action":"$action","target":$target,)
         . qq("request":{"id":"r","addr":"127.0.0.1:1","host":"127.0.0.1:$Port","method":"DELETE","useragent":"u"},)
         . qq("actor":{},"source":{"addr":"vm:$Port","instanceID":"i"}});
}
sub envelope { return '{"events":[' . join(',', @_) . ']}' }

our $DeleteLayerEvent = event('delete', qq({"digest":"$Layer","repository":"demo/hello"}));
our $DeleteLayer = envelope($DeleteLayerEvent);
our $PushTag = envelope(event('push', qq({"mediaType":"application/vnd.oci.image.manifest.v1+json","size":713,)
    . qq("digest":"$ENV{TEST_NGINX_HELLO_MANIFEST}","repository":"demo/hello",)
    . qq("url":"http://r/v2/demo/hello/manifests/$ENV{TEST_NGINX_HELLO_MANIFEST}","tag":"1.0"})));
our $PushBase = envelope(event('push', qq({"mediaType":"application/octet-stream","size":$BaseSize,"digest":"$Base",)
    . qq("length":$BaseSize,"repository":"demo/pushed","url":"http://r/v2/demo/pushed/blobs/$Base"})));
# The same push at second S of a minute, and deletions of the blob and of its repository.
sub push_base_at {
    my ($s) = @_;
    return envelope(event('push', qq({"mediaType":"application/octet-stream","size":$BaseSize,"digest":"$Base",)
        . qq("length":$BaseSize,"repository":"demo/pushed","url":"http://r/v2/demo/pushed/blobs/$Base"}),
        "2026-12-04T06:00:$s.5Z"));
}
our $DeleteBaseAt10 = envelope(event('delete', qq({"digest":"$Base","repository":"demo/pushed"}), "2026-12-04T06:00:10Z"));
our $DeleteRepositoryAt30 = envelope(event('delete', qq({"repository":"demo/pushed"}), "2026-12-04T07:00:30+01:00"));

add_block_preprocessor(sub {
    my $block = shift;
    my $pushed = $block->pushed ? ' pushed=public' : '';
    $block->set_value(http_config => edge_http(dir => 'notifications')) unless defined $block->http_config;
    $block->set_value(config => edge_config(upstream => "127.0.0.1:$Port", v2 => 'registry_cache_tag_ttl 1h;',
                                            more => <<_EOC_)) unless defined $block->config;
    location = /_notifications {
        registry_cache edge;
        registry_cache_notifications secret=\$TEST_NGINX_CACHE_DIR/notifications.secret$pushed;
    }
_EOC_
});

no_shuffle();
log_level('info');
run_tests();

__DATA__

=== TEST 1: learn the layer and the tag (the second round of each a hit)
--- request eval
["HEAD /v2/demo/hello/blobs/$::Layer", "GET /v2/demo/hello/manifests/1.0", "HEAD /v2/demo/hello/blobs/$::Layer", "GET /v2/demo/hello/manifests/1.0"]
--- more_headers eval
$::Accept
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: HIT", "X-Cache-Status: HIT"]



=== TEST 2: a delete without the endpoint's token, or with another: 401, nothing applied
--- request eval
["POST /_notifications\n$::DeleteLayer", "POST /_notifications\n$::DeleteLayer", "HEAD /v2/demo/hello/blobs/$::Layer"]
--- more_headers eval
["$::Json", "$::Json\nAuthorization: Bearer s3cret-tokeN", ""]
--- error_code eval
[401, 401, 200]
--- response_headers eval
["", "", "X-Cache-Status: HIT"]
--- response_body_like eval
["UNAUTHORIZED", "UNAUTHORIZED", ""]



=== TEST 3: the registry's delete of the layer, with the token: forgotten, the next HEAD a MISS
--- request eval
["POST /_notifications\n$::DeleteLayer", "HEAD /v2/demo/hello/blobs/$::Layer"]
--- more_headers eval
["$::Json\n$::Token", ""]
--- error_code eval
[200, 200]
--- response_body_like eval
['^\{"purged":\{"blob_links":1,', ""]
--- response_headers eval
["", "X-Cache-Status: MISS"]



=== TEST 4: the same event twice (the registry retries): the link TEST 3's HEAD learned again goes, then nothing more
--- request eval
["POST /_notifications\n$::DeleteLayer", "POST /_notifications\n$::DeleteLayer"]
--- more_headers eval
["$::Json\n$::Token", "$::Json\n$::Token"]
--- error_code eval
[200, 200]
--- response_body_like eval
['"blob_links":1,', '"blob_links":0,']



=== TEST 5: a manifest pushed under the tag: the tag is forgotten, the next pull asks upstream
--- request eval
["POST /_notifications\n$::PushTag", "GET /v2/demo/hello/manifests/1.0", "GET /v2/demo/hello/manifests/1.0"]
--- more_headers eval
["$::Json\n$::Token", "$::Accept", "$::Accept"]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
['"tags":1,', ".", "."]
--- response_headers eval
["", "X-Cache-Status: MISS", "X-Cache-Status: HIT"]



=== TEST 6: a pushed blob teaches nothing by default
--- request eval
["POST /_notifications\n$::PushBase", "HEAD /v2/demo/pushed/blobs/$::Base"]
--- more_headers eval
["$::Json\n$::Token", ""]
--- error_code eval
[200, 404]
--- response_headers eval
["", "X-Cache-Status: MISS"]



=== TEST 7: with pushed=public, it is a HIT at once, with the size the registry said
--- pushed: 1
--- request eval
["POST /_notifications\n$::PushBase", "HEAD /v2/demo/pushed/blobs/$::Base"]
--- more_headers eval
["$::Json\n$::Token", ""]
--- error_code eval
[200, 200]
--- response_headers eval
["", "X-Cache-Status: HIT\nContent-Length: $::BaseSize\nDocker-Content-Digest: $::Base"]



=== TEST 7b: events out of order: a push older than a deletion of its blob, or of its repository, teaches nothing; a push after it does
(a registry's instances behind one address each queue their own events; a batch refused is sent again later)
--- pushed: 1
--- request eval
["POST /_notifications\n$::DeleteBaseAt10", "POST /_notifications\n" . main::push_base_at("09"), "HEAD /v2/demo/pushed/blobs/$::Base",
 "POST /_notifications\n" . main::push_base_at(20), "HEAD /v2/demo/pushed/blobs/$::Base",
 "POST /_notifications\n$::DeleteRepositoryAt30", "POST /_notifications\n" . main::push_base_at(25), "HEAD /v2/demo/pushed/blobs/$::Base",
 "POST /_notifications\n" . main::push_base_at(40), "HEAD /v2/demo/pushed/blobs/$::Base"]
--- more_headers eval
["$::Json\n$::Token", "$::Json\n$::Token", "", "$::Json\n$::Token", "", "$::Json\n$::Token", "$::Json\n$::Token", "",
 "$::Json\n$::Token", ""]
--- error_code eval
[200, 200, 404, 200, 200, 200, 200, 404, 200, 200]
--- response_headers eval
["", "", "X-Cache-Status: MISS", "", "X-Cache-Status: HIT", "", "", "X-Cache-Status: MISS", "", "X-Cache-Status: HIT"]



=== TEST 8: what is no envelope is a 400; invalid events are skipped with a [warn]; other methods 405
--- request eval
["POST /_notifications\n{\"events\":{}}", "POST /_notifications\n{\"events\":[{\"action\":\"delete\",\"target\":{\"repository\":\"Bad/Name\"}}]}", "GET /_notifications"]
--- more_headers eval
["$::Json\n$::Token", "$::Json\n$::Token", "$::Token"]
--- error_code eval
[400, 200, 405]
--- response_headers eval
["", "", "Allow: POST"]



=== TEST 9: registry_cache_notifications with a parameter it does not know
--- config
    location = /_notifications {
        registry_cache edge;
        registry_cache_notifications secret=$TEST_NGINX_CACHE_DIR/notifications.secret pushed=everyone;
    }
--- must_die
--- error_log
"registry_cache_notifications": invalid parameter "pushed=everyone"



=== TEST 10: a secret file that is not there
--- config
    location = /_notifications {
        registry_cache edge;
        registry_cache_notifications secret=/nonexistent/secret;
    }
--- must_die
--- error_log
"registry_cache_notifications" "secret=/nonexistent/secret" cannot be read



=== TEST 11: without registry_cache in its location
--- http_config
--- config
    location = /_notifications {
        registry_cache_notifications;
    }
--- must_die
--- error_log
"registry_cache_notifications" needs "registry_cache" in its location



=== TEST 12: pushed= without secret=: [emerg] (anyone's events could teach a link of any size)
--- config
    location = /_notifications {
        registry_cache edge;
        registry_cache_notifications pushed=public;
    }
--- must_die
--- error_log
"registry_cache_notifications": "pushed=" needs "secret="



=== TEST 13: an envelope larger than 1 MiB is refused before it is read (413), whatever client_max_body_size says
--- config
    location = /_notifications {
        registry_cache edge;
        registry_cache_notifications secret=$TEST_NGINX_CACHE_DIR/notifications.secret;
    }
--- request eval
"POST /_notifications\n" . '{"events":[' . ('[],' x 400000) . '[]]}'
--- more_headers eval
"$::Json\n$::Token"
--- error_code: 413



=== TEST 14: an envelope larger than client_body_buffer_size (read back from its temporary file) is applied
--- config
    client_body_buffer_size 1k;
    add_header X-Cache-Status $registry_cache_status always;
    location /v2/ {
        registry_cache edge;
        registry_cache_pass @registry;
    }
    location @registry {
        proxy_pass http://127.0.0.1:$TEST_NGINX_REGISTRY_PORT;
    }
    location = /_notifications {
        registry_cache edge;
        registry_cache_notifications secret=$TEST_NGINX_CACHE_DIR/notifications.secret;
    }
--- request eval
["HEAD /v2/demo/hello/blobs/$::Layer", "POST /_notifications\n" . '{"events":[' . join(',', ('{"action":"pull","target":{"repository":"demo/hello"}}') x 60) . ",$::DeleteLayerEvent]}", "HEAD /v2/demo/hello/blobs/$::Layer"]
--- more_headers eval
["", "$::Json\n$::Token", ""]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
["", '"blob_links":1,', ""]
--- response_headers eval
["", "", "X-Cache-Status: MISS"]
