package RegistryCache::LyingUpstream;

# A registry that lies, for tests of what the cache must not learn nor relay. It answers
#
#     HEAD|GET /v2/lie/<kind>/blobs/<digest>
#
# with a response shaped by <kind> (see %LIES, and %BODIES for lies about the bytes of a GET:
# their digests are those of $TRUE_BODY), on a loopback port of its own, from a
# forked child that the parent stops when the test file ends. Raw sockets, because the
# lies (a non-numeric Content-Length, a bare CR in a header) are ones no real server
# would tell. `honest` tells the truth: the control that shows the others could have
# been learned had they not lied.
#
#     use RegistryCache::LyingUpstream;
#     my $port = RegistryCache::LyingUpstream::start();   # also sets $ENV{TEST_NGINX_LIAR_PORT}

use strict;
use warnings;
use IO::Select;
use IO::Socket::INET;
use POSIX ();

my $other_digest = 'sha256:' . ('e' x 64);

# Answers to the ping, GET|HEAD /v2/, chosen by the request's X-Lie header (the edge passes
# a client's headers on): kind => the raw response. Any request, a ping too, with an X-Lie
# header of status-<code> or reset fails so instead (see serve).
our $PING_CHALLENGE = 'Bearer realm="http://127.0.0.1:1/token",service="liar"';
my %PINGS = (
    'ping-200' => "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
                  . "Content-Length: 2\r\nDocker-Distribution-Api-Version: registry/2.0\r\n"
                  . "Connection: close\r\n\r\n{}",
    'ping-401' => "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json; charset=utf-8\r\n"
                  . "Content-Length: 7\r\nDocker-Distribution-Api-Version: registry/2.0\r\n"
                  . "WWW-Authenticate: $PING_CHALLENGE\r\nConnection: close\r\n\r\nrefused",
    # Two challenges: replayed as one, a client would miss the other.
    'ping-two-challenges' => "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n"
                  . "WWW-Authenticate: Basic realm=\"liar\"\r\nWWW-Authenticate: $PING_CHALLENGE\r\n"
                  . "Connection: close\r\n\r\n",
    # A status line, then a header line nginx refuses: the exchange breaks after its status.
    'ping-bad-header' => "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nnot a header\r\n\r\n{}",
);

# kind => sub (digest) returning the raw response head, or undef to reset the connection.
my %LIES = (
    'honest'          => sub { head(200, digest => $_[0]) },
    'wrong-digest'    => sub { head(200, digest => $other_digest) },
    'no-digest'       => sub { head(200) },
    'two-digests'     => sub { head(200, digest => $_[0], extra => "Docker-Content-Digest: $_[0]\r\n") },
    'text-length'     => sub { head(200, digest => $_[0], length => 'abc') },
    'negative-length' => sub { head(200, digest => $_[0], length => '-5') },
    'cr-in-type'      => sub { head(200, digest => $_[0], type => "text/plain\rX-Evil: 1") },
    'long-type'       => sub { head(200, digest => $_[0], type => 'application/' . ('x' x 300)) },
    'status-500'      => sub { head(500, digest => $_[0]) },
    'reset'           => sub { undef },
);

