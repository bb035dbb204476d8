package Test::Nginx::Socket;

# A small stand-in for the CPAN Test::Nginx::Socket (openresty/test-nginx),
# used only when the real module is not installed (the Makefile then adds
# -It/lib).  It implements the subset of the real harness our t/*.t files
# use, with the same semantics, test names and test counts, so the same .t
# files run unchanged under either.  See t/000-harness.t for a self-test and
# the POD at the end for what is (not) supported.

use strict;
use warnings;

# -base makes this package a Test::Base subclass: `use Test::Nginx::Socket
# 'no_plan'` then reaches Test::Base::import, which handles the plan and
# exports Test::Base/Test::More functions (plan, blocks, is, ...) together
# with our @EXPORT.  (The real module does the same.)
use Test::Base -base;

use Carp ();
use File::Spec ();
use List::Util qw(shuffle);
use Scalar::Util qw(looks_like_number);
use Test::LongString ();
use Text::Diff ();
use Time::HiRes qw(sleep);

use Test::Nginx::Fallback::Server;
use Test::Nginx::Fallback::Client qw(build_request send_request parse_response);

our $VERSION = '0.01';

our @EXPORT = qw(
    run_tests repeat_each no_shuffle no_long_string log_level
    master_on master_off workers worker_connections no_root_location
    add_block_preprocessor env_to_nginx timeout server_port server_root
    html_dir bail_out
);

my $ServRoot = $ENV{TEST_NGINX_SERVROOT}
    || File::Spec->rel2abs('t/servroot');
# The real harness publishes the server root under this name.
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

my $Server = Test::Nginx::Fallback::Server->new(
    servroot           => $ServRoot,
    binary             => $ENV{TEST_NGINX_BINARY} || 'nginx',
    port               => $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT}
                          || 1984,
    workers            => 1,
    worker_connections => 64,
    master_process     => $ENV{TEST_NGINX_MASTER_PROCESS} || 'off',
    load_modules       => $ENV{TEST_NGINX_LOAD_MODULES},
    env_to_nginx       => [],
    timeout            => $ENV{TEST_NGINX_TIMEOUT} || 3,
);

my $RepeatEach   = 1;
my $NoShuffle    = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
my $NoLongString = 0;
my $LogLevel     = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
my @Preprocessors;
my $Started;     # nginx may be running: stop it at exit

# --- public API (same names and behaviour as the real module) -------------------

sub repeat_each      { $RepeatEach = shift if @_; return $RepeatEach }
sub no_shuffle       { $NoShuffle = 1 }
sub no_long_string   { $NoLongString = 1 }
sub log_level        { $LogLevel = shift if @_; return $LogLevel }
sub master_on        { $Server->{master_process} = 'on' }
sub master_off       { $Server->{master_process} = 'off' }
sub no_root_location { $Server->{no_root_location} = 1 }
sub server_root      { $Server->servroot }
sub html_dir         { $Server->html_dir }

sub workers {
    return $Server->{workers} unless @_;
    $Server->{workers} = shift;
}

sub worker_connections {
    return $Server->{worker_connections} unless @_;
    $Server->{worker_connections} = shift;
}

sub timeout {
    return $Server->{timeout} unless @_;
    $Server->{timeout} = shift;
}

sub server_port {
    return $Server->{port} unless @_;
    $Server->{port} = shift;
}

# Later preprocessors run first, as in the real harness.
sub add_block_preprocessor(&) { unshift @Preprocessors, shift }

sub env_to_nginx {
    Carp::croak("env_to_nginx: no arguments specified") unless @_;
    for my $v (@_) {
        Carp::croak("env_to_nginx: bad argument value: $v")
            if $v !~ /^[A-Za-z_]/ || $v =~ /\n/;
        push @{ $Server->{env_to_nginx} }, $v;
    }
}

sub bail_out {
    $Server->stop('bail_out');
    Test::More::BAIL_OUT(@_);
}

