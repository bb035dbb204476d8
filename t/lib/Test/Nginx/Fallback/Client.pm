package Test::Nginx::Fallback::Client;

# The HTTP side of the fallback Test::Nginx::Socket: turn a block's
# "--- request" / "--- more_headers" into raw HTTP/1.x bytes, send them over
# a plain TCP socket and parse what comes back.

use strict;
use warnings;

use Exporter 'import';
use HTTP::Response ();
use IO::Select ();
use IO::Socket::INET ();
use Time::HiRes qw(sleep);
use Test::More ();

our @EXPORT_OK = qw(build_request send_request parse_response);

# --- building requests ------------------------------------------------------

# Raw request bytes for one "--- request" value.  The first line is
# "METHOD [URI [VERSION]]" (URI defaults to /, VERSION to HTTP/1.1); the
# remaining lines are the body.  Host and Connection: close are added unless
# more_headers has them; a body gets a Content-Length unless the headers
# already give one or use chunked encoding, and such a body is trimmed of
# surrounding whitespace first (real harness behaviour: it lets tests end a
# body with a newline that is not sent).
sub build_request {
    my ($name, $request, $more_headers) = @_;
    $request = '' unless defined $request;
    # Leading comment lines and blank space are not part of the request.
    1 while $request =~ s/^\s*#[^\n]+\s+|^\s+//s;
    my ($line, $body) = split /\n/, $request, 2;
    $body = '' unless defined $body;
    Test::More::BAIL_OUT("$name - Request line should be non-empty")
        unless defined $line && $line =~ /\S/;
    my ($method, $uri, $version) = split ' ', $line;
    $uri = '/' unless defined $uri;
    $version = 'HTTP/1.1' unless defined $version;

    my ($headers, $chunked) = format_more_headers($more_headers // '');
    if ($body ne '' && !$chunked && $headers !~ /(?:^|\n)Content-Length:/) {
        $body =~ s/^\s+|\s+$//g;
        $headers .= "Content-Length: " . length($body) . "\r\n";
    }
    $headers = "Connection: close\r\n$headers"
        if $headers !~ /(?:^|\n)Connection/i;
    $headers = "Host: localhost\r\n$headers"
        if $headers !~ /(?:^|\n)Host:/i;

    return "$method $uri $version\r\n$headers\r\n$body";
}

# "Name: value" lines (comments skipped) as CRLF-terminated header lines,
# plus whether they ask for a chunked request body.
sub format_more_headers {
    my ($text) = @_;
    my ($out, $chunked) = ('', 0);
    for my $line (split /\n+/, $text) {
        next if $line =~ /^\s*#/;
        my ($key, $val) = split /:\s*/, $line, 2;
        $val = '' unless defined $val;
        $chunked = 1 if lc $key eq 'transfer-encoding' && $val eq 'chunked';
        $out .= "$key: $val\r\n";
    }
    return ($out, $chunked);
}

# --- sending --------------------------------------------------------------------

# Send $raw and return everything the server sent until it closed the
# connection.  On timeout a test fails (unless $abort, i.e. the block has
# "--- abort") and the partial response is returned.  Connecting is retried
# for a while: nginx may still be coming up.
sub send_request {
    my ($name, $raw, $port, $timeout, $abort) = @_;
    my $sock = connect_with_retry($name, $port, $timeout) or return undef;
    local $SIG{PIPE} = 'IGNORE';
    write_all($sock, $raw);
    my $resp = read_until_close($sock, $timeout);
    close $sock;
    if (!defined $resp->{timed_out}) {
        return $resp->{data};
    }
    Test::More::fail("ERROR: client socket timed out - $name\n") unless $abort;
    return $resp->{data};
}

sub connect_with_retry {
    my ($name, $port, $timeout) = @_;
    my $err;
    for my $try (1 .. 50) {
        my $sock = IO::Socket::INET->new(
            PeerAddr => '127.0.0.1',
            PeerPort => $port,
            Proto    => 'tcp',
            Timeout  => $timeout,
        );
        return $sock if $sock;
        $err = $!;
        sleep($try * 0.02 > 1 ? 1 : $try * 0.02);
    }
    Test::More::fail("$name - Can't connect to 127.0.0.1:$port: $err (aborted)\n");
    return undef;
}

# A write error (nginx answered early and closed) is not fatal: whatever
# nginx sent is still read and checked.
sub write_all {
    my ($sock, $data) = @_;
    my $off = 0;
    while ($off < length $data) {
        my $n = syswrite $sock, $data, length($data) - $off, $off;
        if (!defined $n) {
            warn "write failed: $!\n";
            return;
        }
        $off += $n;
    }
}

sub read_until_close {
    my ($sock, $timeout) = @_;
    my $sel = IO::Select->new($sock);
    my $data = '';
    while (1) {
        return { data => $data, timed_out => 1 } unless $sel->can_read($timeout);
        my $n = sysread $sock, my $buf, 65536;
        if (!defined $n) {
            warn "HTTP response read failure: $!\n";
            last;
        }
        last if $n == 0;
        $data .= $buf;
    }
    return { data => $data };
}

# --- parsing ----------------------------------------------------------------------

# Returns (HTTP::Response with decoded body, raw header text).  A HEAD
# response keeps its Content-Length without a body; a chunked body is
# de-chunked and malformed chunking fails a test.
sub parse_response {
    my ($name, $raw, $is_head) = @_;
    $raw = '' unless defined $raw;
    my $raw_headers = $raw =~ /^(.*?\r\n)\r\n/s ? $1 : '';
    my $res = HTTP::Response->parse($raw);
    my $code = $res->code;
    $res->code(undef) if defined $code && $code !~ /^\d+$/;
    return ($res, $raw_headers)
        if $res->code && ($res->code == 304 || $res->code == 101);

    my $te  = $res->header('Transfer-Encoding');
    my $len = $res->header('Content-Length');
    if (defined $te && $te eq 'chunked') {
        my $body = dechunk($name, $res->content // '');
        $res->content($body) if defined $body;
    } elsif (defined $len && $len =~ /^\d+$/) {
        my $content = $res->content // '';
        if (length $content > $len) {
            $res->content(substr $content, 0, $len);
        } elsif (length $content < $len && !$is_head) {
            warn "WARNING: $name - response body truncated: $len expected, "
                 . "but got " . length($content) . "\n";
        }
    }
    return ($res, $raw_headers);
}

# Decode a chunked body (trailers are skipped); undef after failing a test
# when the framing is broken.
sub dechunk {
    my ($name, $raw) = @_;
    my $out = '';
    while (1) {
        if ($raw !~ /\G[ \t]*([0-9A-Fa-f]+)[^\r\n]*\r\n/gc) {
            Test::More::fail("$name - invalid chunked body received: "
                             . substr($raw, pos($raw) // 0, 60));
            return undef;
        }
        my $size = hex $1;
        return $out if $size == 0;
        my $start = pos $raw;
        if (length($raw) - $start < $size + 2
            || substr($raw, $start + $size, 2) ne "\r\n")
        {
            Test::More::fail("$name - invalid chunked data received "
                             . "(not enough octets or missing CRLF)");
            return undef;
        }
        $out .= substr $raw, $start, $size;
        pos($raw) = $start + $size + 2;
    }
}

1;
