# Blob bodies kept on the edge's disk (registry_cache_path ... blobs_max_size): a GET of a
# blob whose body verified is answered from its file with the registry's headers, with
# ranges (nginx's range filter) and 304s, only where the repository's link is servable (a
# HEAD hit's rule), never when the file is missing or not of its size (its record goes, the
# request goes upstream and keeps the body anew), never past the cap, and never a body that
# did not verify. Blocks named alike share a cache, in order; a block's `damage` section
# changes the stored file before the block runs, and `expect_files` counts the body files the
# blocks before left (the preprocessor runs before the previous block's nginx is stopped:
# what is counted is what that nginx left on disk while it still runs). Needs
# TEST_NGINX_REGISTRY_PORT, TEST_NGINX_HELLO_LAYER, TEST_NGINX_HELLO_LAYOUT and
# TEST_NGINX_CACHE_DIR.

use Test::Nginx::Socket 'no_plan';
use lib 't/inc';
use RegistryCache::Defaults;
use RegistryCache::Edge qw(edge_http edge_config);
use RegistryCache::Registry;
use RegistryCache::LyingUpstream;
use File::Path qw(remove_tree);
use Digest::SHA qw(sha256_hex);

our $Port = $ENV{TEST_NGINX_REGISTRY_PORT} or die "TEST_NGINX_REGISTRY_PORT is not set";
our $Layer = $ENV{TEST_NGINX_HELLO_LAYER} or die "TEST_NGINX_HELLO_LAYER is not set";
our $Blob = "/v2/demo/hello/blobs/$Layer";
our $ConfigBlob = "/v2/demo/hello/blobs/" . ($ENV{TEST_NGINX_HELLO_CONFIG} or die "TEST_NGINX_HELLO_CONFIG is not set");
our $BaseBlob = "/v2/demo/hello/blobs/" . ($ENV{TEST_NGINX_HELLO_BASE} or die "TEST_NGINX_HELLO_BASE is not set");
our $ConfigSize = -s "$ENV{TEST_NGINX_HELLO_LAYOUT}/blobs/" . ($ENV{TEST_NGINX_HELLO_CONFIG} =~ s{:}{/}r);
our $Body = do {
    my $file = "$ENV{TEST_NGINX_HELLO_LAYOUT}/blobs/" . ($Layer =~ s{:}{/}r);
    open my $fh, '<:raw', $file or die "$file: $!";
    local $/;
    <$fh>;
};
our $Length = length $Body;
our $Whole = qr/\A\Q$Body\E\z/;
our $Headers = "Content-Length: $Length\nDocker-Content-Digest: $Layer\nEtag: \"$Layer\"\n"
    . "Cache-Control: max-age=31536000\nContent-Type: application/octet-stream\n"
    . "Docker-Distribution-Api-Version: registry/2.0\nX-Content-Type-Options: nosniff";
remove_tree(glob "$ENV{TEST_NGINX_CACHE_DIR}/bodies-*");
RegistryCache::LyingUpstream::start();
our $TrueDigest = 'sha256:' . sha256_hex($RegistryCache::LyingUpstream::TRUE_BODY);

# Rewrites the record of a body with an older time (mdb_load, in its text form: \xx a byte):
# version 1, size and time as 8 bytes little-endian each.
sub age_body {
    my ($cache, $digest, $size, $stored_at) = @_;
    my ($hex) = $digest =~ /\Asha256:([0-9a-f]{64})\z/ or die "not a sha256 digest: $digest";
    my $le = sub { CORE::join '', map { sprintf '\\%02x', ($_[0] >> (8 * $_)) & 0xff } 0 .. 7 };
    open my $load, '|-', 'mdb_load', '-T', '-s', 'blob_bodies', "$ENV{TEST_NGINX_CACHE_DIR}/bodies-$cache"
        or die "mdb_load: $!";
    print {$load} "\\01", CORE::join('', map { "\\$_" } $hex =~ /../g), "\n",
        "\\01", $le->($size), $le->($stored_at), "\n";
    close $load or die "mdb_load failed: $?";
}

sub body_file {
    my ($cache, $digest) = @_;
    my $hex = $digest =~ s/^sha256://r;
    return "$ENV{TEST_NGINX_CACHE_DIR}/bodies-$cache/blobs/sha256/" . substr($hex, 0, 2) . "/$hex";
}

# An upload opened straight at the registry in e2e/pushed-<pid>: its path and query, for the
# PUT that ends it through the edge (TEST 12).
our $Upload = RegistryCache::Registry::open_upload($Port, "e2e/pushed-$$");