sub run_tests {
    $ENV{TEST_NGINX_SERVER_PORT} //= $Server->{port};
    my @blocks = Test::Base::blocks();
    @blocks = shuffle @blocks unless $NoShuffle;
    for my $block (@blocks) {
        $_->($block) for @Preprocessors;
        $block->set_value(name => "$0 " . $block->name);
        run_block($block);
    }
}

END {
    $Server->stop('END') if $Started && !$ENV{TEST_NGINX_NO_CLEAN};
}

# --- one block ----------------------------------------------------------------------

# NB: Test::Base section accessors return a list in list context (empty when
# the section is absent), hence the `scalar`s when passing them on.
sub run_block {
    my ($block) = @_;
    return if defined $block->SKIP;
    my $name = $block->name;

    if (my $n = tests_to_skip($block)) {
        # Once per repetition, and nginx is left alone, as in the real one.
        for (1 .. $RepeatEach) {
            SKIP: { Test::More::skip("$name - $n->{reason}", $n->{count}) }
        }
        return;
    }

    $Server->stop($name);
    $Server->reset_servroot;
    write_config($block);
    $Started = 1;

    return check_must_die($block) if defined $block->must_die;

    $Server->start_or_bail($name);
    $Server->wait_pid_file;
    for my $rep (0 .. $RepeatEach - 1) {
        run_requests($block, $rep);
    }
}

sub write_config {
    my ($block) = @_;
    my $name = $block->name;
    my %sec = map { $_ => expand_env(scalar $block->$_, $name) }
              qw(main_config http_config config post_main_config);
    $Server->write_config(%sec, log_level => $block->log_level || $LogLevel);
}

# "--- skip_nginx: N: <op> x.y.z[: reason]" => {count, reason} when the
# running nginx matches, else undef.
sub tests_to_skip {
    my ($block) = @_;
    my $spec = $block->skip_nginx;
    return undef unless defined $spec;
    $spec =~ m{^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)
               (?:\s*:\s*(.*?))?\s*$}x
        or bail_out($block->name . " - Invalid --- skip_nginx spec: $spec");
    my ($count, $op, @ver) = ($1, $2, $3, $4, $5);
    my $reason = $6 || "nginx version $op " . join('.', @ver);
    my $want = Test::Nginx::Fallback::Server::canon_version(@ver);
    my $have = $Server->version;
    my %cmp = ('<'  => sub { $_[0] <  $_[1] }, '<=' => sub { $_[0] <= $_[1] },
               '>'  => sub { $_[0] >  $_[1] }, '>=' => sub { $_[0] >= $_[1] });
    return undef unless $cmp{$op}->($have, $want);
    return { count => $count, reason => $reason };
}

# nginx must refuse to start.  Like the real harness, every repetition runs
# nginx once, checks the exit status, then checks error_log / no_error_log
# against what nginx logged (with -e even errors from parsing nginx.conf go
# to logs/error.log).
sub check_must_die {
    my ($block) = @_;
    my $name = $block->name;
    my $expect = $block->must_die;
    for my $rep (0 .. $RepeatEach - 1) {
        my $status = $Server->start;
        if ($status == -1) {
            Test::More::fail("$name - failed to execute the nginx command line");
        } elsif ($status & 128) {
            Test::More::fail("$name - nginx core dumped");
        } elsif (looks_like_number($expect)) {
            Test::More::is($expect, $status >> 8,
                           "$name - die with the expected exit code");
        } else {
            Test::More::isnt($status, 0, "$name - die as expected");
        }
        check_error_log($block, $rep);
        if ($status == 0) {
            warn "WARNING: $name - nginx must die but it does not; killing it\n";
            $Server->wait_pid_file;
            $Server->stop($name);
        }
    }
}

# Send the block's request(s) and run every check once ($rep is the
# repeat_each round, used in test names as the real harness does).
sub run_requests {
    my ($block, $rep) = @_;
    my $name = $block->name;
    my @reqs = requests_of($block);
    my $many = @reqs > 1;
    my $timeout = parse_time(scalar $block->timeout) // $Server->{timeout};

    for my $i (0 .. $#reqs) {
        my $raw = send_request($name, $reqs[$i]{raw}, $Server->{port},
                               $timeout, defined $block->abort);
        check_response($block, $raw, $reqs[$i]{head},
                       { idx => $i, many => $many, rep => $rep })
            unless defined $block->ignore_response;
        # As in the real harness, the log is checked after each request of
        # a multi-request block, not only after the last one.
        if ($i < $#reqs) {
            sleep $block->wait if $block->wait;
            check_error_log($block, $rep);
        }
    }
    sleep $block->wait if $block->wait;
    check_error_log($block, $rep);
}