# Lies told in the body of a GET of /v2/lie/<kind>/blobs/<sha256 of $TRUE_BODY>. Blob bodies
# are large enough (270 kB) for the edge to hash them in its thread pool when it has one;
# $TRUE_MANIFEST, served by tag, is small enough to be hashed on its event loop.
our $TRUE_BODY = "the bytes the digest names\n" x 10000;
our $TRUE_MANIFEST = "the bytes the digest names\n" x 1000;
my $wrong_body = "bytes that are not the ones the digest names\n" x 6000;
my $wrong_manifest = "bytes that are not the ones the digest names\n" x 600;
my %BODIES = (
    # The truth, offering ranges as distribution does (nginx may then cut a part of it).
    'body-true'    => sub { head(200, digest => $_[0], length => length $TRUE_BODY,
                                 extra => "Accept-Ranges: bytes\r\n") . $TRUE_BODY },
    'body-wrong'   => sub { head(200, digest => $_[0], length => length $wrong_body) . $wrong_body },
    # Fewer bytes than declared, then the connection closes.
    'body-short'   => sub { head(200, digest => $_[0], length => 10 + length $TRUE_BODY) . $TRUE_BODY },
    # The truth, but no Docker-Content-Digest: only its bytes say what it is.
    'body-nodigest' => sub { head(200, length => length $TRUE_BODY) . $TRUE_BODY },
    # A Content-Length shorter than the body: nginx relays only the declared bytes.
    'body-length'  => sub { head(200, digest => $_[0], length => length($TRUE_BODY) - 5) . $TRUE_BODY },
    # No Content-Length at all: the end is the close.
    'body-unsized' => sub { head(200, digest => $_[0], length => '') . $wrong_body },
    # A large truth (40 MB), for bodies an edge takes in slices.
    'body-big'     => sub { head(200, digest => $_[0], length => length big_body()) . big_body() },
    # The first half of the truth, then nothing until the other side closes (see %STALLS).
    'body-stall'   => sub { head(200, digest => $_[0], length => length $TRUE_BODY)
                            . substr($TRUE_BODY, 0, length($TRUE_BODY) / 2) },
    # Wrong bytes under a Content-Encoding that changes nothing ("identity").
    'body-identity' => sub { head(200, digest => $_[0], length => length $wrong_body,
                                  extra => "Content-Encoding: identity\r\n") . $wrong_body },
    # The true bytes, but declared encoded: what the client would decode is not the blob.
    'body-gzip'    => sub { head(200, digest => $_[0], length => length $TRUE_BODY,
                                 extra => "Content-Encoding: gzip\r\n") . $TRUE_BODY },
    # Wrong bytes under other 2xx statuses: 203, and a 206 nobody asked for.
    'body-203'     => sub { head(203, digest => $_[0], length => length $wrong_body) . $wrong_body },
    'body-206'     => sub { my $n = length $wrong_body;
                            head(206, digest => $_[0], length => $n,
                                 extra => "Content-Range: bytes 0-@{[$n - 1]}/$n\r\n") . $wrong_body },
    # The first 100 bytes of the truth, as the answer to a client's own Range: bytes=0-99.
    'body-206-part' => sub { head(206, digest => $_[0], length => 100,
                                  extra => "Content-Range: bytes 0-99/@{[length $TRUE_BODY]}\r\n")
                             . substr($TRUE_BODY, 0, 100) },
    # The truth with no Content-Length: the end is the close.
    'body-unsized-true' => sub { head(200, digest => $_[0], length => '') . $TRUE_BODY },
    # Manifests by tag (/v2/lie/<kind>/manifests/<tag>): the upstream names the digest.
    'tag-true'     => sub { head(200, digest => manifest_digest(), length => length $TRUE_MANIFEST)
                            . $TRUE_MANIFEST },
    'tag-wrong'    => sub { head(200, digest => manifest_digest(), length => length $wrong_manifest)
                            . $wrong_manifest },
    # The truth, as an OCI image manifest: a tag the edge may answer from its store.
    'tag-oci'      => sub { head(200, digest => manifest_digest(), length => length $TRUE_MANIFEST,
                                 type => 'application/vnd.oci.image.manifest.v1+json') . $TRUE_MANIFEST },
);
# Kinds after whose response the liar waits (at most 30 s) for the other side to close.
my %STALLS = ('body-stall' => 1);

my $big_body;
sub big_body { $big_body //= join '', map { sprintf "%08d: bytes of a large body\n", $_ } 1 .. 1_200_000 }

sub manifest_digest { require Digest::SHA; 'sha256:' . Digest::SHA::sha256_hex($TRUE_MANIFEST) }

sub head {
    my ($status, %h) = @_;
    my $type = $h{type} // 'application/octet-stream';
    my $length = $h{length} // 5;
    my $head = "HTTP/1.1 $status Lie\r\nContent-Type: $type\r\n";
    $head .= "Content-Length: $length\r\n" if $length ne '';
    $head .= "Docker-Content-Digest: $h{digest}\r\n" if defined $h{digest};
    $head .= $h{extra} // '';
    return $head . "Connection: close\r\n\r\n";
}

my $child;

sub start {
    my $listener = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                         Listen => 64, ReuseAddr => 1, Proto => 'tcp')
        or die "lying upstream: cannot listen: $!";
    my $port = $listener->sockport;
    $child = fork // die "lying upstream: fork: $!";
    if ($child == 0) {
        serve($listener);
        POSIX::_exit(0);
    }
    close $listener;
    $ENV{TEST_NGINX_LIAR_PORT} = $port;
    return $port;
}