add_block_preprocessor(sub {
    my $block = shift;
    my $cache = $block->cache_name // lc($block->name =~ s/\W+/-/gr);
    my $cap = $block->blobs_max_size // '64m';
    my $upstream = $block->liar ? "127.0.0.1:$ENV{TEST_NGINX_LIAR_PORT}" : "127.0.0.1:$Port";
    if ($block->age_bodies) {
        # The config blob kept two hours ago, the layer fifty minutes ago.
        age_body($cache, $ENV{TEST_NGINX_HELLO_CONFIG}, $ConfigSize, time - 7200);
        age_body($cache, $Layer, $Length, time - 3000);
    }
    if (defined(my $want = $block->expect_files)) {
        my $dir = "$ENV{TEST_NGINX_CACHE_DIR}/bodies-$cache/blobs";
        my @files = grep { -f } glob("$dir/tmp/* $dir/sha256/*/*");
        Test::More::is(scalar @files, $want, $block->name . " - $want body file(s) on disk");
    }
    if (my $damage = $block->damage) {
        my $file = body_file($cache, $Layer);
        if ($damage =~ /^delete/) {
            unlink $file or die "$file: $!";
        } elsif ($damage =~ /^truncate/) {
            truncate $file, 100 or die "$file: $!";
        } elsif ($damage =~ /^orphan/) {
            # A body renamed into place whose record never committed (a crash between).
            my $orphan = body_file($cache, 'sha256:' . ('e' x 64));
            File::Path::make_path($orphan =~ s{/[^/]+$}{}r);
            open my $fh, '>:raw', $orphan or die "$orphan: $!";
            print {$fh} 'an orphan';
            close $fh;
        } elsif ($damage =~ /^flip/) {
            # The same size, other bytes: only hashing it again can tell.
            open my $fh, '+<:raw', $file or die "$file: $!";
            seek $fh, 1000, 0;
            print {$fh} 'x' x 16;
            close $fh;
        }
    }
    $block->set_value(main_config => "thread_pool verify threads=2;");
    $block->set_value(http_config => edge_http(dir => "bodies-$cache", params => "blobs_max_size=$cap"));
    my $v2 = 'registry_cache_verify threads=verify;';
    $v2 .= "\nregistry_cache_link_ttl " . $block->link_ttl . ';' if defined $block->link_ttl;
    $block->set_value(config => edge_config(upstream => $upstream, v2 => $v2, metrics => 1, more => <<'_EOC_'));
    location /purge/ {
        registry_cache edge;
        registry_cache_purge;
    }
_EOC_
});

no_shuffle();
log_level('info');
run_tests();

__DATA__

=== TEST 1: kept by the GET that verified it, then answered from its file with the registry's headers; the bytes fetched from the upstream are the first GET's alone
--- cache_name: one
--- request eval
["GET $::Blob", "GET $::Blob", "HEAD $::Blob", "GET /metrics"]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: HIT\nAccept-Ranges: bytes\n$::Headers", "X-Cache-Status: HIT\n$::Headers", ""]
--- response_body_like eval
[$::Whole, $::Whole, qr/\A\z/,
 qr/(?=.*^nginx_registry_cache_upstream_body_bytes_total\{cache="edge"\} $::Length$)(?=.*^nginx_registry_cache_blob_body_bytes_served_total\{cache="edge"\} $::Length$)/ms]



=== TEST 2: ranges from the file: a part, a resume, several parts; and a 304
--- cache_name: one
--- request eval
["GET $::Blob", "GET $::Blob", "GET $::Blob", "GET $::Blob"]
--- more_headers eval
["Range: bytes=0-99", "Range: bytes=1000000-", "Range: bytes=0-9,20-29", "If-None-Match: \"$::Layer\""]
--- error_code eval
[206, 206, 206, 304]
--- response_headers_like eval
["X-Cache-Status: HIT\nContent-Range: bytes 0-99/$::Length\nContent-Length: 100\nAccept-Ranges: bytes",
 "X-Cache-Status: HIT\nContent-Range: bytes 1000000-@{[$::Length - 1]}/$::Length",
 "X-Cache-Status: HIT\nContent-Type: multipart/byteranges; boundary=\\d+", "X-Cache-Status: HIT"]
--- response_body_like eval
[qr/\A\Q@{[substr($::Body, 0, 100)]}\E\z/, qr/\A\Q@{[substr($::Body, 1000000)]}\E\z/,
 qr/\Q@{[substr($::Body, 0, 10)]}\E.*\Q@{[substr($::Body, 20, 10)]}\E/s, qr/\A\z/]