sub check_response {
    my ($block, $raw, $is_head, $ctx) = @_;
    @$ctx{qw(res raw_headers)} = parse_response($block->name, $raw, $is_head);
    $ctx->{block} = $block;
    check_status($ctx);
    check_headers($ctx);
    check_body($ctx);
}

# "--- request" may be a string or (with eval) an array of strings, one
# request each; "--- more_headers" likewise a string or one per request.
sub requests_of {
    my ($block) = @_;
    my $name = $block->name;
    my $request = $block->request;
    bail_out("$name - request empty") unless defined $request;
    my @list = ref $request eq 'ARRAY' ? @$request : ($request);
    my $more = $block->more_headers;
    my @out;
    for my $i (0 .. $#list) {
        my $hdr = ref $more eq 'ARRAY' ? $more->[$i] : $more;
        bail_out("$name - --- more_headers lacks data for request $i")
            if ref $more eq 'ARRAY' && !defined $hdr;
        # Requests are sent as written: the real harness expands
        # $TEST_NGINX_* only in config sections and expected bodies.
        push @out, { raw  => build_request($name, $list[$i], $hdr),
                     head => $list[$i] =~ /^\s*HEAD\s+/ ? 1 : 0 };
    }
    return @out;
}

# --- checks -------------------------------------------------------------------------

# Expected value for request idx: with several requests every expectation
# must be an array (one entry per request); with one request a one-element
# array is accepted too.
sub expected {
    my ($ctx, $value) = @_;
    return $value unless ref $value eq 'ARRAY';
    return $value->[ $ctx->{many} ? $ctx->{idx} : 0 ];
}

sub check_status {
    my ($ctx) = @_;
    my $block = $ctx->{block};
    my $got = ($ctx->{res} && $ctx->{res}->code) || '';
    my $test = $block->name . " - status code ok";
    if (defined $block->error_code_like) {
        my $re = expected($ctx, scalar $block->error_code_like);
        Test::More::like($got, qr/$re/sm, $test);
    } elsif (defined $block->error_code) {
        Test::More::is($got, expected($ctx, scalar $block->error_code), $test);
    } else {
        Test::More::is($got, 200, $test);
    }
}

# "--- response_headers": "Name: value" must match exactly (a missing header
# counts as ""), "!Name" means absent.  "--- response_headers_like": the
# value must match /^regex$/.  As in the real harness only one of the two
# sections is honoured, response_headers winning.
sub check_headers {
    my ($ctx) = @_;
    my $block = $ctx->{block};
    my $name = $block->name;
    my $res = $ctx->{res};
    if (defined $block->response_headers) {
        for my $h (parse_header_spec(expected($ctx, scalar $block->response_headers))) {
            my ($key, $val) = @$h;
            if (!defined $val) {
                Test::More::unlike($ctx->{raw_headers}, qr/^\s*\Q$key\E\s*:/msi,
                    "$name - header $key not present in the raw headers");
                next;
            }
            $val =~ s/\$ServerPort\b/$Server->{port}/g;
            Test::More::is($res->header($key) // '', $val,
                           "$name - header $key ok");
        }
    } elsif (defined $block->response_headers_like) {
        for my $h (parse_header_spec(expected($ctx, scalar $block->response_headers_like))) {
            my ($key, $re) = @$h;
            Test::More::like($res->header($key) // '', qr/^$re$/,
                             "$name - header $key like ok");
        }
    }
}

