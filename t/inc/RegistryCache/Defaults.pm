package RegistryCache::Defaults;

# Project-wide defaults for t/*.t, working under both the CPAN
# Test::Nginx::Socket and our fallback in t/lib.  Usage:
#
#     use Test::Nginx::Socket 'no_plan';
#     use lib 't/inc';
#     use RegistryCache::Defaults;
#
# This lives in t/inc, not t/lib: `use lib 't/lib'` in a test file would put
# the fallback harness in front of an installed CPAN one.  t/inc holds no
# Test::Nginx modules, so adding it to @INC can never shadow the real harness.
#
# What it does, on load (it exports nothing):
#
# 1. Every block must leave no [alert], [crit] or [emerg] line in the error
#    log.  The real harness only warns about those; a block preprocessor adds
#    them to the block's no_error_log (creating the section if needed) so
#    they fail the test.  A level the block mentions itself in error_log or
#    no_error_log is left alone (the block expects it, or already checks
#    it), and must_die blocks are skipped entirely: a failed start logs
#    [emerg] by design.  Each added level is one more test per request
#    round, so files with a fixed plan must count them.
#
# 2. $TEST_NGINX_HTML_DIR and $TEST_NGINX_SERVROOT may be used in config
#    sections: the real harness substitutes any $TEST_NGINX_* from the
#    environment but does not define these two itself.

use strict;
use warnings;

# Loads whichever Test::Nginx::Socket @INC provides, without importing
# (the test file's own `use` chooses the plan).
use Test::Nginx::Socket ();

my @LEVELS = qw(alert crit emerg);

$ENV{TEST_NGINX_HTML_DIR} ||= Test::Nginx::Socket::html_dir();
$ENV{TEST_NGINX_SERVROOT} ||= Test::Nginx::Socket::server_root();

Test::Nginx::Socket::add_block_preprocessor(\&forbid_severe_log_lines);

sub forbid_severe_log_lines {
    my ($block) = @_;
    return if defined $block->must_die;
    # scalar: section accessors return an empty list for absent sections.
    my $expected = scalar $block->error_log;
    my $forbidden = scalar $block->no_error_log;
    my @extra = map { "[$_]" }
                grep { !mentions($expected, $_) && !mentions($forbidden, $_) }
                @LEVELS;
    return unless @extra;
    $block->set_value(no_error_log => with_patterns($forbidden, @extra));
}

# Whether an error_log/no_error_log value (string, qr// or array of those)
# mentions "[level"; the same test the real harness uses to decide whether
# a block expects such lines.
sub mentions {
    my ($value, $level) = @_;
    return 0 unless defined $value;
    my @items = ref $value eq 'ARRAY' ? @$value : ($value);
    return scalar grep { defined && index("$_", "[$level") >= 0 } @items;
}

# The value with literal patterns appended, keeping its shape: a string
# stays one pattern per line, a qr// or array becomes an array.
sub with_patterns {
    my ($value, @pats) = @_;
    # An empty section would otherwise become an empty pattern, which
    # matches every line.
    return join('', map { "$_\n" } @pats)
        if !defined $value || (!ref $value && $value !~ /\S/);
    return [ @$value, @pats ] if ref $value eq 'ARRAY';
    return [ $value, @pats ] if ref $value;
    (my $text = $value) =~ s/\n*\z/\n/;
    return $text . join('', map { "$_\n" } @pats);
}

1;