=== TEST 3: a file cut short behind the edge's back is no answer: removed at start as not what its record says, the GET goes upstream...
--- cache_name: one
--- damage: truncate
--- request eval
"GET $::Blob"
--- response_headers
X-Cache-Status: MISS
--- response_body_like eval
$::Whole
--- error_log
removed 1 blob bodies without a record (100 bytes)



=== TEST 3b: ...and keeps it anew
--- cache_name: one
--- request eval
"GET $::Blob"
--- response_headers
X-Cache-Status: HIT
--- response_body_like eval
$::Whole



=== TEST 4: and so is a file gone
--- cache_name: one
--- damage: delete
--- request eval
"GET $::Blob"
--- response_headers
X-Cache-Status: MISS
--- response_body_like eval
$::Whole
--- error_log
is missing; its record is dropped



=== TEST 4b: (kept anew)
--- cache_name: one
--- request eval
["GET $::Blob", "GET /metrics"]
--- response_headers eval
["X-Cache-Status: HIT", ""]
--- response_body_like eval
[$::Whole, qr/^nginx_registry_cache_blob_bodies_stored_total\{cache="edge"\} 0$/m]



=== TEST 4c: a file of the right size but damaged bytes is hashed whole before a byte of it is sent: no answer, the GET goes upstream and gets the body whole; the file is counted and removed
--- cache_name: one
--- damage: flip
--- request eval
"GET $::Blob"
--- response_headers
X-Cache-Status: MISS
--- response_body_like eval
$::Whole
--- error_log eval
qr/the stored blob body \Q$::Layer\E hashes to sha256:[0-9a-f]{64} over $::Length bytes: it is damaged and removed; the request goes upstream/



=== TEST 4d: (the body is kept anew by that GET; e2e 20 counts the damaged file)
--- cache_name: one
--- request eval
"GET $::Blob"
--- response_headers
X-Cache-Status: HIT
--- response_body_like eval
$::Whole



=== TEST 4e: at start, a body file without a record is removed; those with one stay
--- cache_name: one
--- damage: orphan
--- request eval
"GET $::Blob"
--- response_headers
X-Cache-Status: HIT
--- error_log
removed 1 blob bodies without a record (9 bytes)



=== TEST 4f: (one file left: the recorded one)
--- cache_name: one
--- expect_files: 1
--- request eval
"GET $::Blob"
--- response_headers
X-Cache-Status: HIT



=== TEST 5: counted, and the bytes on disk shown
--- cache_name: one
--- request eval
["GET $::Blob", "GET /metrics"]
--- response_body_like eval
[$::Whole,
 qr/(?=.*^nginx_registry_cache_lookups_total\{cache="edge",kind="blob_body",result="hit"\} 1$)(?=.*^nginx_registry_cache_blob_bytes\{cache="edge"\} $::Length$)(?=.*^nginx_registry_cache_entries\{cache="edge",kind="blob_bodies"\} 1$)(?=.*^nginx_registry_cache_blob_body_bytes_served_total\{cache="edge"\} $::Length$)/ms]



=== TEST 6: only where the repository's link is servable: what a client with credentials fetched is no anonymous hit
--- request eval
["GET $::Blob", "GET $::Blob", "GET $::Blob", "GET $::Blob"]
--- more_headers eval
["Authorization: Bearer x", "", "", "Authorization: Bearer x"]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS", "X-Cache-Status: HIT", "X-Cache-Status: HIT"]
--- response_body_like eval
[$::Whole, $::Whole, $::Whole, $::Whole]



=== TEST 7: a body that would pass blobs_max_size is not kept
--- blobs_max_size: 512k
--- request eval
["GET $::Blob", "GET $::Blob"]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS"]
--- response_body_like eval
[$::Whole, $::Whole]



=== TEST 8: a body that does not hash to its digest is cut...
--- cache_name: liar
--- liar: 1
--- request eval
"GET /v2/lie/body-wrong/blobs/$::TrueDigest"
--- ignore_response
--- error_log
digest mismatch in repository "lie/body-wrong"



=== TEST 8b: ...and nothing of it is kept; the truth is
--- cache_name: liar
--- liar: 1
--- expect_files: 0
--- request eval
["GET /v2/lie/body-true/blobs/$::TrueDigest", "GET /v2/lie/body-true/blobs/$::TrueDigest", "GET /metrics"]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: HIT", ""]
--- response_body_like eval
[qr/\A\Q$RegistryCache::LyingUpstream::TRUE_BODY\E\z/, qr/\A\Q$RegistryCache::LyingUpstream::TRUE_BODY\E\z/,
 qr/^nginx_registry_cache_entries\{cache="edge",kind="blob_bodies"\} 1$/m]