# [name, value] pairs in input order; value undef for "!name".  A repeated
# name keeps its last value (the real harness uses a hash).
sub parse_header_spec {
    my ($text) = @_;
    my (%val, @order);
    for my $line (split /\n/, $text // '') {
        $line =~ s/^\s+|\s+$//g;
        next if $line eq '';
        my ($key, $val);
        if ($line =~ s/^!\s*//) {
            $key = $line;
        } else {
            ($key, $val) = split /\s*:\s*/, $line, 2;
        }
        push @order, $key unless exists $val{$key};
        $val{$key} = $val;
    }
    return map { [ $_, $val{$_} ] } @order;
}

sub check_body {
    my ($ctx) = @_;
    my $block = $ctx->{block};
    my $name = $block->name;
    my $got = $ctx->{res} ? $ctx->{res}->content : undef;
    my $where = "(repeated req $ctx->{rep}, req $ctx->{idx})";

    if (defined $block->response_body) {
        my $want = expected($ctx, scalar $block->response_body);
        if (ref $want) {    # "--- response_body eval" giving a qr//
            Test::More::like($got, $want, "$name - response_body - like $where");
            return;
        }
        $want = expand_env($want =~ s/\$ServerPort\b/$Server->{port}/gr, $name)
            if defined $want;
        compare_body($got, $want,
                     "$name - response_body - response is expected $where");
    } elsif (defined $block->response_body_like
             || defined $block->response_body_unlike)
    {
        my $type = defined $block->response_body_like ? 'like' : 'unlike';
        my $method = "response_body_$type";
        my $re = expected($ctx, scalar $block->$method);
        $re =~ s/\$ServerPort\b/$Server->{port}/g;
        my $summary = summarize($got);
        my $cmp = $type eq 'like' ? \&Test::More::like : \&Test::More::unlike;
        $cmp->($got, qr/$re/s,
               "$name - response_body_$type - response is expected ($summary)");
    }
}

# Exact body comparison.  Test::LongString (default) reports where long
# strings start to differ; we add a unified diff for multi-line bodies.
# With no_long_string() Test::Base::is prints the diff itself.
sub compare_body {
    my ($got, $want, $test) = @_;
    if ($NoLongString) {
        Test::Base::is($got, $want, $test);
        return;
    }
    my $ok = Test::LongString::is_string($got, $want, $test);
    if (!$ok && defined $got && defined $want && $want =~ /\n./s) {
        Test::More::diag(Text::Diff::diff(\$want, \$got,
                                          { STYLE => 'Unified' }));
    }
}

# Body squeezed onto one line, as shown in response_body_like test names.
sub summarize {
    my ($s) = @_;
    return '' unless defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\n/ /g;
    $s =~ s/\s{2,}/ /g;
    return $s;
}