# Runs the liar as a program: prints its port, serves until TERM (at most ten minutes).
#     perl -It/inc -MRegistryCache::LyingUpstream -e RegistryCache::LyingUpstream::main
sub main {
    local $SIG{TERM} = sub { exit 0 };
    $| = 1;
    print start(), "\n";
    sleep 1 for 1 .. 600;
    exit 0;
}

sub serve {
    my ($listener) = @_;
    # Bounded in time and in connections: a test that forgets it cannot leave it running.
    alarm 600;
    # A peer that closes before it has read the whole answer (nginx, once its client left)
    # must not end the liar with SIGPIPE: the write just fails.
    local $SIG{PIPE} = 'IGNORE';
    for (1 .. 100_000) {
        my $client = $listener->accept or next;
        my $request = '';
        while ($request !~ /\r\n\r\n/) {
            my $n = sysread($client, $request, 4096, length $request);
            last unless $n;
        }
        my ($method, $kind, $digest) =
            $request =~ m{^(\w+) /v2/lie/([\w-]+)/(?:blobs|manifests)/(\S+) HTTP/};
        my $lie = defined $kind && ($BODIES{$kind} || $LIES{$kind});
        my $response = $lie ? $lie->($digest) : "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        if ($request =~ m{^(\w+) /v2/ HTTP/}) {
            $method = $1;
            my ($ping) = $request =~ /^X-Lie: ([\w-]+)\r$/mi;
            $response = $PINGS{$ping // 'ping-200'};
        }
        # Any request, a ping too, fails as its X-Lie header says: status-<code>, or reset.
        if ($request =~ /^X-Lie: (status-(\d{3})|reset)\r$/mi) {
            $response = $2 ? "HTTP/1.1 $2 Lie\r\nContent-Length: 4\r\nConnection: close\r\n\r\nlie\n" : undef;
        }
        # Wrong bytes, served in the parts a Range asks for, as a registry serves ranges (for
        # nginx's slice module, which asks for the body in parts and sends them as one 200).
        if (($kind // '') eq 'ranged-wrong') {
            my ($from, $to) = $request =~ /^Range: bytes=(\d+)-(\d*)\r$/mi;
            my $n = length $wrong_body;
            if (defined $from) {
                $to = $n - 1 if $to eq '' || $to >= $n;
                my $part = substr($wrong_body, $from, $to - $from + 1);
                $response = head(206, digest => $digest, length => length $part,
                                 extra => "Content-Range: bytes $from-$to/$n\r\n") . $part;
            } else {
                $response = head(200, digest => $digest, length => $n) . $wrong_body;
            }
        }
        if (defined $response) {
            $response .= 'x' x 5 if $method eq 'GET' && $LIES{$kind // ''} && $response =~ /^HTTP\/1.1 200/;
            $response =~ s/\r\n\r\n.*\z/\r\n\r\n/s if $method eq 'HEAD';
            print {$client} $response;
            if ($STALLS{$kind // ''}) {
                $client->flush;
                IO::Select->new($client)->can_read(30);
            }
        } else {
            # SO_LINGER with a zero timeout: close() sends a reset instead of a FIN.
            setsockopt($client, Socket::SOL_SOCKET(), Socket::SO_LINGER(), pack('ii', 1, 0));
        }
        close $client;
    }
}

END {
    local $?;  # waitpid would make the child's signal the test's exit status
    if ($child) {
        kill 'TERM', $child;
        waitpid $child, 0;
    }
}

1;