=== TEST 8c: (the body's link ages past a registry_cache_link_ttl of one second: the harness waits)
--- cache_name: liar
--- liar: 1
--- request
GET /metrics
--- wait: 2.1



=== TEST 8d: past it, an upstream that fails the revalidation's HEAD (a 500, which registry_cache_use_stale does not name) never gets the held body served: the client's own request goes upstream and gets the failure; an upstream that names the digest again has the body served from disk
--- cache_name: liar
--- liar: 1
--- link_ttl: 1s
--- request eval
["GET /v2/lie/body-true/blobs/$::TrueDigest", "GET /v2/lie/body-true/blobs/$::TrueDigest"]
--- more_headers eval
["X-Lie: status-500", ""]
--- error_code eval
[500, 200]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: REVALIDATED"]
--- response_body_like eval
[qr/./, qr/\A\Q$RegistryCache::LyingUpstream::TRUE_BODY\E\z/]



=== TEST 9: at the cap, the bodies stored first make room, their files removed with them
--- cache_name: cap
--- blobs_max_size: 1049474
--- request eval
["GET $::Blob", "GET $::Blob", "GET $::ConfigBlob", "GET $::ConfigBlob", "GET $::Blob", "GET /metrics"]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: HIT", "X-Cache-Status: MISS", "X-Cache-Status: HIT",
 "X-Cache-Status: MISS", ""]
--- response_body_like eval
[$::Whole, $::Whole, qr/./, qr/./, $::Whole,
 qr/(?=.*^nginx_registry_cache_blob_bodies_evicted_total\{cache="edge"\} 2$)(?=.*^nginx_registry_cache_entries\{cache="edge",kind="blob_bodies"\} 1$)(?=.*^nginx_registry_cache_blob_bytes\{cache="edge"\} $::Length$)/ms]



=== TEST 9b: (what is on disk is what the records say)
--- cache_name: cap
--- blobs_max_size: 1049474
--- expect_files: 1
--- request eval
"GET $::Blob"
--- response_headers
X-Cache-Status: HIT



=== TEST 10: (two bodies kept, the config blob first)
--- cache_name: lru
--- blobs_max_size: 1049775
--- request eval
["GET $::ConfigBlob", "GET $::Blob"]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: MISS"]



=== TEST 10a: (a block that writes nothing: TEST 10's nginx, which commits what it still holds
when it exits, is gone before the next block's records are aged)
--- cache_name: lru
--- blobs_max_size: 1049775
--- request
GET /metrics
--- error_code: 200



=== TEST 10b: a body served again an hour after its record's time is renewed: at the cap the one not used goes, not the one kept first
--- cache_name: lru
--- blobs_max_size: 1049775
--- age_bodies: 1
--- request eval
["GET $::ConfigBlob", "GET $::BaseBlob", "GET $::ConfigBlob", "GET $::Blob"]
--- response_headers eval
["X-Cache-Status: HIT", "X-Cache-Status: MISS", "X-Cache-Status: HIT", "X-Cache-Status: MISS"]



=== TEST 11: (a body kept, then answered from its file)
--- cache_name: purge
--- request eval
["GET $::Blob", "GET $::Blob"]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: HIT"]



=== TEST 11a: a purge of the blob takes its body, linked nowhere else: the count says so
--- cache_name: purge
--- expect_files: 1
--- request eval
"DELETE /purge/demo/hello/blobs/$::Layer"
--- error_code: 200
--- response_body
{"purged":{"blob_links":1,"manifest_links":0,"tags":0,"manifest_bodies":0,"blob_bodies":1}}



=== TEST 11b: its file is gone from the disk, and the next GET is a MISS that keeps it anew
--- cache_name: purge
--- expect_files: 0
--- request eval
["GET $::Blob", "GET $::Blob"]
--- response_headers eval
["X-Cache-Status: MISS", "X-Cache-Status: HIT"]
--- response_body_like eval
[$::Whole, $::Whole]



=== TEST 12: an upload through the edge of a body it keeps (its closing PUT answered 201) teaches the link with the kept body's size
(the upload was opened straight at the registry, above; the edge carries the PUT that ends it)
--- cache_name: pushes
--- request eval
["GET $::Blob", "PUT $::Upload&digest=$::Layer\n$::Body", "HEAD /v2/e2e/pushed-$$/blobs/$::Layer"]
--- more_headers eval
["", "Content-Type: application/octet-stream", ""]
--- error_code eval
[200, 201, 200]
--- response_headers eval
["X-Cache-Status: MISS", "", "X-Cache-Status: HIT\nContent-Length: $::Length\nContent-Type: application/octet-stream"]