# "--- error_log": every pattern must match some line logged during this
# request round; "--- no_error_log": no pattern may match any.  A pattern is
# a literal substring, or a regex when the section is eval'ed to a qr// or
# an array of strings/qr//s.  One test per pattern, except that each line a
# no_error_log pattern matches is a separate failure.  Unexpected
# [alert]/[crit]/[emerg] lines only warn, as in the real harness
# (RegistryCache::Defaults turns them into failures).
sub check_error_log {
    my ($block, $rep) = @_;
    my $name = $block->name;
    my $lines = $Server->new_log_lines;
    my %mentioned;

    if (defined $block->error_log) {
        my @pats = patterns(scalar $block->error_log);
        note_levels(\%mentioned, @pats);
        for my $pat (@pats) {
            if (grep { line_matches($_, $pat) } @$lines) {
                Test::More::pass("$name - pattern \"$pat\" matches a line "
                                 . "in error.log (req $rep)");
            } else {
                Test::More::fail("$name - pattern \"$pat\" should match a "
                                 . "line in error.log (req $rep)");
            }
        }
    }

    if (defined $block->no_error_log) {
        my @pats = patterns(scalar $block->no_error_log);
        note_levels(\%mentioned, @pats);
        for my $pat (@pats) {
            my @hits = grep { line_matches($lines->[$_], $pat) } 0 .. $#$lines;
            my $p = fmt_str($pat);
            Test::More::pass("$name - pattern \"$p\" does not match a line "
                             . "in error.log (req $rep)") unless @hits;
            for my $i (@hits) {
                my $context = join '', @$lines[ $i + 1 .. min($i + 9, $#$lines) ];
                Test::More::fail("$name - pattern \"$p\" should not match any "
                    . "line in error.log but matches line \""
                    . fmt_str($lines->[$i]) . "\" (req $rep)\n$context");
            }
        }
    }

    for my $level (qw(alert crit emerg)) {
        next if $mentioned{$level};
        warn "WARNING: $name - " . fmt_str($_) . "\n"
            for grep { /\[$level\]/ } @$lines;
    }
}

sub min { $_[0] < $_[1] ? $_[0] : $_[1] }

# Patterns of an error_log / no_error_log value: a string gives one literal
# pattern per non-empty line, a qr// itself, an array its elements.
sub patterns {
    my ($value) = @_;
    return @$value if ref $value eq 'ARRAY';
    return ($value) if ref $value eq 'Regexp';
    chomp $value;
    return split /\n+/, $value;
}

sub line_matches {
    my ($line, $pat) = @_;
    return ref $pat ? $line =~ $pat : index($line, $pat) >= 0;
}

# Remember which of [alert/[crit/[emerg the block's own patterns mention;
# those levels are then expected and not warned about.
sub note_levels {
    my ($seen, @pats) = @_;
    for my $level (qw(alert crit emerg)) {
        $seen->{$level} = 1 if grep { defined && "$_" =~ /\Q[$level\E/ } @pats;
    }
}

sub fmt_str {
    my ($s) = @_;
    chomp $s;
    $s =~ s/"/\\"/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\n/\\n/g;
    return $s;
}

# --- helpers ------------------------------------------------------------------------

# Replace every $TEST_NGINX_FOO by the environment variable; an unset one is
# fatal, as in the real harness.
sub expand_env {
    my ($text, $name) = @_;
    return $text unless defined $text && !ref $text;
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        defined $ENV{$1} ? $ENV{$1}
                         : bail_out("$name - No environment $1 defined.\n")
    }ge;
    return $text;
}

# "--- timeout": seconds, with an optional "s" or "ms" suffix.
sub parse_time {
    my ($t) = @_;
    return undef unless defined $t;
    $t =~ s/^\s+|\s+$//g;
    return $1 / 1000 if $t =~ /^([\d.]+)ms$/;
    $t =~ s/s$//;
    return $t;
}

1;

__END__

=head1 NAME

Test::Nginx::Socket - fallback subset of the CPAN Test::Nginx::Socket

=head1 SYNOPSIS

    use Test::Nginx::Socket 'no_plan';
    use lib 't/inc';
    use RegistryCache::Defaults;

    run_tests();

    __DATA__

    === TEST 1: hello
    --- config
        location = /t { return 200 "hello\n"; }
    --- request
    GET /t
    --- response_body
    hello

=head1 DESCRIPTION

Loaded only when the real module is missing (the Makefile adds C<-It/lib>
then).  Semantics, test names and test counts follow the real harness for
everything implemented here.

Functions: run_tests repeat_each no_shuffle no_long_string log_level
master_on master_off workers worker_connections no_root_location
add_block_preprocessor env_to_nginx timeout server_port server_root html_dir
bail_out, plus everything Test::Base exports (plan, blocks, is, like, ...).

Sections: main_config http_config config post_main_config log_level request
more_headers error_code error_code_like response_headers
response_headers_like response_body response_body_like response_body_unlike
error_log no_error_log must_die ignore_response timeout abort wait
skip_nginx, and Test::Base's ONLY SKIP LAST.

Environment: TEST_NGINX_BINARY TEST_NGINX_SERVER_PORT TEST_NGINX_PORT
TEST_NGINX_SERVROOT TEST_NGINX_LOAD_MODULES TEST_NGINX_LOG_LEVEL
TEST_NGINX_MASTER_PROCESS TEST_NGINX_NO_SHUFFLE TEST_NGINX_TIMEOUT
TEST_NGINX_NO_CLEAN; every $TEST_NGINX_* in config sections and in
response_body is replaced by the environment variable.

=cut
